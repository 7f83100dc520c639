/**
 * `faces enroll` run again, as a maintainer does after adding a photo to a villager's folder (a
 * real `store-edge` process): the photos already enrolled are skipped and named, not stored again
 * and not an error; the new photo is stored; exit 0, the result in both languages and in --json.
 * The same for `faces enroll --villager --photo …` with photos old and new in one enrolment.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine } from '../../models/face-engine.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { firstStartKey } from './store-key.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { tempDir } from '../ledger/helpers.ts';
import { portraits, views } from '../../harness/portraits.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('faces-again-');
const data = path.join(t.dir, 'data');
const photos = path.join(t.dir, 'photos');
afterAll(() => t.cleanup());

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', data], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const templates = (id: string): number => {
  const db = openLedger(path.join(data, 'ledger.sqlite'));
  try {
    return (db.prepare('SELECT count(*) AS n FROM face_templates WHERE villager_id = ?').get(id) as { n: number }).n;
  } finally {
    closeLedger(db);
  }
};

/** Three photos of one face: the portrait, and the same brighter and darker (other pictures, one person). */
let shots: { front: Buffer; brighter: Buffer; darker: Buffer };

beforeAll(async () => {
  const engine = new FaceEngine({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false });
  await engine.start();
  const face = (await portraits(engine, [3])).find((p) => p.id === 's3f0');
  engine.stop();
  if (!face) throw new Error('sample portrait s3f0 not found');
  const v = await views(face.jpeg);
  shots = { front: face.jpeg, brighter: v.brighter, darker: v.darker };
  mkdirSync(path.join(photos, 'E'), { recursive: true });
  writeFileSync(path.join(photos, 'E', 'front.jpg'), shots.front);
  mkdirSync(data);
  const db = openLedger(path.join(data, 'ledger.sqlite'));
  firstStartKey(data);
  addVillager(db, { id: 'E', name: 'E', village: 'v' });
  closeLedger(db);
}, 120_000);

describe('faces enroll run again', () => {
  it('a folder enrolled again with one photo added: the new photo is stored, the old one skipped as already enrolled, exit 0', async () => {
    const first = await run('faces', 'enroll', '--dir', photos, '--consent');
    expect(first.code, first.stderr).toBe(0);
    expect(templates('E')).toBe(2);

    writeFileSync(path.join(photos, 'E', 'side.jpg'), shots.brighter);
    const again = await run('faces', 'enroll', '--dir', photos, '--consent', '--json');
    expect(again.code, again.stderr).toBe(0);
    const s = JSON.parse(again.stdout) as { enrolled_villagers: number; photos: number; accepted: number; templates: number; already_enrolled: string[]; refused: unknown[]; per_villager: unknown[] };
    expect(s).toMatchObject({ enrolled_villagers: 1, photos: 2, accepted: 1, templates: 2, already_enrolled: [path.join(photos, 'E', 'front.jpg')], refused: [] });
    expect(s.per_villager).toEqual([{ villager: 'E', accepted: 1, already_enrolled: 1, refused: 0, templates: 2 }]);
    expect(templates('E')).toBe(4);

    // nothing new: 0 stored, said in both languages, still exit 0
    const same = await run('faces', 'enroll', '--dir', photos, '--consent');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain('照片 0/2 张（模板 0 个），此前已录入 2 张（未重复保存），未录入 0 张');
    expect(same.stdout).toContain('0 of 2 photos (0 templates), 2 already enrolled (not stored again), 0 refused');
    expect(same.stdout).toContain(`= ${path.join(photos, 'E', 'side.jpg')}: 此前已录入，未重复保存 / already enrolled, not stored again`);
    expect(templates('E')).toBe(4);
  }, 240_000); // three processes of the command line, each loading the models

  it('--photo with photos old and new in one enrolment: the new one is stored, the old ones named, exit 0', async () => {
    const darker = path.join(t.dir, 'darker.jpg');
    writeFileSync(darker, shots.darker);
    const before = templates('E');
    const r = await run('faces', 'enroll', '--villager', 'E', '--photo', path.join(photos, 'E', 'front.jpg'), '--photo', darker, '--photo', path.join(photos, 'E', 'side.jpg'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('enrolled E: 2 templates / 已录入');
    expect(r.stdout).toContain('= front.jpg: 此前已录入，未重复保存 / already enrolled, not stored again');
    expect(r.stdout).toContain('= side.jpg: 此前已录入，未重复保存 / already enrolled, not stored again');
    expect(templates('E')).toBe(before + 2);

    const json = await run('faces', 'enroll', '--villager', 'E', '--photo', darker, '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ villager: 'E', templates: 0, total: before + 2, already_enrolled: ['darker.jpg'] });
    // the enrolment that stored templates is audited as the admin page's is; the one that stored none is not
    const db = openLedger(path.join(data, 'ledger.sqlite'));
    try {
      const photoRuns = listAudit(db, { limit: 50 }).filter((a) => a.action === 'face.enrol' && (a.after as { source?: string }).source === 'photo');
      expect(photoRuns).toHaveLength(1);
      expect(photoRuns[0]).toMatchObject({ actor: 'cli', target: 'E', after: { templates: 2, total: before + 2, already_enrolled: 2 } });
    } finally {
      closeLedger(db);
    }
  }, 240_000);
});
