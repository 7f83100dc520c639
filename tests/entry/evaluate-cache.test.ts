/** `faces evaluate --cache` (edge/entry/evaluate-cache.ts): a photo analysed once is read back, a changed photo or another role is analysed again, a file that is not a cache is refused. */
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AnalysisCache, analysisScope, checkCacheFile } from '../../edge/entry/evaluate-cache.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { isEdgeError } from '../../edge/errors.ts';
import type { FrameAnalysis } from '../../models/face-engine.ts';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function analysis(d: Float32Array | null): FrameAnalysis {
  const face = { descriptor: d, rejected: d ? null : 'too_small' } as unknown as FrameAnalysis['faces'][number];
  return { width: 10, height: 10, faceCount: 1, nearFaces: 1, faces: [face], times: { detect: 0, landmarks: 0, descriptor: 0, liveness: 0 } };
}

describe('faces evaluate --cache', () => {
  it('reads back what the models said, per photo, role and recognizer, across runs', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eval-cache-'));
    dirs.push(dir);
    const photo = path.join(dir, 'a.jpg');
    writeFileSync(photo, 'x');
    const file = path.join(dir, 'cache.json');
    const d = Float32Array.from({ length: 128 }, (_, i) => i / 128);
    let calls = 0;
    const analyse = (x: Float32Array | null) => async () => { calls++; return analysis(x); };
    const first = new AnalysisCache(file, 'faceapi/ssd/tiny@256');
    await first.load();
    expect((await first.analyse('door', photo, analyse(d))).face?.descriptor).toEqual(d);
    await first.analyse('enrol', photo, analyse(null));
    await first.save();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = new AnalysisCache(file, 'faceapi/ssd/tiny@256');
    await again.load();
    const hit = await again.analyse('door', photo, analyse(null));
    expect(hit.face?.descriptor).toEqual(d);
    expect(await again.analyse('enrol', photo, analyse(d))).toMatchObject({ faceCount: 1, face: { rejected: 'too_small', descriptor: null } });
    expect(calls).toBe(2);
    // another recognizer, or the photo changed: analysed again
    const other = new AnalysisCache(file, 'human-faceres/ssd/tiny@256');
    await other.load();
    await other.analyse('door', photo, analyse(d));
    expect(calls).toBe(3);
    utimesSync(photo, new Date(), new Date(Date.now() + 5000));
    await again.analyse('door', photo, analyse(d));
    expect(calls).toBe(4);
  });

  it('refuses a file that is not a cache (bad input, both languages)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eval-cache-'));
    dirs.push(dir);
    const file = path.join(dir, 'cache.json');
    writeFileSync(file, '{"hello":1}');
    const err = await new AnalysisCache(file, 'faceapi').load().catch((e: unknown) => e);
    expect(isEdgeError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as { zh: string }).zh).toContain('缓存');
  });

  it('the key holds every config key that shapes an analysis: another quality gate, score or size is analysed afresh', () => {
    const faceapi = { kind: 'faceapi' as const };
    const base = analysisScope(faceapi, resolveEntryConfig({}), 'ssd');
    const changed = [
      resolveEntryConfig({ quality: { min_face_size: 2000 } }), resolveEntryConfig({ quality: { max_yaw: 10 } }),
      resolveEntryConfig({ detector_min_score: 0.7 }), resolveEntryConfig({ detector_input_size: 608 }), resolveEntryConfig({ engine: 'tfjs' }),
    ].map((e) => analysisScope(faceapi, e, 'ssd'));
    expect(new Set([base, ...changed, analysisScope(faceapi, resolveEntryConfig({}), 'tiny')]).size).toBe(7);
    // scripts/cached-runs.ts splits a key at its first '|'
    for (const k of [base, ...changed]) expect(k).not.toContain('|');
    expect(analysisScope(faceapi, resolveEntryConfig({}), 'ssd')).toBe(base);
  });

  it('two models with one file name (another sha256) do not share descriptors; the same file moved does', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eval-cache-'));
    dirs.push(dir);
    const photo = path.join(dir, 'p.jpg');
    writeFileSync(photo, 'x');
    const file = path.join(dir, 'cache.json');
    const entry = resolveEntryConfig({});
    const model = (dirName: string, sha: string) => ({ kind: 'onnx-arcface' as const, path: `/models/${dirName}/fr_feature.onnx`, sha256: sha.repeat(64) });
    const first = new AnalysisCache(file, analysisScope(model('v1', 'a'), entry, 'ssd'));
    await first.analyse('door', photo, async () => analysis(Float32Array.of(1, 0, 0)));
    await first.save();
    const updated = new AnalysisCache(file, analysisScope(model('v2', 'b'), entry, 'ssd'));
    await updated.load();
    expect([...(await updated.analyse('door', photo, async () => analysis(Float32Array.of(0, 1, 0)))).face?.descriptor ?? []]).toEqual([0, 1, 0]);
    expect(updated.hits).toBe(0);
    const moved = new AnalysisCache(file, analysisScope(model('elsewhere', 'a'), entry, 'ssd'));
    await moved.load();
    await moved.analyse('door', photo, async () => analysis(null));
    expect(moved.hits).toBe(1);
  });

  it('a path that cannot be a cache is bad input (both languages), never a raw fs error: a folder, a missing folder', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eval-cache-'));
    dirs.push(dir);
    const missing = path.join(dir, 'no-such-folder', 'cache.json');
    for (const file of [dir, missing]) {
      const err = await checkCacheFile(file).catch((e: unknown) => e);
      expect(isEdgeError(err, 'INVALID_ARGUMENT')).toBe(true);
      expect((err as Error).message).toContain(`--cache ${file}`);
      expect((err as { zh: string }).zh).toMatch(/不是文件|不存在/);
    }
    // the reader and the writer say the same, should the path change under a run
    expect(isEdgeError(await new AnalysisCache(dir, 'faceapi').load().catch((e: unknown) => e), 'INVALID_ARGUMENT')).toBe(true);
    const c = new AnalysisCache(missing, 'faceapi');
    await c.analyse('door', path.join(dir, '..', path.basename(dir)), async () => analysis(null));
    expect(isEdgeError(await c.save().catch((e: unknown) => e), 'INVALID_ARGUMENT')).toBe(true);
    // an absent file in a folder that exists is fine: the first run
    await expect(checkCacheFile(path.join(dir, 'cache.json'))).resolves.toBeUndefined();
  });
});
