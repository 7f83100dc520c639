/**
 * `faces evaluate-liveness`'s arithmetic with a texture model: APCER/BPCER at the configured
 * point and along the texture threshold, the geometry's flat veto kept, presentations with too
 * few frames of a face never live.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { judgePresentation, summariseLiveness, type PresentationResult } from '../../edge/entry/liveness-evaluate.ts';
import { isEdgeError } from '../../edge/errors.ts';
import { samplePath } from '../../harness/portraits.ts';
import { tempDir } from '../ledger/helpers.ts';

const pres = (name: string, texture: number, geometry: PresentationResult['geometry'] = 'uncertain', faces = 8, threshold = 1): PresentationResult => ({
  name, frames: 8, noFace: 8 - faces, geometry, ratio: null, pairs: 0, texture, net: null,
  verdict: geometry === 'flat' ? 'flat' : faces >= 6 && texture >= threshold ? 'live' : 'uncertain',
});

describe('evaluate-liveness with a texture model', () => {
  const config = resolveEntryConfig({ liveness: { passive: { texture_model: '/nowhere.json' } } });
  const real = [pres('r1', 3), pres('r2', 2), pres('r3', 0.5), pres('r4', 4, 'uncertain', 3)];
  const attack = [pres('a1', -2), pres('a2', 1.5), pres('a3', 5, 'flat'), pres('a4', -1)];
  const e = summariseLiveness(real, attack, config, { real: 'R', attack: 'A' });

  it('counts the configured point from the verdicts', () => {
    expect(e.atConfig).toMatchObject({ apcer: 0.25, bpcer: 0.5, attacksLive: 1, attacksFlat: 1, realLive: 2 });
  });

  it('moves along the texture threshold, keeping the flat veto and the frame count', () => {
    const at = (t: number) => e.textureCurve?.find((c) => c.threshold === t);
    // threshold 0: r1 r2 r3 live (r4 has 3 frames of a face), a2 live (a3 is flat despite 5)
    expect(at(0)).toEqual({ threshold: 0, apcer: 0.25, bpcer: 0.25 });
    // threshold 1.75: a2 no longer live; r3 drops out
    expect(at(1.75)).toEqual({ threshold: 1.75, apcer: 0, bpcer: 0.5 });
    expect(e.textureBestAtApcer2).toEqual({ threshold: 1.75, apcer: 0, bpcer: 0.5 });
  });

  it('has no texture curve without texture scores', () => {
    const g = summariseLiveness(real.map((r) => ({ ...r, texture: null })), attack.map((r) => ({ ...r, texture: null })), config, { real: 'R', attack: 'A' });
    expect(g.textureCurve).toBeNull();
    expect(g.textureBestAtApcer2).toBeNull();
  });
});

describe('evaluate-liveness on a damaged frame', () => {
  it('a frame cut short (its header fine) is bad input naming the file, in both languages, not a model error', async () => {
    const tmp = tempDir('liveness-eval-');
    try {
      const file = path.join(tmp.dir, 'b.jpg');
      writeFileSync(file, readFileSync(samplePath(1)).subarray(0, 20000));
      const analyser = { analyse: () => Promise.reject(new Error('not reached')) };
      const err = await judgePresentation(analyser, resolveEntryConfig({}), { person: 'p1', files: [file] }).catch((e: unknown) => e);
      expect(isEdgeError(err, 'INVALID_ARGUMENT')).toBe(true);
      expect((err as Error).message).toContain(file);
      expect((err as { zh: string }).zh).toBe(`${file}：无法解码图片`);
    } finally {
      tmp.cleanup();
    }
  });
});
