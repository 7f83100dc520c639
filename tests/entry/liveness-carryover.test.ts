/**
 * The passive check's evidence never outlives a decision. Villager A (live) is let in; a
 * stranger's face keeps the camera busy (the window decides `unknown`, so the cooldown's key moves
 * on); the stranger then raises a printed photo of A. A's live frames kept from before must not
 * vouch for the photo: the gate alone, and the door end to end (EntryPipeline with the real
 * StoreSessionEngine), never match the photo nor unlock a second time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { DoorLivenessGate } from '../../edge/entry/liveness-challenge.ts';
import { initialWindow, type FrameVerdict } from '../../edge/entry/decision.ts';
import { EntryPipeline, type EntryDecision, type FaceRecogniser } from '../../edge/entry/pipeline.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { Recognition } from '../../models/protocol.ts';
import { setFaceConsent } from '../../edge/ledger/villagers.ts';
import { seedLedger, store } from '../session/rig.ts';
import { until } from '../drivers/helpers.ts';
import { head, noise, project } from '../models/synthetic-head.ts';

const live = head();
// a print of a face: its landmarks on one plane, a little stretched
const flat = live.map(([x, y]) => [x * 1.08, y * 0.95, 0] as [number, number, number]);
const A: FrameVerdict = { kind: 'candidate', villagerId: 'A', distance: 0.2, margin: 0.3 };
const UNKNOWN: FrameVerdict = { kind: 'unknown', distance: 0.6, margin: 0.1 };
const cfg = resolveEntryConfig({ liveness: { passive: { enabled: true }, challenge: { mode: 'off' } } });

interface Frame { v: FrameVerdict; lm: Float32Array }

/** Every decision of one gate over the frames (8 per second), as `kind@i` or `matched:villager@i`. */
function decisions(frames: Frame[]): string[] {
  const gate = new DoorLivenessGate(cfg.liveness, cfg.frame_rate, () => 'blink');
  let state = initialWindow();
  const out: string[] = [];
  for (const [i, f] of frames.entries()) {
    const r = gate.step(state, f.v, f.lm, i * 125, cfg.match);
    state = r.state;
    if (r.outcome) out.push(`${r.outcome.kind === 'matched' ? `matched:${r.outcome.villagerId}` : r.outcome.kind}@${i}`);
  }
  return out;
}
/** A live head turning and nodding, shown as `v`. */
const moving = (n: number, v: FrameVerdict, seed = 7): Frame[] => {
  const j = noise(seed);
  return Array.from({ length: n }, (_, i) => ({ v, lm: project(live, { yaw: 9 * i - 45, pitch: 8 * Math.sin(i) }, j) }));
};
const photo = (n: number, v: FrameVerdict = A, seed = 7): Frame[] => {
  const j = noise(seed);
  return Array.from({ length: n }, () => ({ v, lm: project(flat, { yaw: 0, pitch: 0 }, j) }));
};
const matchedFrom = (d: string[], from: number): string[] => d.filter((x) => x.startsWith('matched:') && Number(x.split('@')[1]) >= from);

describe('the passive check: evidence never outlives a decision', () => {
  it('a photo of A on its own is never matched', () => {
    expect(matchedFrom(decisions(photo(20)), 0)).toEqual([]);
  });

  it('live A let in, a stranger keeps the camera busy, then a photo of A: the photo is not matched', () => {
    const d = decisions([...moving(6, A), ...moving(5, UNKNOWN, 3), ...photo(12)]);
    expect(d[0]).toBe('matched:A@5');
    expect(d[1]).toBe('unknown@10');
    expect(matchedFrom(d, 11)).toEqual([]);
  });

  it('nor when A stays in view until the cooldown ends and the photo replaces A without a gap', () => {
    // A's repeats within the cooldown (8 s from frame 5 at 8 frames a second: up to frame 68) are
    // held, each one a decision of the window; the photo comes in at frame 68
    const stays = Array.from({ length: 8 }, (_, r) => moving(8, A, 20 + r)).flat().slice(0, 62);
    const d = decisions([...moving(6, A), ...stays, ...photo(12)]);
    expect(d[0]).toBe('matched:A@5');
    expect(matchedFrom(d, 68)).toEqual([]);
  });

  it('A who comes back after a stranger is judged on their own new frames and let in again', () => {
    const d = decisions([...moving(6, A), ...moving(5, UNKNOWN, 3), ...moving(12, A, 9)]);
    expect(d[0]).toBe('matched:A@5');
    expect(matchedFrom(d, 11).length).toBe(1);
  });
});

describe('the door end to end: a photo of A after A was let in', () => {
  const times = { detect: 1, landmarks: 1, descriptor: 1, liveness: 1, match: 0 };
  type Shot = { who: 'A' | 'stranger'; lm: Float32Array };
  const j1 = noise(7), j2 = noise(3), j3 = noise(7);
  const shots: Shot[] = [
    ...Array.from({ length: 6 }, (_, i) => ({ who: 'A' as const, lm: project(live, { yaw: 9 * i - 45, pitch: 8 * Math.sin(i) }, j1) })),
    ...Array.from({ length: 5 }, (_, i) => ({ who: 'stranger' as const, lm: project(live, { yaw: 9 * i - 45, pitch: 8 * Math.sin(i) }, j2) })),
    ...Array.from({ length: 12 }, () => ({ who: 'A' as const, lm: project(flat, { yaw: 0, pitch: 0 }, j3) })),
  ];

  /** The frame's pixel carries the index of its shot: A (0.15 from A's template) or the stranger (0.7). */
  class Scripted implements FaceRecogniser {
    seen = 0;
    recognise(f: RgbFrame): Promise<Recognition> {
      this.seen++;
      const s = shots[f.data[0] as number] as Shot;
      const match = s.who === 'A' ? { best: { villagerId: 'A', distance: 0.15 }, second: { villagerId: 'B', distance: 0.7 } } : { best: { villagerId: 'A', distance: 0.7 }, second: { villagerId: 'B', distance: 0.8 } };
      return Promise.resolve({ faceCount: 1, face: { box: { x: 0, y: 0, width: 100, height: 100 }, score: 0.9, quality: { faceSize: 100, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 }, rejected: null, liveness: { real: 0.9, live: 0.9 }, landmarks: s.lm }, match, times } as Recognition);
    }
    replaceSealedGallery(): Promise<number> { return Promise.resolve(0); }
    addTemplates(): Promise<number> { return Promise.resolve(0); }
    removeVillager(): Promise<number> { return Promise.resolve(0); }
  }

  const stops: Array<() => void> = [];
  afterEach(() => { for (const s of stops.splice(0)) s(); });

  it('the door unlocks once, for A in person; the photo is refused while A\'s visit is still entering', async () => {
    const s = store({ db: seedLedger(), config: { entering_timeout_ms: 600_000 } });
    stops.push(() => s.engine.stop());
    setFaceConsent(s.db, 'A', 'self');
    let clock = 1_000_000;
    const pulses: number[] = [];
    const rec = new Scripted();
    const pipeline = new EntryPipeline({
      config: resolveEntryConfig({ liveness: { passive: { enabled: true } } }), db: s.db, recogniser: rec, camera: null,
      templateKey: Buffer.alloc(32), store: s.engine, qrPublicKey: null, logger: pino({ level: 'silent' }), now: () => clock,
      lock: { unlock: () => { pulses.push(clock); return Promise.resolve(); } },
    });
    const decisions: EntryDecision[] = [];
    pipeline.on('decision', (d) => { decisions.push(d); s.engine.onEntryDecision(d); });
    await pipeline.start();
    // the recogniser seeing frame i+1 means frame i went all the way through the door
    for (let i = 0; i < shots.length; i++) {
      pipeline.offer({ width: 1, height: 1, data: Uint8Array.of(i, 0, 0) });
      await until(() => rec.seen === i + 1, 1000, 'frame');
      clock += 125;
    }
    await pipeline.stop();
    const summary = decisions.map((d) => `${d.decision}${d.villagerId ? ':' + d.villagerId : ''}${d.unlocked ? ' UNLOCKED' : ''}`);
    expect(summary[0]).toBe('matched:A UNLOCKED');
    expect(summary.slice(1).some((d) => d.startsWith('matched'))).toBe(false);
    expect(pulses.length).toBe(1);
  });
});
