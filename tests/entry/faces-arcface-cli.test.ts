/**
 * An operator's ONNX recognizer end to end through the CLI (a real `store-edge` process):
 * `faces enroll` and `faces present` with `entry.recognizer` set to the tiny graph of
 * tiny-arcface.ts with its own input convention (three-point crop, mean 127, std 128), the
 * sha256 refusal at start, and the templates refused once the recognizer is set back.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceEngine } from '../../models/face-engine.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { firstStartKey } from './store-key.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { tempDir } from '../ledger/helpers.ts';
import { portraits } from '../../harness/portraits.ts';
import { tinyArcFace } from './tiny-arcface.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('faces-arcface-');
const file = (name: string): string => path.join(t.dir, name);
afterAll(() => t.cleanup());

function run(config: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', path.join(t.dir, 'data'), '--config', file(config)], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let sha256 = '';

beforeAll(async () => {
  const engine = new FaceEngine({ detectorInputSize: 416, detectorMinScore: 0.4, liveness: false });
  await engine.start();
  const all = await portraits(engine, [3]);
  engine.stop();
  const face = all.find((p) => p.id === 's3f0');
  if (!face) throw new Error(`sample portrait not found: ${all.map((p) => p.id).join(',')}`);
  writeFileSync(file('face.jpg'), face.jpeg);
  mkdirSync(path.join(t.dir, 'data', 'models'), { recursive: true });
  const bytes = tinyArcFace(512).bytes;
  writeFileSync(path.join(t.dir, 'data', 'models', 'tiny.onnx'), bytes);
  sha256 = createHash('sha256').update(bytes).digest('hex');
  const recognizer = { kind: 'onnx-arcface', path: 'models/tiny.onnx', sha256, input: { mean: 127, std: 128 }, align: 'three-point' };
  const entry = { camera: { kind: 'files', path: file('face.jpg') }, liveness: { enabled: false }, recognizer };
  writeFileSync(file('arcface.json'), JSON.stringify({ entry }));
  writeFileSync(file('altered.json'), JSON.stringify({ entry: { ...entry, recognizer: { ...recognizer, sha256: 'ab'.repeat(32) } } }));
  writeFileSync(file('faceapi.json'), JSON.stringify({ entry: { ...entry, recognizer: { kind: 'faceapi' } } }));
  const db = openLedger(path.join(t.dir, 'data', 'ledger.sqlite'));
  firstStartKey(path.join(t.dir, 'data'));
  addVillager(db, { id: 'A', name: '甲', village: 'v' });
  closeLedger(db);
}, 120_000);

describe('an operator-supplied ONNX recognizer, through the CLI', () => {
  it('enrols a photo and lets the same face through at the door', async () => {
    const enrol = await run('arcface.json', 'faces', 'enroll', '--villager', 'A', '--photo', file('face.jpg'), '--consent', '--json');
    expect(enrol.code, enrol.stderr).toBe(0);
    expect(JSON.parse(enrol.stdout)).toMatchObject({ villager: 'A', templates: 2 });
    const present = await run('arcface.json', 'faces', 'present', '--frames', file('face.jpg'), file('face.jpg'), file('face.jpg'), '--json');
    expect(present.code, present.stderr).toBe(0);
    expect(JSON.parse(present.stdout)).toMatchObject({ decision: 'matched', villager: 'A', frames: 2 });
  }, 180_000);

  it('refuses to start with a model file whose sha256 is not the configured one: a config error naming the key and the file (exit 2), not npm ci', async () => {
    const r = await run('altered.json', 'faces', 'present', '--frames', file('face.jpg'), '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CONFIG_INVALID');
    expect(r.stderr).toContain(`entry.recognizer.path ${path.join(t.dir, 'data', 'models', 'tiny.onnx')}`);
    expect(r.stderr).toContain('sha256 与配置不符');
    expect(r.stderr).not.toContain('npm ci');
  }, 120_000);

  it('the daemon refuses to start with that model file the same way (exit 2, naming the key; not npm ci)', async () => {
    const r = await run('altered.json', 'start', '--http-port', '0');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('CONFIG_INVALID');
    expect(r.stderr).toContain('entry.recognizer.path');
    expect(r.stderr).toContain('sha256 与配置不符');
    expect(r.stderr).not.toContain('npm ci');
  }, 120_000);

  it('refuses the 512-d templates once the recognizer is set back to face-api (exit 2, both languages)', async () => {
    const r = await run('faceapi.json', 'faces', 'present', '--frames', file('face.jpg'), '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FACE_TEMPLATES_OTHER_RECOGNIZER');
    expect(r.stderr).toContain('重新录入');
  }, 120_000);
});
