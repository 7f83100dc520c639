/**
 * `store-edge faces evaluate --dir DIR`: TAR/FAR of the door's face rule on a folder of
 * labelled photos (one sub-folder per person). Runs in process, like the other faces commands.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { conversionProgress, progressBar } from '../progress.ts';
import { recognizerLabel, type RecognizerChoice } from '../../models/recognizer.ts';
import { FaceEngine } from '../../models/face-engine.ts';
import { isModelError } from '../../models/errors.ts';
import { EdgeError } from '../errors.ts';
import { doorDetector, engineChoice, recognizerChoice, resolveEntryConfig, type MatchConfig } from '../entry/config.ts';
import { evaluateDir, listPeople, type Evaluation } from '../entry/evaluate.ts';
import type { Adaptation } from '../entry/evaluate-adapt.ts';
import { AnalysisCache, analysisScope, checkCacheFile, enrolInputSize } from '../entry/evaluate-cache.ts';
import { modelStartError, recognizerModels } from '../entry/model-errors.ts';
import { drawHistogram, marginGrid, pointAt, safePoint, type OperatingPoint, type Probe } from '../entry/evaluate-metrics.ts';
import { configFrom, parseIntOption, withCommon, type CommonOptions } from './context.ts';

interface EvaluateCliOptions extends CommonOptions { dir: string; enrol: string; seed: string; targetFar: string; enrolDetector: string; recognizer?: string[]; adapt?: boolean; attackDays: string; cache?: string }

const KINDS = ['faceapi', 'faceapi-flip', 'human-faceres', 'human-mobilefacenet', 'human-mobileface', 'fusion', 'onnx-arcface', 'config'] as const;

/**
 * `--recognizer KIND[=MODEL.json]`: a recognizer to evaluate (`faceapi-flip`: face-api with
 * entry.recognizer.flip, the descriptor of the face and its mirror averaged). A Human model from a folder is
 * pinned by the sha256 of its weights as read now (the tool measures the files it is given).
 * `fusion=W`: face-api and Human's faceres fused with weight W on face-api (docs/face-recognizers.md).
 * `onnx-arcface=MODEL.onnx`: an ArcFace-family file in the insightface convention (another
 * convention: set it in the config's entry.recognizer). `config`: the config's recognizer, so that
 * it can stand beside another (`--recognizer faceapi config`).
 */
async function parseRecognizer(spec: string, configured: RecognizerChoice): Promise<RecognizerChoice> {
  const [kind, file] = spec.split(/=(.*)/s) as [string, string | undefined];
  const bad = (why: string): EdgeError => new EdgeError('INVALID_ARGUMENT', `--recognizer ${spec}: ${why}`, { zh: `--recognizer ${spec}：须为 ${KINDS.join(' | ')}，Human 的其他模型写作 种类=模型.json，ONNX 模型写作 onnx-arcface=模型.onnx，融合写作 fusion=权重（0 到 1 之间），config 为配置文件中的识别模型` });
  if (!(KINDS as readonly string[]).includes(kind)) throw bad(`must be one of ${KINDS.join(', ')} (KIND=MODEL.json for a model from a folder, onnx-arcface=MODEL.onnx, fusion=W for face-api and faceres fused, config for the config's recognizer)`);
  if (kind === 'faceapi') return { kind: 'faceapi' };
  if (kind === 'faceapi-flip') return { kind: 'faceapi', flip: true };
  if (kind === 'config') return configured;
  if (kind === 'onnx-arcface') {
    if (!file) throw bad('needs the model file, e.g. onnx-arcface=/models/fr_feature.onnx');
    try {
      return { kind: 'onnx-arcface', path: path.resolve(file), sha256: createHash('sha256').update(await readFile(file)).digest('hex') };
    } catch (err) {
      throw bad(`cannot read the model file (${(err as Error).message})`);
    }
  }
  if (kind === 'fusion') {
    const weight = Number(file);
    if (!file || !(weight > 0 && weight < 1)) throw bad('needs the weight of face-api, strictly between 0 and 1, e.g. fusion=0.98');
    return { kind: 'fusion', members: [{ kind: 'faceapi' }, { kind: 'human-faceres' }], weight };
  }
  if (!file) {
    if (kind === 'human-faceres') return { kind: 'human-faceres' };
    throw bad('needs the model json, e.g. human-mobileface=/models/mobileface.json');
  }
  let sha256: string;
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as { weightsManifest?: { paths?: string[] }[] };
    const bin = json.weightsManifest?.[0]?.paths?.[0];
    if (!bin) throw new Error('no weightsManifest');
    sha256 = createHash('sha256').update(await readFile(path.join(path.dirname(file), bin))).digest('hex');
  } catch (err) {
    throw bad(`not a readable tfjs graph model with its weights (${(err as Error).message})`);
  }
  return { kind: kind as 'human-faceres' | 'human-mobilefacenet' | 'human-mobileface', path: path.resolve(file), sha256 };
}

/**
 * One line per recognizer: the figures to compare them by. The config's threshold and margin
 * suit one recognizer only (another's distances spread otherwise), so each also gets its own
 * point on this run by docs/face-thresholds.md's rule (`safePoint`: zero false accepts even at
 * threshold + 0.02 and margin − 0.02; margins 0.02–0.30) and its TAR there.
 */
export function formatComparison(list: readonly Evaluation[], match: MatchConfig): string {
  const rows = list.map((e) => {
    const probes = e.probes as Probe[];
    const own = safePoint([{ probes, door: true }], match, marginGrid(0.02, 0.3));
    const ownCol = own
      ? `${own.threshold.toFixed(3)} / ${own.margin.toFixed(2)} → ${pct(pointAt(probes, own.threshold, own.margin).tar)}, ${own.doorAccepted}/${own.doorGenuine}`
      : '-';
    return [
      e.recognizer, pct(e.atConfig.tar), String(e.atConfig.falseAccepts), `${e.zeroFa.threshold.toFixed(3)} → ${pct(e.zeroFa.tar)}`,
      `${pct(e.presentations.tar)} (${e.presentations.accepted}/${e.presentations.genuine})`, String(e.presentations.falseAccepts),
      ownCol, e.distances.nearestImpostor?.toFixed(3) ?? '-', e.distances.genuineP95?.toFixed(3) ?? '-',
    ];
  });
  const head = ['recognizer 识别模型', 'TAR at config', 'false accepts', 'zero-FA threshold → TAR', 'per presentation', 'FA', 'own safe threshold / margin → TAR, presentations 各自的安全阈值', 'nearest impostor', 'genuine p95'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ')).join('\n');
}

function parseFar(v: string): number {
  const digits = v.trim().replace(/%$/, '').trim();
  // Number('') is 0: an empty rate is a mistake, never a zero false accept target
  const n = digits === '' ? Number.NaN : Number(digits) / (v.trim().endsWith('%') ? 100 : 1);
  if (!Number.isFinite(n) || n < 0 || n >= 1) {
    throw new EdgeError('INVALID_ARGUMENT', `--target-far must be a rate in [0, 1) such as 0.001 or 0.1%, got ${JSON.stringify(v)}`, { zh: '--target-far 须为 0 到 1 之间的比率，如 0.001 或 0.1%' });
  }
  return n;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
const point = (p: OperatingPoint): string =>
  `TAR ${pct(p.tar)}  FAR ${pct(p.far)} (${p.strangersAccepted} strangers accepted 陌生人通过)  misidentified 认错人 ${pct(p.misidentifiedRate)} (${p.misidentified})  threshold ${p.threshold.toFixed(3)}  margin ${p.margin.toFixed(2)}`;

export function formatEvaluation(e: Evaluation): string {
  const g = e.genuine;
  const i = e.impostor;
  const pr = e.presentations;
  return [
    `faces evaluate ${e.dir}  (recognizer ${e.recognizer}, seed ${e.seed}, enrol ${e.enrol} per person)`,
    `people 人: ${e.people.total} — enrolled 已录入 ${e.people.enrolled.length}, strangers 陌生人 ${e.people.strangers.length}${e.people.notEnrolled.length ? `, not enrollable 无法录入 ${e.people.notEnrolled.join(', ')}` : ''}`,
    `enrolment 录入: ${e.enrolment.photos} photos → ${e.enrolment.templates} templates; refused 拒绝: no face ${e.enrolment.refused.no_face}, several faces ${e.enrolment.refused.multiple_faces}, low quality ${e.enrolment.refused.low_quality}`,
    `genuine probes 本人: ${g.total} (no face 无人脸 ${g.no_face}, low quality 质量差 ${g.low_quality})`,
    `impostor probes 陌生人: ${i.total} (no face 无人脸 ${i.no_face}, low quality 质量差 ${i.low_quality})`,
    '',
    `at config 当前配置 (threshold ${e.config.threshold}, margin ${e.config.margin}): ${point(e.atConfig)}`,
    `per presentation 每次到门 (${pr.k} of ${pr.n} frames): TAR ${pct(pr.tar)} (${pr.accepted}/${pr.genuine}), false accepts 误识 ${pr.falseAccepts}/${pr.impostor}`,
    `at margin ${e.config.margin}:`,
    `  zero false accepts 零误识: ${point(e.zeroFa)}`,
    `  FAR ≤ 0.1 %:         ${point(e.far001)}`,
    `  FAR ≤ 1 %:           ${point(e.far01)}`,
    `target FAR ${pct(e.target.far)} 目标误识率: ${point(e.target.point)}`,
    `nearest impostor 最近陌生人 ${e.distances.nearestImpostor?.toFixed(3) ?? '-'}; 95 % of genuine within 95%本人距离 ${e.distances.genuineP95?.toFixed(3) ?? '-'}`,
    '',
    drawHistogram(e.histogram),
    ...(e.adaptation ? ['', formatAdaptation(e.adaptation)] : []),
  ].join('\n');
}

/** `--adapt`: the time-ordered replay without and with learning at the door, and the attack. */
export function formatAdaptation(a: Adaptation): string {
  const line = (label: string, r: Adaptation['baseline']) =>
    `  ${label.padEnd(34)} per frame ${pct(r.frames.tar)} (${r.frames.accepted}/${r.frames.genuine}), FA ${r.frames.falseAccepts}/${r.frames.impostor}; per presentation ${pct(r.presentations.tar)} (${r.presentations.accepted}/${r.presentations.genuine}), FA ${r.presentations.falseAccepts}/${r.presentations.impostor}`
    + (label.startsWith('no') ? '' : `; learned ${r.learning.learned} (+${r.learning.replaced} replaced), from the wrong person ${r.learning.wrong}`)
    + (r.card ? `; uncertain + card ${r.card.uncertainWithCard}: pending kept ${r.card.kept} (from strangers ${r.card.keptFromStranger}), confirmed ${r.card.confirmed}, rejected ${r.card.rejected}` : '');
  const atk = (label: string, t: Adaptation['attack']) =>
    `  ${label.padEnd(34)} ${t.rounds} days: strangers let in ${t.falseAccepts} of ${t.presentations} presentations, learned from the wrong person ${t.wrongLearned}; nearest stranger ${t.nearestStranger.enrolled?.toFixed(3) ?? '-'} → ${t.nearestStranger.after?.toFixed(3) ?? '-'}`;
  const c = a.config;
  return [
    `learning at the door 门口学习 (time order, ${a.rounds} days; max_distance ${c.max_distance}, min_margin ${c.min_margin}, min_novelty ${c.min_novelty}, ${c.max_per_villager} per villager, ${c.max_per_day} a day):`,
    line('no learning 不学习', a.baseline),
    line('confident matches 可靠匹配 (entry.adapt)', a.adapted),
    line('+ card, careful maintainer 刷卡+认真确认', a.cardConfirmed),
    line('+ card, confirms all 刷卡+全部确认', a.cardCareless),
    atk('attack 攻击 (confident matches)', a.attack),
    atk('attack 攻击 (+ card, careful)', a.cardConfirmedAttack),
    atk('attack 攻击 (+ card, confirms all)', a.cardCarelessAttack),
  ].join('\n');
}

/** Writes the cache; a failure is a warning on stderr (the evaluation is printed, or its own error stands). */
async function saveCache(cache: AnalysisCache | undefined): Promise<void> {
  try {
    await cache?.save();
  } catch (err) {
    const zh = (err as { zh?: string }).zh;
    process.stderr.write(`警告：缓存未能保存，下次运行将重新分析照片${zh ? `（${zh}）` : ''} / warning: the cache was not saved, the next run analyses the photos again: ${(err as Error).message}\n`);
  }
}

export function registerFacesEvaluate(faces: Command): void {
  withCommon(faces.command('evaluate'), { json: true })
    .description('TAR/FAR of the door on labelled photos, DIR/<person>/<photo> / 用标注照片评估识别率')
    .requiredOption('--dir <dir>', 'one sub-folder of photos per person / 每人一个子文件夹')
    .option('--enrol <n>', 'photos enrolled per person / 每人录入照片数', '3')
    .option('--seed <s>', 'seed of the stranger split / 陌生人划分的随机种子', '1')
    .option('--target-far <rate>', 'false accept rate to reach, e.g. 0.001 / 目标误识率', '0.001')
    // ssd is what `faces enroll` uses; tiny is ~10× cheaper for a quick look at a large folder
    .option('--enrol-detector <kind>', 'detector for enrolment photos: ssd | tiny / 录入用的检测器', 'ssd')
    .option('--recognizer <kind...>', `recognizers side by side (default: the config's): ${KINDS.join(' | ')}, KIND=MODEL.json for a Human model from a folder, onnx-arcface=MODEL.onnx, fusion=W for face-api and faceres fused (W on face-api), config for the config's entry.recognizer (e.g. faceapi config) / 并列比较的识别模型`)
    .option('--adapt', "also replay the photos in time order with learning at the door (entry.adapt's rules, whether enabled or not), and an attack on it / 按时间顺序重放并评估门口学习")
    .option('--attack-days <n>', 'with --adapt: days the strangers keep coming back / 陌生人反复尝试的天数', '10')
    .option('--cache <file>', 'keep what the models said about each photo in this file and reuse it (another --seed, another run); it holds face descriptors: keep it private / 缓存每张照片的分析结果（含人脸特征，须妥善保管）')
    .action(async (o: EvaluateCliOptions) => {
      const enrol = parseIntOption('--enrol', o.enrol);
      if (enrol < 1 || enrol > 50) throw new EdgeError('INVALID_ARGUMENT', `--enrol must be 1–50, got ${enrol}`, { zh: '--enrol 须在 1 到 50 之间' });
      const seed = parseIntOption('--seed', o.seed);
      if (o.enrolDetector !== 'ssd' && o.enrolDetector !== 'tiny') throw new EdgeError('INVALID_ARGUMENT', `--enrol-detector must be ssd or tiny, got ${JSON.stringify(o.enrolDetector)}`, { zh: '--enrol-detector 须为 ssd 或 tiny' });
      const targetFar = parseFar(o.targetFar);
      const attackDays = parseIntOption('--attack-days', o.attackDays);
      if (attackDays < 0 || attackDays > 365) throw new EdgeError('INVALID_ARGUMENT', `--attack-days must be 0–365, got ${attackDays}`, { zh: '--attack-days 须在 0 到 365 之间' });
      const config = configFrom(o);
      const entry = resolveEntryConfig((config as { entry?: unknown }).entry);
      const runtime = engineChoice(entry, config.data_dir, 'never');
      // bad input is refused before the models load (seconds)
      const people = await listPeople(o.dir);
      if (o.cache) await checkCacheFile(path.resolve(o.cache));
      const configured = recognizerChoice(entry.recognizer, config.data_dir);
      // each with the files the operator named for it: a flag's, or the config's (`config`, no flag)
      const choices = o.recognizer?.length
        ? await Promise.all(o.recognizer.map(async (spec) => ({ recognizer: await parseRecognizer(spec, configured), flag: spec === 'config' ? undefined : `--recognizer ${spec}` })))
        : [{ recognizer: configured, flag: undefined }];
      const results: Evaluation[] = [];
      for (const { recognizer, flag } of choices) {
        // enrolment as `faces enroll` does it (the accurate detector), identification as the door does it
        // the first run converts the nets to ONNX (each engine its own detector): a bar or lines, never with --json
        const enrolConversion = conversionProgress({ enabled: !o.json });
        const doorConversion = conversionProgress({ enabled: !o.json });
        const enrolEngine = new FaceEngine({ detector: o.enrolDetector, padRetry: true, detectorInputSize: enrolInputSize(entry), detectorMinScore: entry.detector_min_score, liveness: false, recognizer, ...runtime, onConversion: enrolConversion.onStep });
        const doorEngine = new FaceEngine({ detector: doorDetector(entry), detectorInputSize: entry.detector_input_size, detectorMinScore: entry.detector_min_score, liveness: false, recognizer, ...runtime, onConversion: doorConversion.onStep });
        try {
          await enrolEngine.start();
          enrolConversion.stop();
          await doorEngine.start();
        } catch (err) {
          enrolEngine.stop();
          doorEngine.stop();
          if (isModelError(err)) throw modelStartError(err, recognizerModels(recognizer, flag));
          throw err;
        } finally {
          enrolConversion.stop();
          doorConversion.stop();
        }
        const cache = o.cache ? new AnalysisCache(path.resolve(o.cache), analysisScope(recognizer, entry, o.enrolDetector)) : undefined;
        await cache?.load();
        try {
          const bar = progressBar(`faces evaluate ${recognizerLabel(recognizer)} / 人脸评估`, { enabled: !o.json });
          let e: Evaluation;
          try {
            e = await evaluateDir({ enrol: enrolEngine, door: doorEngine }, entry, o.dir, people, { enrol, seed, targetFar, recognizer: recognizerLabel(recognizer), ...(cache ? { cache } : {}), ...(o.adapt ? { adapt: { config: entry.adapt, attackRounds: attackDays } } : {}) }, (done, total) => bar.update(done, total));
          } catch (err) {
            // what the models said so far is kept for the next run
            await saveCache(cache);
            throw err;
          } finally {
            bar.stop();
          }
          results.push(e);
          // the figures first: a cache that cannot be written costs the next run time, never this run's result
          process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : `${formatEvaluation(e)}\n`);
          await saveCache(cache);
        } finally {
          enrolEngine.stop();
          doorEngine.stop();
        }
      }
      if (!o.json && results.length > 1) process.stdout.write(`\nside by side 并列比较 (config: threshold ${entry.match.threshold}, margin ${entry.match.margin}; each recognizer's own point on this run beside it):\n${formatComparison(results, entry.match)}\n`);
    });
}
