/**
 * `store-edge faces enroll|remove|identify`. Faces are analysed in process (a one-shot
 * command needs no worker).
 */
import { readFile } from 'node:fs/promises';
import { mkdirSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import { isModelError } from '../../models/errors.ts';
import { EdgeError } from '../errors.ts';
import { closeLedger, openLedger, type Db } from '../ledger/db.ts';
import { setFaceConsent } from '../ledger/villagers.ts';
import { resolveEntryConfig, type EntryConfig } from '../entry/config.ts';
import { enrolVillager, identifyPhoto, type EnrolPhoto } from '../entry/enrol.ts';
import { countTemplates, loadOrCreateTemplateKey } from '../entry/templates.ts';
import { deleteTemplatesAndConsent, faceConsentOf } from '../ledger/face-templates.ts';
import { configFrom, ledgerPath, print, withCommon, type CommonOptions } from './context.ts';
import { registerFacesEvaluate } from './faces-evaluate.ts';

interface FacesEnv { db: Db; entry: EntryConfig; dataDir: string; key: Buffer }

function openEnv(opts: CommonOptions): FacesEnv {
  const config = configFrom(opts);
  const entry = resolveEntryConfig((config as { entry?: unknown }).entry);
  const db = openLedger(ledgerPath(config));
  const key = loadOrCreateTemplateKey(path.resolve(config.data_dir, entry.key_file));
  return { db, entry, dataDir: config.data_dir, key };
}

async function startEngine(entry: EntryConfig): Promise<FaceEngine> {
  // photos are larger than camera frames: a bigger detector input finds their faces reliably
  const engine = new FaceEngine({ detector: 'ssd', detectorInputSize: Math.max(entry.detector_input_size, 416), detectorMinScore: entry.detector_min_score, liveness: true });
  try {
    await engine.start();
  } catch (err) {
    if (isModelError(err)) throw new EdgeError('MODEL_INVALID', err.message, { cause: err, zh: '模型文件缺失或被改动，请重新安装 (npm ci)' });
    throw err;
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

export function registerFacesCommands(program: Command): void {
  const faces = program.command('faces').description('face templates: enrolment, removal, identification / 人脸模板');
  registerFacesEvaluate(faces);

  withCommon(faces.command('enroll'), { json: true })
    .description('enrol a villager from photos (consent required) / 录入人脸（须有同意）')
    .requiredOption('--villager <id>', 'villager id / 村民编号')
    .requiredOption('--photo <file>', 'photo with exactly one face (repeatable) / 照片，可多张', collect, [] as string[])
    .option('--consent', 'the villager (or guardian) consents to face recognition now / 本人或监护人同意')
    .option('--guardian <name>', 'guardian who consents for a child under 14 / 未满14岁由监护人同意')
    .action(async (o: CommonOptions & { villager: string; photo: string[]; consent?: boolean; guardian?: string }) => {
      const env = openEnv(o);
      try {
        const photos: EnrolPhoto[] = [];
        for (const f of o.photo) photos.push(await readPhoto(f));
        const engine = await startEngine(env.entry);
        try {
          const hadConsent = (faceConsentOf(env.db, o.villager)?.faceConsentAt ?? null) !== null;
          if (o.consent) setFaceConsent(env.db, o.villager, o.guardian ?? 'self');
          const at = new Date().toISOString();
          let r;
          try {
            r = await enrolVillager(env.db, env.key, engine, env.entry, o.villager, photos, at);
          } catch (err) {
            // consent given for an enrolment that did not happen is not left on record
            if (o.consent && !hadConsent) setFaceConsent(env.db, o.villager, null);
            throw err;
          }
          if (env.entry.store_photos) {
            const dir = path.resolve(env.dataDir, env.entry.photo_dir, o.villager);
            mkdirSync(dir, { recursive: true, mode: 0o700 });
            for (const f of o.photo) copyFileSync(f, path.join(dir, `${at.replace(/[:.]/g, '-')}-${path.basename(f)}`));
          }
          print(o, { villager: o.villager, templates: r.templates, total: countTemplates(env.db, o.villager) },
            `enrolled ${o.villager}: ${r.templates} templates / 已录入`);
        } finally {
          engine.stop();
        }
      } finally {
        closeLedger(env.db);
      }
    });

  withCommon(faces.command('remove'), { json: true })
    .description('delete a villager\'s face templates and withdraw consent / 删除人脸模板并撤回同意')
    .requiredOption('--villager <id>', 'villager id / 村民编号')
    .action((o: CommonOptions & { villager: string }) => {
      const env = openEnv(o);
      try {
        const removed = deleteTemplatesAndConsent(env.db, o.villager);
        print(o, { villager: o.villager, removed }, `removed ${removed} templates of ${o.villager}; consent withdrawn / 已删除`);
      } finally {
        closeLedger(env.db);
      }
    });

  withCommon(faces.command('identify'), { json: true })
    .description('who is in this photo? (the door\'s thresholds, one frame) / 识别照片')
    .requiredOption('--photo <file>', 'photo / 照片')
    .option('--liveness', 'let the liveness check decide (a photo of a photo is a spoof) / 启用活体判断')
    .action(async (o: CommonOptions & { photo: string; liveness?: boolean }) => {
      const env = openEnv(o);
      try {
        const photo = await readPhoto(o.photo);
        const engine = await startEngine(env.entry);
        try {
          const r = await identifyPhoto(env.db, env.key, engine, env.entry, photo.frame, { liveness: o.liveness === true });
          print(o, r, `${r.decision}${r.villager ? ` ${r.villager}` : ''} (faces ${r.faces}, distance ${r.distance?.toFixed(3) ?? '-'}, margin ${r.margin?.toFixed(3) ?? '-'})`);
        } finally {
          engine.stop();
        }
      } finally {
        closeLedger(env.db);
      }
    });
}
