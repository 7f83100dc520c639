/**
 * The face commands at the door as a maintainer runs them (a real `store-edge` process):
 * enrolment at the camera (the `files` source replaying views of one sample face), the
 * collision refusal, batch identify, and `faces present` deciding as the door would.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine } from '../../models/face-engine.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { firstStartKey } from './store-key.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { tempDir } from '../ledger/helpers.ts';
import { portraits, views } from '../../harness/portraits.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('faces-door-');
const cameraDir = path.join(t.dir, 'camera');
const file = (name: string): string => path.join(t.dir, name);
afterAll(() => t.cleanup());

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runWith(file('config.json'), ...args);
}

function runWith(config: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', path.join(t.dir, 'data'), '--config', config], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  // s3f0 (sample 3, first face) passes the quality gate in every view; s1f1 is another person
  const engine = new FaceEngine({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false });
  await engine.start();
  const all = await portraits(engine, [1, 3]);
  engine.stop();
  const face = all.find((p) => p.id === 's3f0');
  const other = all.find((p) => p.id === 's1f1');
  if (!face || !other) throw new Error(`sample portraits not found: ${all.map((p) => p.id).join(',')}`);
  mkdirSync(cameraDir);
  const v = await views(face.jpeg);
  for (const [name, jpeg] of Object.entries(v)) writeFileSync(path.join(cameraDir, `${name}.jpg`), jpeg);
  writeFileSync(file('face.jpg'), face.jpeg);
  writeFileSync(file('other.jpg'), other.jpeg);
  writeFileSync(file('grey.jpg'), await sharp({ create: { width: 640, height: 480, channels: 3, background: '#7f7f7f' } }).jpeg().toBuffer());
  writeFileSync(file('not-an-image.jpg'), 'hello, this is text');
  writeFileSync(file('config.json'), JSON.stringify({ entry: { camera: { kind: 'files', path: cameraDir, loop: true } } }));
  mkdirSync(path.join(t.dir, 'data'));
  const db = openLedger(path.join(t.dir, 'data', 'ledger.sqlite'));
  firstStartKey(path.join(t.dir, 'data'));
  addVillager(db, { id: 'A', name: '甲', village: 'v' });
  addVillager(db, { id: 'B', name: '乙', village: 'v' });
  closeLedger(db);
}, 120_000);

describe('faces at the door, through the CLI', () => {
  it('enrols a villager at the camera from several quality-gated frames', async () => {
    const r = await run('faces', 'enroll', '--villager', 'A', '--camera', '--frames', '3', '--consent', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ villager: 'A', templates: 3, total: 3, already_enrolled: [] });
  }, 120_000);

  it('refuses to enrol the same face for another villager, naming the villager it collides with (exit 2)', async () => {
    const r = await run('faces', 'enroll', '--villager', 'B', '--photo', file('face.jpg'), '--consent');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FACE_COLLISION');
    expect(r.stderr).toContain('villager A');
    expect(r.stderr).toContain('村民 A');
  }, 120_000);

  it('identifies several photos, one JSON line each', async () => {
    const r = await run('faces', 'identify', '--photo', path.join(cameraDir, 'darker.jpg'), '--photo', file('other.jpg'), '--photo', file('grey.jpg'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { photo: string; decision: string; villager: string | null });
    expect(lines.map((l) => [path.basename(l.photo), l.decision === 'matched' ? `matched:${l.villager}` : l.decision === 'no_face' ? 'no_face' : 'not matched'])).toEqual([
      ['darker.jpg', 'matched:A'], ['other.jpg', 'not matched'], ['grey.jpg', 'no_face'],
    ]);
  }, 120_000);

  it('presents frames as one person at the door and prints the one decision the door makes', async () => {
    const known = await run('faces', 'present', '--frames', path.join(cameraDir, 'brighter.jpg'), path.join(cameraDir, 'jpeg40.jpg'), path.join(cameraDir, 'darker.jpg'), '--json');
    expect(known.code, known.stderr).toBe(0);
    // k = 2 of n = 3: the door decides at the second agreeing frame
    expect(JSON.parse(known.stdout)).toMatchObject({ decision: 'matched', villager: 'A', frames: 2 });
    const stranger = await run('faces', 'present', '--frames', file('other.jpg'), file('other.jpg'), file('other.jpg'), '--json');
    expect(stranger.code, stranger.stderr).toBe(0);
    const s = JSON.parse(stranger.stdout) as { decision: string; villager: string | null; frames: number };
    expect(['unknown', 'uncertain']).toContain(s.decision);
    expect(s).toMatchObject({ villager: null, frames: 3 });
    const empty = await run('faces', 'present', '--frames', file('grey.jpg'), file('grey.jpg'), '--json');
    expect(JSON.parse(empty.stdout)).toEqual({ decision: 'no_face', villager: null, frames: 2, distance: null, seen: ['no_face', 'no_face'] });
  }, 180_000);

  it('bad input: a missing file or one that is not an image exits 2, in Chinese and English', async () => {
    const missing = await run('faces', 'present', '--frames', file('face.jpg'), file('nowhere.jpg'), '--json');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nowhere.jpg');
    expect(missing.stderr).toContain('无法读取');
    expect(missing.stderr).toContain('cannot read');
    const text = await run('faces', 'identify', '--photo', file('not-an-image.jpg'));
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('不是可解码的图片');
    expect(text.stderr).toContain('not an image');
    const both = await run('faces', 'enroll', '--villager', 'B', '--camera', '--photo', file('face.jpg'));
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('二选一');
  }, 120_000);
});

describe('faces enroll --camera without a camera', () => {
  it('names the device that cannot be opened (exit 1, as doctor fails a missing camera), not the villager\'s pose or light', async () => {
    const missing = file('video9');
    const notACamera = file('not-an-image.jpg');
    for (const [device, words] of [[missing, 'no such device'], [notACamera, 'no frame']] as const) {
      const config = file(`camera-${path.basename(device)}.json`);
      writeFileSync(config, JSON.stringify({ entry: { camera: { kind: 'v4l2', device } } }));
      const r = await runWith(config, 'faces', 'enroll', '--villager', 'B', '--camera', '--timeout', '2', '--consent');
      const error = r.stderr.split('\n').find((l) => l.startsWith('错误 error')) ?? '';
      expect({ device, code: r.code }, r.stderr).toEqual({ device, code: 1 });
      expect(error).toContain('CAMERA_UNAVAILABLE');
      expect(error).toContain(device);
      expect(error).toContain('entry.camera.device');
      expect(error).toContain('摄像头');
      expect(error).toContain(words);
      expect(error).not.toContain('Stand alone in front of the camera');
    }
  }, 120_000);
});
