/**
 * `store-edge faces evaluate-liveness --real DIR --attack DIR`: APCER/BPCER of the door's
 * passive liveness check on presentations (each sub-folder: consecutive frames of one person
 * or one attack), at the configured thresholds and as a curve over live_ratio.
 */
import type { Command } from 'commander';
import { FaceEngine } from '../../models/face-engine.ts';
import { isModelError } from '../../models/errors.ts';
import { engineChoice, resolveEntryConfig } from '../entry/config.ts';
import { listPeople, presentationsIn } from '../entry/evaluate.ts';
import { textureModelOf } from '../entry/liveness-passive.ts';
import { livenessNetModels, modelStartError } from '../entry/model-errors.ts';
import { judgePresentation, summariseLiveness, type LivenessEvaluation, type PresentationResult } from '../entry/liveness-evaluate.ts';
import { configFrom, withCommon, type CommonOptions } from './context.ts';
import { conversionProgress } from '../progress.ts';

interface LivenessCliOptions extends CommonOptions { real: string; attack: string; textureModel?: string }

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

export function formatLiveness(e: LivenessEvaluation): string {
  const a = e.atConfig;
  const c = e.config;
  return [
    `faces evaluate-liveness  real 真人 ${e.real.dir} (${e.real.presentations})  attack 攻击 ${e.attack.dir} (${e.attack.presentations})`,
    `passive check 被动活体 (live_ratio ${c.live_ratio}, flat_ratio ${c.flat_ratio}, min_motion ${c.min_motion}, frames ${c.min_frames}–${c.max_frames}):`,
    `  APCER ${pct(a.apcer)}  (attacks judged live 攻击判为真人 ${a.attacksLive}; flat ${a.attacksFlat}, uncertain ${a.attacksUncertain})`,
    `  BPCER ${pct(a.bpcer)}  (real not judged live 真人未判为真人 ${e.real.presentations - a.realLive}: flat 判为攻击 ${a.realFlat}, uncertain 刷卡或扫码 ${a.realUncertain}); spoof only ${pct(a.bpcerFlat)}`,
    `least BPCER at APCER ≤ 2 % (geometry): ${e.bestAtApcer2 ? `live_ratio ${e.bestAtApcer2.liveRatio} → APCER ${pct(e.bestAtApcer2.apcer)}, BPCER ${pct(e.bestAtApcer2.bpcer)}` : 'none'}`,
    ...(e.textureCurve ? [`texture model 纹理模型 ${c.texture_model}: least BPCER at APCER ≤ 2 %: ${e.textureBestAtApcer2 ? `threshold ${e.textureBestAtApcer2.threshold} → APCER ${pct(e.textureBestAtApcer2.apcer)}, BPCER ${pct(e.textureBestAtApcer2.bpcer)}` : 'none'}`] : []),
    ...(e.netCurve ? [`liveness net 活体网络 ${c.onnx_model?.path} (min_live ${c.onnx_model?.min_live}): least BPCER at APCER ≤ 2 %: ${e.netBestAtApcer2 ? `min_live ${e.netBestAtApcer2.threshold} → APCER ${pct(e.netBestAtApcer2.apcer)}, BPCER ${pct(e.netBestAtApcer2.bpcer)}` : 'none'}`] : []),
    'live_ratio  APCER    BPCER',
    ...e.curve.filter((_, i) => i % 2 === 0).map((p) => `${p.liveRatio.toFixed(3).padStart(10)}  ${pct(p.apcer).padStart(7)}  ${pct(p.bpcer).padStart(7)}`),
  ].join('\n');
}

export function registerFacesLiveness(faces: Command): void {
  withCommon(faces.command('evaluate-liveness'), { json: true })
    .description('APCER/BPCER of the passive liveness check on presentations, DIR/<presentation>/<frames> / 评估活体检测')
    .requiredOption('--real <dir>', 'bona fide presentations, one sub-folder of consecutive frames each / 真人，每个子文件夹一次')
    .requiredOption('--attack <dir>', 'attack presentations (photo, screen) / 攻击（照片、屏幕）')
    .option('--texture-model <file>', 'evaluate with this texture model (overrides entry.liveness.passive.texture_model) / 使用此纹理活体模型')
    .action(async (o: LivenessCliOptions) => {
      const config = configFrom(o);
      const entry = resolveEntryConfig((config as { entry?: unknown }).entry);
      if (o.textureModel) entry.liveness.passive.texture_model = o.textureModel;
      // a bad model file is refused before the models load too
      const texture = textureModelOf(entry.liveness.passive);
      // bad input is refused before the models load (seconds)
      const real = await listPeople(o.real, presentationsIn('--real'));
      const attack = await listPeople(o.attack, presentationsIn('--attack'));
      // the first run converts the nets to ONNX: a bar or lines, never with --json
      const conversion = conversionProgress({ enabled: !o.json });
      const runtime = engineChoice(entry, config.data_dir, 'configured');
      const engine = new FaceEngine({ detector: 'tiny', detectorInputSize: entry.detector_input_size, detectorMinScore: entry.detector_min_score, liveness: false, ...runtime, onConversion: conversion.onStep });
      try {
        await engine.start();
      } catch (err) {
        if (isModelError(err)) throw modelStartError(err, livenessNetModels(runtime.livenessNet));
        throw err;
      } finally {
        conversion.stop();
      }
      try {
        const judge = async (list: typeof real): Promise<PresentationResult[]> => {
          const out: PresentationResult[] = [];
          for (const p of list) out.push(await judgePresentation(engine, entry, p, undefined, texture));
          return out;
        };
        const e = summariseLiveness(await judge(real), await judge(attack), entry, { real: o.real, attack: o.attack });
        process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : `${formatLiveness(e)}\n`);
      } finally {
        engine.stop();
      }
    });
}
