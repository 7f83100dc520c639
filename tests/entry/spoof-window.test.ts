/**
 * The antispoof/liveness verdicts of a presentation are not outvoted by the k-of-n vote: frames
 * of one presentation of villager A judged real, spoof, spoof, spoof, real (a phone screen the
 * antispoof catches half of the time) hold k = 2 spoof frames in the window that would name A;
 * the door decides `spoof` and does not unlock (docs/faces.md: `spoof` = k frames failed the check).
 * The same screen left in view after that decision stays a spoof until the face has left the camera,
 * or until entry.match.spoof_hold_ms has passed: then its window starts fresh.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { EntryPipeline, type EntryDecision, type FaceRecogniser } from '../../edge/entry/pipeline.ts';
import { loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { Recognition } from '../../models/protocol.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { until } from '../drivers/helpers.ts';

const times = { detect: 1, landmarks: 1, descriptor: 1, liveness: 1, match: 0 };

/** Villager A's face (0.1 from A's template) on every frame; the frames in `spoofs` fail the antispoof (real 0.05). */
class Scripted implements FaceRecogniser {
  seen = 0;
  constructor(private readonly spoofs: ReadonlySet<number>) {}
  recognise(f: RgbFrame): Promise<Recognition> {
    this.seen++;
    const i = f.data[0] as number;
    const real = this.spoofs.has(i) ? 0.05 : 0.9;
    return Promise.resolve({ faceCount: 1, face: { box: { x: 0, y: 0, width: 100, height: 100 }, score: 0.9, quality: { faceSize: 100, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 }, rejected: null, liveness: { real, live: 0.9 } }, match: { best: { villagerId: 'A', distance: 0.1 }, second: { villagerId: 'B', distance: 0.7 } }, times } as Recognition);
  }
  replaceSealedGallery(): Promise<number> { return Promise.resolve(0); }
  addTemplates(): Promise<number> { return Promise.resolve(0); }
  removeVillager(): Promise<number> { return Promise.resolve(0); }
}

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

/** The door with villager A enrolled, fed frames 0…count-1 one at a time, each waited through. */
async function present(count: number, spoofs: number[], clock?: { now: () => number; before: (frame: number) => void }): Promise<{ verdicts: string[]; decisions: EntryDecision[]; pulses: number[] }> {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  addVillager(l.db, { id: 'A', name: 'A', village: 'v' });
  setFaceConsent(l.db, 'A', 'self');
  const pulses: number[] = [];
  const rec = new Scripted(new Set(spoofs));
  const pipeline = new EntryPipeline({
    config: resolveEntryConfig({}), db: l.db, recogniser: rec, store: { isStoreBusy: () => false }, camera: null,
    lock: { unlock: (ms: number) => { pulses.push(ms); return Promise.resolve(); } },
    templateKey: loadOrCreateTemplateKey(path.join(l.dir, 'k')), qrPublicKey: null, logger: pino({ level: 'silent' }),
    ...(clock ? { now: clock.now } : {}),
  });
  const decisions: EntryDecision[] = [];
  const verdicts: string[] = [];
  pipeline.on('decision', (d) => decisions.push(d));
  pipeline.on('frame', (r) => verdicts.push(r.verdict.kind));
  await pipeline.start();
  for (let i = 0; i < count; i++) {
    clock?.before(i);
    pipeline.offer({ width: 1, height: 1, data: Uint8Array.of(i, 0, 0) });
    // the recogniser seeing frame i+1 means frame i went all the way through the door
    if (i + 1 < count) await until(() => rec.seen === i + 1 && verdicts.length === i + 1, 1000, 'frame');
  }
  // stop waits for the last frame to go through the door
  await until(() => verdicts.length === count, 1000, 'last frame');
  await pipeline.stop();
  return { verdicts, decisions, pulses };
}

describe('spoof frames in the deciding window', () => {
  it('a window holding k spoof frames of the presentation decides spoof and does not unlock', async () => {
    const { verdicts, decisions, pulses } = await present(5, [1, 2, 3]);
    expect(verdicts).toEqual(['candidate', 'spoof', 'spoof', 'spoof', 'candidate']);
    expect(decisions.map((d) => d.decision)).toEqual(['spoof']);
    expect(decisions.some((d) => d.unlocked)).toBe(false);
    expect(pulses).toEqual([]);
  });

  it('the presentation decided spoof does not open the door on its next frames while it stays in view', async () => {
    // the spoof decision empties the window; the screen's next frames that pass the antispoof name A again
    const { verdicts, decisions, pulses } = await present(7, [1, 2]);
    expect(verdicts).toEqual(['candidate', 'spoof', 'spoof', 'candidate', 'candidate', 'candidate', 'candidate']);
    expect(decisions.map((d) => d.decision)).toEqual(['spoof']);
    expect(pulses).toEqual([]);
  });

  it('the hold is announced once and lasts spoof_hold_ms (30 s by default): after it the face still in view is judged afresh', async () => {
    let t = 1_000_000;
    // frames 1, 2 fail the antispoof (spoof, the hold begins at t); 3–6 name A within the cooldown
    // (held, not repeated); 7, 8 at t + 10 s (held, decided again); 9, 10 at t + 31 s (the hold is over)
    const clock = { now: () => t, before: (i: number) => { if (i === 7) t += 10_000; if (i === 9) t += 21_000; } };
    const { decisions, pulses } = await present(11, [1, 2], clock);
    expect(decisions.map((d) => [d.decision, d.unlocked, d.detail.spoofHold])).toEqual([['spoof', false, 'started'], ['spoof', false, 'held'], ['matched', true, undefined]]);
    expect(pulses).toHaveLength(1);
  });
});
