/**
 * Bulk enrolment from a folder of villagers' folders, as a maintainer runs it (a real
 * `store-edge` process): consent required, usage checked before the models load, each photo
 * enrolled or refused on its own with its reason (no face, not an image, a face too close to
 * another villager's, an unknown villager, a photo outside any villager's folder), a guardian
 * named by guardian.txt, no consent left on record for a villager none of whose photos were
 * enrolled, a summary, and exit 0 only when every photo was enrolled (2 otherwise).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine } from '../../models/face-engine.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { firstStartKey } from './store-key.ts';
import { addVillager, getVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { tempDir } from '../ledger/helpers.ts';
import { portraits } from '../../harness/portraits.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('faces-bulk-');
const data = path.join(t.dir, 'data');
const photos = path.join(t.dir, 'photos');
afterAll(() => t.cleanup());

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runIn(data, ...args);
}
function runIn(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', dataDir], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const put = (rel: string, content: Buffer | string): void => {
  mkdirSync(path.dirname(path.join(photos, rel)), { recursive: true });
  writeFileSync(path.join(photos, rel), content);
};
const templates = (id: string): number => {
  const db = openLedger(path.join(data, 'ledger.sqlite'));
  try {
    return (db.prepare('SELECT count(*) AS n FROM face_templates WHERE villager_id = ?').get(id) as { n: number }).n;
  } finally {
    closeLedger(db);
  }
};

beforeAll(async () => {
  const engine = new FaceEngine({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false });
  await engine.start();
  const all = await portraits(engine, [1, 3]);
  engine.stop();
  const face = all.find((p) => p.id === 's3f0');
  const other = all.find((p) => p.id === 's1f1');
  if (!face || !other) throw new Error(`sample portraits not found: ${all.map((p) => p.id).join(',')}`);
  put('A/face.jpg', face.jpeg);
  put('A/grey.jpg', await sharp({ create: { width: 640, height: 480, channels: 3, background: '#7f7f7f' } }).jpeg().toBuffer());
  put('B/other.jpg', other.jpeg);
  put('B/guardian.txt', '乙的母亲\n');
  put('C/same-as-a.jpg', face.jpeg);
  put('D/not-an-image.jpg', 'hello, this is text');
  put('NOBODY/x.jpg', other.jpeg);
  put('loose.jpg', other.jpeg);
  mkdirSync(data);
  const db = openLedger(path.join(data, 'ledger.sqlite'));
  firstStartKey(data);
  for (const id of ['A', 'B', 'C', 'D', 'E']) addVillager(db, { id, name: id, village: 'v' });
  closeLedger(db);
}, 120_000);

describe('faces enroll --dir', () => {
  it('refuses wrong usage before loading the models: no --consent, --dir with --villager, a folder that is not there or holds no villager folder', async () => {
    const noConsent = await run('faces', 'enroll', '--dir', photos);
    expect(noConsent.code).toBe(2);
    expect(noConsent.stderr).toContain('--consent');
    expect(noConsent.stderr).toContain('同意');
    const mixed = await run('faces', 'enroll', '--dir', photos, '--villager', 'A', '--consent');
    expect(mixed.code).toBe(2);
    const missing = await run('faces', 'enroll', '--dir', path.join(t.dir, 'nowhere'), '--consent');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nowhere');
    mkdirSync(path.join(t.dir, 'empty', 'E'), { recursive: true });
    const empty = await run('faces', 'enroll', '--dir', path.join(t.dir, 'empty'), '--consent');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('没有含照片的村民文件夹');
    expect(templates('A')).toBe(0);
  }, 120_000); // four processes of the command line, each compiling TypeScript: tens of seconds on a loaded 2-core machine

  it('refuses a guardian\'s consent given wrongly, before loading the models: --guardian without --consent, an empty or blank --guardian, a blank guardian.txt', async () => {
    const photo = path.join(photos, 'A', 'face.jpg');
    for (const [args, english, zh] of [
      [['--guardian', '甲的父亲'], '--guardian goes with --consent', '--guardian 须与 --consent 一起使用'],
      [['--consent', '--guardian', ''], '--guardian must name the guardian', '监护人姓名不能为空'],
      [['--consent', '--guardian', '   '], '--guardian must name the guardian', '监护人姓名不能为空'],
    ] as Array<[string[], string, string]>) {
      const r = await run('faces', 'enroll', '--villager', 'A', '--photo', photo, ...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(english);
      expect(r.stderr).toContain(zh);
    }
    const blank = path.join(t.dir, 'blank-guardian');
    mkdirSync(path.join(blank, 'A'), { recursive: true });
    writeFileSync(path.join(blank, 'A', 'face.jpg'), readFileSync(photo));
    writeFileSync(path.join(blank, 'A', 'guardian.txt'), '  \n甲的父亲\n');
    const r = await run('faces', 'enroll', '--dir', blank, '--consent');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(path.join(blank, 'A', 'guardian.txt'));
    expect(r.stderr).toContain('first line names no guardian');
    expect(r.stderr).toContain('第一行没有监护人姓名');
    expect(templates('A')).toBe(0);
    const db = openLedger(path.join(data, 'ledger.sqlite'));
    try {
      expect(getVillager(db, 'A')!.faceConsentAt).toBeNull();
    } finally {
      closeLedger(db);
    }
  }, 120_000);

  it('enrols the good photos, refuses each bad one with its reason, and exits 2; a folder of good photos exits 0', async () => {
    const r = await run('faces', 'enroll', '--dir', photos, '--consent', '--json');
    expect(r.code, r.stderr).toBe(2);
    const s = JSON.parse(r.stdout) as { villagers: number; enrolled_villagers: number; photos: number; accepted: number; refused: Array<{ villager: string; photo: string; code: string; reason: string; zh: string }> };
    expect(s).toMatchObject({ villagers: 5, enrolled_villagers: 2, photos: 7, accepted: 2 });
    const why = Object.fromEntries(s.refused.map((x) => [path.relative(photos, x.photo), x.code]));
    expect(why).toEqual({
      'A/grey.jpg': 'FACE_REJECTED',
      'C/same-as-a.jpg': 'FACE_COLLISION',
      'D/not-an-image.jpg': 'INVALID_ARGUMENT',
      'NOBODY/x.jpg': 'UNKNOWN_VILLAGER',
      'loose.jpg': 'INVALID_ARGUMENT',
    });
    expect(s.refused.find((x) => x.photo.endsWith('grey.jpg'))!.reason).toBe('no face found');
    expect(s.refused.find((x) => x.photo.endsWith('same-as-a.jpg'))!.zh).toContain('村民 A');
    expect(r.stderr).toContain('5 of 7 photos were not enrolled');

    expect(templates('A')).toBeGreaterThan(0);
    expect(templates('B')).toBeGreaterThan(0);
    expect(templates('C')).toBe(0);
    const db = openLedger(path.join(data, 'ledger.sqlite'));
    try {
      // recorded as the admin page records a guardian (edge/http/villager-routes.ts), shown as one
      expect(db.prepare('SELECT face_consent_by FROM villagers WHERE id = ?').get('B')).toEqual({ face_consent_by: 'guardian:乙的母亲' });
      expect(getVillager(db, 'A')!.faceConsentAt).not.toBeNull();
      // nothing of theirs was enrolled: no consent left on record
      expect(getVillager(db, 'C')!.faceConsentAt).toBeNull();
      expect(getVillager(db, 'D')!.faceConsentAt).toBeNull();
      // audited as the admin page's enrolment is, once per villager enrolled, none for C or D
      const audit = listAudit(db, { limit: 50 }).filter((a) => a.action === 'face.enrol');
      expect(audit.map((a) => a.target).sort()).toEqual(['A', 'B']);
      expect(audit.find((a) => a.target === 'B')).toMatchObject({ actor: 'cli', after: { photos: 1, consent_by: 'guardian:乙的母亲', source: 'folder' } });
    } finally {
      closeLedger(db);
    }

    // a folder whose every photo is good: exit 0, with the summary
    const fresh = path.join(t.dir, 'fresh');
    mkdirSync(fresh);
    const db2 = openLedger(path.join(fresh, 'ledger.sqlite'));
    firstStartKey(fresh);
    addVillager(db2, { id: 'E', name: 'E', village: 'v' });
    // a child whose guardian consented earlier: the bulk run does not overwrite that consent
    setFaceConsent(db2, 'E', 'guardian:E的母亲');
    const consentedAt = getVillager(db2, 'E')!.faceConsentAt;
    closeLedger(db2);
    const good = path.join(t.dir, 'good');
    mkdirSync(path.join(good, 'E'), { recursive: true });
    writeFileSync(path.join(good, 'E', 'e.jpg'), readFileSync(path.join(photos, 'B', 'other.jpg')));
    const ok = await runIn(fresh, 'faces', 'enroll', '--dir', good, '--consent');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('已录入 1/1 位村民，照片 1/1 张');
    expect(ok.stdout).toContain('未录入 0 张');
    const db3 = openLedger(path.join(fresh, 'ledger.sqlite'));
    try {
      expect(getVillager(db3, 'E')).toMatchObject({ faceConsentBy: 'guardian:E的母亲', faceConsentAt: consentedAt });
    } finally {
      closeLedger(db3);
    }
  }, 180_000);
});
