/**
 * The passive check's liveness net (`entry.liveness.passive.onnx_model`) is read and sha256-checked
 * only by the engines that will ask for it: the door and `faces present` when the passive check is
 * on, `faces evaluate-liveness` whenever it is configured, enrolment and identification never.
 * A net configured with the check off must not be read at all: here its file does not exist,
 * which an engine that loads it refuses at start (MODEL_MISSING).
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FaceEngine } from '../../models/face-engine.ts';
import { isModelError } from '../../models/errors.ts';
import { engineChoice, resolveEntryConfig } from '../../edge/entry/config.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('liveness-net-load-');
afterAll(() => t.cleanup());

const sha256 = 'ab'.repeat(32);
const entryWith = (passiveOn: boolean) => resolveEntryConfig({
  engine: 'tfjs',
  liveness: { enabled: false, passive: { enabled: passiveOn, onnx_model: { path: 'absent/liveness.onnx', sha256, min_live: 0.5 } } },
});

describe('engineChoice: the liveness net is loaded only where it is used', () => {
  it('the door loads it with the passive check on, not with it off', () => {
    expect(engineChoice(entryWith(true), t.dir).livenessNet).toEqual({ path: path.resolve(t.dir, 'absent/liveness.onnx'), sha256 });
    expect(engineChoice(entryWith(false), t.dir).livenessNet).toBeUndefined();
    expect(engineChoice(entryWith(false), t.dir, 'when-used').livenessNet).toBeUndefined();
  });

  it('evaluate-liveness loads it whenever configured; enrolment never', () => {
    expect(engineChoice(entryWith(false), t.dir, 'configured').livenessNet?.sha256).toBe(sha256);
    expect(engineChoice(entryWith(true), t.dir, 'never').livenessNet).toBeUndefined();
    expect(engineChoice(resolveEntryConfig({ engine: 'tfjs' }), t.dir, 'configured').livenessNet).toBeUndefined();
  });

  it('an engine built for the door with the check off starts although the net file is missing; one that loads it is refused', async () => {
    const opts = { detector: 'tiny' as const, detectorInputSize: 160, detectorMinScore: 0.4, liveness: false };
    const door = new FaceEngine({ ...opts, ...engineChoice(entryWith(false), t.dir) });
    await door.start();
    door.stop();
    const evaluating = new FaceEngine({ ...opts, ...engineChoice(entryWith(false), t.dir, 'configured') });
    const err = await evaluating.start().then(() => null, (e: unknown) => e);
    evaluating.stop();
    expect(isModelError(err)).toBe(true);
    expect((err as { code?: string }).code).toBe('MODEL_MISSING');
  }, 120_000);
});
