/**
 * `store-edge faces enroll --dir DIR --consent`: bulk enrolment from a folder with one folder
 * per villager id (`DIR/V001/front.jpg`, …), e.g. photos taken at a village meeting where
 * everyone signed the consent form. Each photo is checked as the admin page checks an upload
 * (at most 12 MB, JPEG/PNG/WebP by its first bytes, at most 50 million pixels) and enrolled on
 * its own with the checks of `faces enroll` (one face, good quality, not too close to another
 * villager's face), so one bad photo refuses only itself, with its reason. A villager none of
 * whose photos were enrolled keeps no consent on record (unless they had given it before). A
 * child's folder may hold `guardian.txt` with the name of the guardian who consented.
 * A photo the villager already holds (the folder enrolled again after adding photos) is skipped,
 * named as already enrolled: not stored again, not refused.
 * A progress bar on a terminal; a summary (JSON with --json). Exit 0 when every photo was
 * enrolled or already enrolled, 2 when some were refused (named, with their reasons; the rest
 * are enrolled), 1 when the run failed (a broken ledger, missing models): what was enrolled
 * before stays enrolled.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FaceEngine } from '../../models/face-engine.ts';
import { EdgeError, ErrorCode, isEdgeError } from '../errors.ts';
import { auditCli } from './cli-audit.ts';
import { faceConsentOf, guardianConsent } from '../ledger/face-templates.ts';
import { enrolVillager } from '../entry/enrol.ts';
import { keepEnrolmentPhoto } from '../entry/face-photos.ts';
import { MAX_PHOTO_BYTES, readPhoto } from '../http/photo-upload.ts';
import type { FacesEnv } from './faces-door.ts';
import type { Progress } from '../progress.ts';

const GUARDIAN_FILE = 'guardian.txt';

/** A child's guardian.txt: its first line names the guardian who consented; recorded as the admin page records it. */
function guardianOf(file: string): string {
  const first = readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '';
  if (first.trim() === '') {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${file}: the first line names no guardian (write the name of the guardian who consented, or remove the file if the villager consents for themselves)`, { zh: `${file}：第一行没有监护人姓名（请写上同意的监护人姓名；本人同意则删除此文件）` });
  }
  return guardianConsent(first, file);
}

export interface FolderPlan { villager: string; guardian: string | null; photos: string[] }

/** A photo that was not enrolled: which, and why (English and Chinese). */
export interface Refusal { villager: string; photo: string; code: string; reason: string; zh: string }

export interface BulkSummary {
  dir: string;
  villagers: number;
  /** Villagers with at least one photo enrolled, by this run or before. */
  enrolled_villagers: number;
  photos: number;
  /** Photos enrolled by this run. */
  accepted: number;
  templates: number;
  /** Photos skipped: the villager already holds them (enrolled before); not stored again, not refused. */
  already_enrolled: string[];
  refused: Refusal[];
  per_villager: Array<{ villager: string; accepted: number; already_enrolled: number; refused: number; templates: number }>;
}

/** Errors that refuse one photo (its content, or its villager); anything else stops the run. */
const PHOTO_REFUSALS: ReadonlySet<string> = new Set([ErrorCode.FACE_REJECTED, ErrorCode.FACE_COLLISION, ErrorCode.INVALID_ARGUMENT, ErrorCode.NOT_FOUND, ErrorCode.UNKNOWN_VILLAGER, ErrorCode.NO_CONSENT]);

/** The villagers' folders of `dir`, sorted; files beside them are refused (they name no villager). */
export function planFolder(dir: string): { plans: FolderPlan[]; loose: string[] } {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--dir ${dir}: ${code === 'ENOTDIR' ? 'not a folder' : 'cannot be read'} (${code ?? 'error'})`, { zh: `--dir ${dir}：${code === 'ENOTDIR' ? '不是文件夹' : '无法读取'}` });
  }
  const visible = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name));
  const plans: FolderPlan[] = [];
  for (const e of visible.filter((x) => x.isDirectory())) {
    const folder = path.join(dir, e.name);
    const files = readdirSync(folder, { withFileTypes: true }).filter((f) => f.isFile() && !f.name.startsWith('.')).map((f) => f.name).sort();
    const guardian = files.includes(GUARDIAN_FILE) ? guardianOf(path.join(folder, GUARDIAN_FILE)) : null;
    plans.push({ villager: e.name, guardian, photos: files.filter((f) => f !== GUARDIAN_FILE).map((f) => path.join(folder, f)) });
  }
  const loose = visible.filter((x) => x.isFile()).map((x) => path.join(dir, x.name));
  if (plans.every((p) => p.photos.length === 0)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--dir ${dir} holds no villager folder with photos (one folder per villager id, e.g. ${path.join(dir, 'V001', 'front.jpg')})`, { zh: `--dir ${dir} 中没有含照片的村民文件夹（每位村民一个文件夹，以村民编号命名）` });
  }
  return { plans, loose };
}

/** Enrol every photo of the plan; refusals are collected, failures thrown. */
export async function enrolFolder(env: FacesEnv, engine: FaceEngine, dir: string, opts: { progress?: Progress; now?: () => Date } = {}): Promise<BulkSummary> {
  const { plans, loose } = planFolder(dir);
  const progress = opts.progress ?? { update: () => undefined, stop: () => undefined };
  const now = opts.now ?? (() => new Date());
  const total = plans.reduce((n, p) => n + p.photos.length, 0);
  const summary: BulkSummary = { dir, villagers: plans.length, enrolled_villagers: 0, photos: total + loose.length, accepted: 0, templates: 0, already_enrolled: [], refused: [], per_villager: [] };
  for (const f of loose) summary.refused.push({ villager: '', photo: f, code: ErrorCode.INVALID_ARGUMENT, reason: 'not in a villager\'s folder: put it in DIR/<villager id>/', zh: '照片不在村民文件夹中，请放到以村民编号命名的文件夹里' });
  let done = 0;
  progress.update(0, total);
  try {
    for (const plan of plans) {
      const mine = { villager: plan.villager, accepted: 0, already_enrolled: 0, refused: 0, templates: 0 };
      summary.per_villager.push(mine);
      const refuse = (photo: string, code: string, reason: string, zh: string): void => {
        summary.refused.push({ villager: plan.villager, photo, code, reason, zh });
        mine.refused++;
      };
      const known = faceConsentOf(env.db, plan.villager);
      if (!known) {
        for (const p of plan.photos) refuse(p, ErrorCode.UNKNOWN_VILLAGER, `no villager ${plan.villager} in this store's ledger`, `本店账本中没有村民 ${plan.villager}`);
        progress.update((done += plan.photos.length), total);
        continue;
      }
      if (plan.photos.length === 0) continue;
      // a consent on record (a guardian's, say) stays as it was given; one not on record is
      // recorded with the first templates stored, so a villager none of whose photos is enrolled has none
      const given = known.faceConsentAt === null ? plan.guardian ?? 'self' : undefined;
      for (const file of plan.photos) {
        try {
          const bytes = statSync(file).size;
          if (bytes > MAX_PHOTO_BYTES) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `larger than ${MAX_PHOTO_BYTES / 1024 / 1024} MB (${(bytes / 1024 / 1024).toFixed(1)} MB)`, { zh: `照片超过 ${MAX_PHOTO_BYTES / 1024 / 1024} MB` });
          const { frame } = await readPhoto(readFileSync(file));
          const at = now().toISOString();
          const r = await enrolVillager(env.db, env.key, engine, env.entry, plan.villager, [{ name: path.basename(file), frame }], at, given);
          if (r.alreadyEnrolled.length > 0) {
            summary.already_enrolled.push(file);
            mine.already_enrolled++;
          } else {
            mine.accepted++;
            mine.templates += r.templates;
            if (env.entry.store_photos) keepEnrolmentPhoto(env.dataDir, env.entry, plan.villager, file, at);
          }
        } catch (err) {
          if (!isEdgeError(err) || !PHOTO_REFUSALS.has(err.code)) throw err;
          // enrolVillager names the photo itself; the summary names it once, in its own field
          const strip = (s: string): string => s.replace(`${path.basename(file)}: `, '').replace(`${path.basename(file)}：`, '');
          refuse(file, err.code, strip(err.message), strip(err.zh ?? err.message));
        }
        progress.update(++done, total);
      }
      // audited as the admin page's enrolment is (face.enrol), once per villager whose photos were stored
      if (mine.accepted > 0) auditCli(env.db, 'faces enroll --dir', { action: 'face.enrol', target: plan.villager, before: null, after: { templates: mine.templates, photos: mine.accepted, consent_by: given ?? 'on record', source: 'folder', already_enrolled: mine.already_enrolled, refused: mine.refused } });
      summary.accepted += mine.accepted;
      summary.templates += mine.templates;
      if (mine.accepted > 0 || mine.already_enrolled > 0) summary.enrolled_villagers++;
    }
  } finally {
    progress.stop();
  }
  return summary;
}

/** The summary for a maintainer: totals, then each photo already enrolled, then each refused photo with its reason. */
export function summaryText(s: BulkSummary): string {
  const already = s.already_enrolled.length;
  const head = `已录入 ${s.enrolled_villagers}/${s.villagers} 位村民，照片 ${s.accepted}/${s.photos} 张（模板 ${s.templates} 个），${already > 0 ? `此前已录入 ${already} 张（未重复保存），` : ''}未录入 ${s.refused.length} 张 / enrolled ${s.enrolled_villagers} of ${s.villagers} villagers, ${s.accepted} of ${s.photos} photos (${s.templates} templates), ${already > 0 ? `${already} already enrolled (not stored again), ` : ''}${s.refused.length} refused`;
  const skipped = s.already_enrolled.map((p) => `  = ${p}: 此前已录入，未重复保存 / already enrolled, not stored again`);
  const lines = s.refused.map((r) => `  ✗ ${r.photo}: ${r.zh} / ${r.reason}`);
  return [head, ...skipped, ...lines].join('\n');
}

