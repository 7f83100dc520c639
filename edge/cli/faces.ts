/**
 * `store-edge faces enroll|remove` (identify and present: faces-door.ts; evaluate:
 * faces-evaluate.ts; enrolment from a folder of villagers' folders: faces-bulk.ts). Faces are
 * analysed in process (a one-shot command needs no worker).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { isModelError } from '../../models/errors.ts';
import { EdgeError } from '../errors.ts';
import { auditCli } from './cli-audit.ts';
import { closeLedger, openLedger, type Db } from '../ledger/db.ts';
import { scrubBeforeExit } from '../ledger/face-scrub.ts';
import { holdForCommand } from '../ledger-holds.ts';
import { setFaceConsent } from '../ledger/villagers.ts';
import { doorDetector, engineChoice, recognizerChoice, resolveEntryConfig, type EntryConfig } from '../entry/config.ts';
import { enrolVillager, type Enrolled, type EnrolPhoto } from '../entry/enrol.ts';
import { livenessNetModels, modelStartError, recognizerModels } from '../entry/model-errors.ts';
import { countTemplates } from '../entry/templates.ts';
import { commandTemplateKey } from '../keys.ts';
import { faceConsentOf, guardianConsent } from '../ledger/face-templates.ts';
import { keepEnrolmentPhoto, withdrawFaceData } from '../entry/face-photos.ts';
import { configFrom, existingLedger, print, withCommon, type CommonOptions } from './context.ts';
import { registerFacesEvaluate } from './faces-evaluate.ts';
import { registerFacesLiveness } from './faces-liveness.ts';
import { registerFacesLearning } from './faces-learning.ts';
import { enrolAtCamera, registerFaceDoorCommands, type FacesEnv } from './faces-door.ts';
import { enrolFolder, planFolder, summaryText } from './faces-bulk.ts';
import { conversionProgress, progressBar } from '../progress.ts';

function openEnv(opts: CommonOptions): FacesEnv {
  const config = configFrom(opts);
  const entry = resolveEntryConfig((config as { entry?: unknown }).entry);
  const file = existingLedger(config);
  // the daemon's key, never a new one (only `start` makes it), found before the ledger is opened
  const key = commandTemplateKey({ ...config, entry });
  process.once('exit', holdForCommand(config.data_dir)); // held until the command ends: no restore meanwhile (edge/ledger-holds.ts)
  return { db: openLedger(file), entry, dataDir: config.data_dir, key };
}

// photos are larger than camera frames: a bigger detector input finds their faces reliably,
// and SSD MobileNet misses far fewer faces than the tiny detector (enrolment may be slow); a
// photo's face may fill most of the picture, so a photo without a face is looked at again padded.
// `door`: as the door analyses its frames (its detector and input size, no second look).
// The first run converts the nets to ONNX: a bar at a terminal, lines on a pipe, nothing with --json.
async function startEngine(entry: EntryConfig, dataDir: string, at: 'photo' | 'door' = 'photo', json = false): Promise<FaceEngine> {
  const door = at === 'door';
  const conversion = conversionProgress({ enabled: !json });
  const recognizer = recognizerChoice(entry.recognizer, dataDir);
  const runtime = engineChoice(entry, dataDir, door ? 'when-used' : 'never');
  const engine = new FaceEngine({
    detector: door ? doorDetector(entry) : 'ssd', padRetry: !door, detectorInputSize: door ? entry.detector_input_size : Math.max(entry.detector_input_size, 416),
    detectorMinScore: entry.detector_min_score, liveness: true, recognizer, ...runtime, onConversion: conversion.onStep,
  });
  try {
    await engine.start();
  } catch (err) {
    if (isModelError(err)) throw modelStartError(err, [...recognizerModels(recognizer), ...livenessNetModels(runtime.livenessNet)]);
    throw err;
  } finally {
    conversion.stop();
  }
  return engine;
}

async function readPhoto(file: string): Promise<EnrolPhoto> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new EdgeError('NOT_FOUND', `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { zh: `${file}：无法读取` });
  }
  try {
    return { name: path.basename(file), frame: await decodeImage(buf) };
  } catch (err) {
    throw new EdgeError('FACE_REJECTED', `${file}: ${(err as Error).message}`, { zh: `${file}：无法解码图片`, details: { photo: file } });
  }
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** What `faces enroll` did: templates stored, and the photos skipped as already enrolled (not an error). */
function enrolledText(villager: string, r: Enrolled): string {
  const head = r.templates === 0 && r.alreadyEnrolled.length > 0
    ? `${villager}: already enrolled, nothing new stored (0 templates) / 已录入过，没有新增`
    : `enrolled ${villager}: ${r.templates} templates / 已录入`;
  return [head, ...r.alreadyEnrolled.map((p) => `  = ${p}: 此前已录入，未重复保存 / already enrolled, not stored again`)].join('\n');
}

export function registerFacesCommands(program: Command): void {
  const faces = program.command('faces').description('face templates: enrolment, removal, identification / 人脸模板');
  registerFacesEvaluate(faces);
  registerFacesLiveness(faces);
  registerFacesLearning(faces);

  withCommon(faces.command('enroll'), { json: true })
    .description('enrol a villager from photos or at the door camera, or many from a folder (consent required) / 录入人脸（须有同意）')
    .option('--villager <id>', 'villager id / 村民编号')
    .option('--photo <file>', 'photo with exactly one face (repeatable) / 照片，可多张', collect, [] as string[])
    .option('--dir <folder>', 'bulk: one folder per villager id, each with their photos (and guardian.txt for a child) / 批量：每位村民一个文件夹')
    .option('--camera', 'take frames from the configured door camera (entry.camera) instead of photos / 用门口摄像头录入')
    .option('--frames <n>', 'with --camera: frames to enrol, chosen for a spread of poses / 录入帧数', '5')
    .option('--timeout <s>', 'with --camera: give up after this many seconds / 超时秒数', '30')
    .option('--consent', 'the villager (or guardian) consents to face recognition now / 本人或监护人同意')
    .option('--guardian <name>', 'guardian who consents for a child under 14 / 未满14岁由监护人同意')
    .action(async (o: CommonOptions & { villager?: string; photo: string[]; dir?: string; camera?: boolean; frames: string; timeout: string; consent?: boolean; guardian?: string }) => {
      if (o.dir !== undefined) return enrolDir(o, o.dir);
      if (o.villager === undefined) throw new EdgeError('INVALID_ARGUMENT', 'give --villager ID (with --photo or --camera), or --dir FOLDER', { zh: '请给出 --villager 村民编号（配合 --photo 或 --camera），或 --dir 文件夹' });
      if ((o.camera === true) === (o.photo.length > 0)) throw new EdgeError('INVALID_ARGUMENT', 'give either --photo (one or more) or --camera', { zh: '请给出 --photo（可多张）或 --camera，二选一' });
      if (o.guardian !== undefined && !o.consent) throw new EdgeError('INVALID_ARGUMENT', '--guardian goes with --consent (the guardian consents now for a child under 14)', { zh: '--guardian 须与 --consent 一起使用（监护人现在代未满14岁的儿童同意）' });
      const consentBy = o.guardian === undefined ? 'self' : guardianConsent(o.guardian, '--guardian');
      const villager = o.villager;
      const env = openEnv(o);
      try {
        const photos: EnrolPhoto[] = [];
        for (const f of o.photo) photos.push(await readPhoto(f));
        const engine = await startEngine(env.entry, env.dataDir, 'photo', o.json === true);
        try {
          const hadConsent = (faceConsentOf(env.db, villager)?.faceConsentAt ?? null) !== null;
          // --consent renews a consent on record (a guardian's, now); one not on record is
          // recorded with the templates, so a failed enrolment leaves none to take back
          if (o.consent && hadConsent) setFaceConsent(env.db, villager, consentBy);
          const given = o.consent && !hadConsent ? consentBy : undefined;
          const at = new Date().toISOString();
          const r: Enrolled = o.camera ? { ...(await enrolAtCamera(env, engine, villager, o, at, given)), alreadyEnrolled: [] } : await enrolVillager(env.db, env.key, engine, env.entry, villager, photos, at, given);
          const skipped = new Set(r.alreadyEnrolled);
          if (env.entry.store_photos) for (const f of o.photo) if (!skipped.has(path.basename(f))) keepEnrolmentPhoto(env.dataDir, env.entry, villager, f, at);
          const total = countTemplates(env.db, villager);
          // audited as the admin page's enrolment is (face.enrol); a run that stored nothing changed nothing
          if (r.templates > 0) auditCli(env.db, 'faces enroll', { action: 'face.enrol', target: villager, before: null, after: { templates: r.templates, total, consent_by: o.consent ? consentBy : 'on record', source: o.camera ? 'door camera' : 'photo', already_enrolled: r.alreadyEnrolled.length } });
          print(o, { villager, templates: r.templates, total, already_enrolled: r.alreadyEnrolled }, enrolledText(villager, r));
        } finally {
          engine.stop();
        }
      } finally {
        closeLedger(env.db);
      }
    });

  withCommon(faces.command('remove'), { json: true })
    .description('delete a villager\'s face templates and kept enrolment photos and withdraw consent / 删除人脸模板和保存的录入照片并撤回同意')
    .requiredOption('--villager <id>', 'villager id / 村民编号')
    .option('--yes', 'the villager (or guardian) asked to withdraw: delete now / 已与本人确认要求撤回，立即删除')
    .action((o: CommonOptions & { villager: string; yes?: boolean }) => {
      // what only the villager standing there can give again: confirmed first, as the admin page's
      // box is ticked, never by one mistyped line
      if (!o.yes) {
        throw new EdgeError('INVALID_ARGUMENT', `confirm with --yes that ${o.villager} (or their guardian) asks to withdraw: their face templates and kept photos are deleted, and only they can enrol again`, { zh: `请加 --yes 确认 ${o.villager}（或其监护人）要求撤回：人脸模板和保存的照片将被删除，只有本人到场才能重新录入` });
      }
      // deleting decrypts nothing: no key is needed, so a withdrawal never waits for one
      const config = configFrom(o);
      const entry = resolveEntryConfig((config as { entry?: unknown }).entry);
      const db = openLedger(existingLedger(config));
      try {
        const had = faceConsentOf(db, o.villager);
        if (had === undefined) throw new EdgeError('UNKNOWN_VILLAGER', `unknown villager ${JSON.stringify(o.villager)}: nothing deleted`, { zh: `未知村民 ${o.villager}：未删除任何数据` });
        const before = { consent_at: had.faceConsentAt, templates: countTemplates(db, o.villager) };
        const { templates: removed, photos } = withdrawFaceData(db, config.data_dir, entry, o.villager);
        auditCli(db, 'faces remove', { action: 'face.withdraw', target: o.villager, before, after: { consent_at: null, templates: 0, photos } });
        print(o, { villager: o.villager, removed, photos }, `removed ${removed} templates and ${photos} enrolment photos of ${o.villager}; consent withdrawn / 已删除`);
        scrubOrTell(db);
      } finally {
        closeLedger(db);
      }
    });

  registerFaceDoorCommands(faces, { openEnv, startEngine });

  /** `faces enroll --dir`: checked before the models load, then every villager's folder (faces-bulk.ts). */
  async function enrolDir(o: CommonOptions & { villager?: string; photo: string[]; camera?: boolean; consent?: boolean; guardian?: string }, dir: string): Promise<void> {
    if (o.villager !== undefined || o.photo.length > 0 || o.camera || o.guardian !== undefined) {
      throw new EdgeError('INVALID_ARGUMENT', '--dir takes no --villager, --photo, --camera or --guardian: the folders name the villagers (a child\'s folder holds guardian.txt)', { zh: '--dir 不能与 --villager、--photo、--camera、--guardian 同用：文件夹名即村民编号（儿童的文件夹中放 guardian.txt 写监护人姓名）' });
    }
    if (!o.consent) {
      throw new EdgeError('INVALID_ARGUMENT', 'bulk enrolment needs --consent: confirm that every villager in the folder (or a child\'s guardian) has given separate, explicit consent to face recognition', { zh: '批量录入须加 --consent：确认文件夹中每位村民（儿童由监护人）都已单独明确同意人脸识别' });
    }
    planFolder(path.resolve(dir)); // a wrong folder is told before the models load
    const env = openEnv(o);
    try {
      const engine = await startEngine(env.entry, env.dataDir, 'photo', o.json === true);
      try {
        const summary = await enrolFolder(env, engine, path.resolve(dir), { progress: progressBar('录入 enrolling', { enabled: !o.json }) });
        print(o, summary, summaryText(summary));
        if (summary.refused.length > 0) {
          throw new EdgeError('FACE_REJECTED', `${summary.refused.length} of ${summary.photos} photos were not enrolled (listed above with their reasons); the others are`, { zh: `${summary.refused.length} 张照片未录入（原因见上），其余已录入` });
        }
      } finally {
        engine.stop();
      }
      scrubOrTell(env.db); // a villager's folder may have replaced or purged templates
    } finally {
      closeLedger(env.db);
    }
  }
}

/** Timers do not outlive the command: the WAL is emptied here, a bounded number of tries (../ledger/face-scrub.ts), or the note says who will. */
function scrubOrTell(db: Db): void {
  if (scrubBeforeExit(db)) return;
  process.stderr.write(`${db.name}-wal could not be emptied yet: another process (the running daemon) holds an older snapshot; the deleted face data's old pages stay there until the daemon's daily retention job, its shutdown or the next deletion of face data empties it / ${db.name}-wal 暂未清空：另一进程（运行中的守护进程）持有旧快照；已删除人脸数据的旧页将在守护进程的每日保留任务、其关闭或下一次删除人脸数据时清空\n`);
}
