/**
 * EntryPipeline with fakes at the boundary (a scripted recogniser, a recording lock): newest
 * frame only, spoof and low-quality paths, a failing lock, a failing frame, a failing ledger read.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { RgbFrame } from '../../models/face-engine.ts';
import type { Recognition } from '../../models/protocol.ts';
import { ModelError } from '../../models/errors.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { EntryPipeline, type EntryDecision, type FaceRecogniser } from '../../edge/entry/pipeline.ts';
import { loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { until } from '../drivers/helpers.ts';
import { failWhen } from '../session/rig.ts';

const frame = (tag: number): RgbFrame => ({ width: 1, height: 1, data: Uint8Array.of(tag, 0, 0) });
const times = { detect: 1, landmarks: 1, descriptor: 1, liveness: 1, match: 0 };
const face = (over: Partial<NonNullable<Recognition['face']>> = {}): NonNullable<Recognition['face']> => ({
  box: { x: 0, y: 0, width: 100, height: 100 }, score: 0.9,
  quality: { faceSize: 100, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 }, rejected: null, liveness: { real: 0.9, live: 0.9 }, ...over,
});
const match = (id: string, distance = 0.1): Recognition['match'] => ({ best: { villagerId: id, distance }, second: { villagerId: 'other', distance: 0.6 } });

class ScriptedRecogniser implements FaceRecogniser {
  seen: number[] = [];
  opts: Array<{ cohort?: boolean; pool?: Float32Array }> = [];
  private gates: Array<() => void> = [];
  constructor(private readonly answer: (tag: number) => Recognition | Error, private readonly hold = false) {}
  async recognise(f: RgbFrame, opts?: { cohort?: boolean; pool?: Float32Array }): Promise<Recognition> {
    this.seen.push(f.data[0] ?? -1);
    this.opts.push(opts ?? {});
    if (this.hold) await new Promise<void>((r) => this.gates.push(r));
    const a = this.answer(f.data[0] ?? -1);
    if (a instanceof Error) throw a;
    return a;
  }
  release(): void { for (const g of this.gates.splice(0)) g(); }
  replaceSealedGallery(): Promise<number> { return Promise.resolve(0); }
  addTemplates(): Promise<number> { return Promise.resolve(0); }
  removeVillager(): Promise<number> { return Promise.resolve(0); }
}

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

function setup(recogniser: FaceRecogniser, lock = { unlock: (_ms: number) => Promise.resolve() }, matchOver: Record<string, unknown> = {}) {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  addVillager(l.db, { id: 'wang', name: '王五', village: 'v' });
  setFaceConsent(l.db, 'wang', 'self');
  const pulses: number[] = [];
  const pipeline = new EntryPipeline({
    // the window these frames are scripted for (the defaults are calibrated elsewhere)
    config: resolveEntryConfig({ match: { threshold: 0.28, uncertain_threshold: 0.36, margin: 0.06, n: 3, ...matchOver } }), db: l.db, recogniser, store: { isStoreBusy: () => false }, camera: null,
    lock: { unlock: (ms: number) => { pulses.push(ms); return lock.unlock(ms); } },
    templateKey: loadOrCreateTemplateKey(path.join(l.dir, 'k')), qrPublicKey: null, logger: pino({ level: 'silent' }),
  });
  const decisions: EntryDecision[] = [];
  const faults: string[] = [];
  pipeline.on('decision', (d) => decisions.push(d));
  pipeline.on('fault', (f) => faults.push(`${f.where}: ${f.message}`));
  return { pipeline, decisions, faults, pulses, db: l.db };
}

describe('EntryPipeline', () => {
  it('analyses only the newest frame: frames arriving while busy replace each other', async () => {
    const rec = new ScriptedRecogniser(() => ({ faceCount: 0, face: null, match: null, times }), true);
    const { pipeline } = setup(rec);
    await pipeline.start();
    for (let i = 1; i <= 5; i++) pipeline.offer(frame(i));
    await until(() => rec.seen.length === 1, 1000, 'first frame');
    rec.release();
    await until(() => rec.seen.length === 2, 1000, 'second frame');
    rec.release();
    await pipeline.stop();
    expect(rec.seen).toEqual([1, 5]);
    expect(pipeline.stats).toMatchObject({ frames: 5, dropped: 3, analysed: 2 });
  });

  it('a matched face that fails liveness is a spoof: no unlock', async () => {
    const rec = new ScriptedRecogniser(() => ({ faceCount: 1, face: face({ liveness: { real: 0.05, live: 0.9 } }), match: match('wang'), times }));
    const { pipeline, decisions, pulses } = setup(rec);
    await pipeline.start();
    for (let i = 0; i < 3; i++) { pipeline.offer(frame(i)); await until(() => rec.seen.length === i + 1, 1000, 'frame'); }
    await until(() => decisions.length === 1, 1000, 'decision');
    await pipeline.stop();
    expect(decisions[0]).toMatchObject({ by: 'face', decision: 'spoof', unlocked: false });
    expect(pulses).toEqual([]);
  });

  it('a face between the two thresholds is uncertain: recorded with the nearest villager, no unlock', async () => {
    const rec = new ScriptedRecogniser(() => ({ faceCount: 1, face: face(), match: match('wang', 0.32), times }));
    const { pipeline, decisions, pulses, db } = setup(rec);
    await pipeline.start();
    for (let i = 0; i < 3; i++) { pipeline.offer(frame(i)); await until(() => rec.seen.length === i + 1, 1000, 'frame'); }
    await until(() => decisions.length === 1, 1000, 'decision');
    await pipeline.stop();
    expect(decisions[0]).toMatchObject({ by: 'face', decision: 'uncertain', villagerId: null, unlocked: false, detail: { nearest: 'wang', distance: 0.32, frames: 3 } });
    expect(pulses).toEqual([]);
    const row = db.prepare('SELECT decision, villager_id FROM entry_events').get() as { decision: string; villager_id: string | null };
    expect(row).toEqual({ decision: 'uncertain', villager_id: null });
  });

  it('with match.cohort_scale asks the worker for the cohort and decides on scaled distances', async () => {
    // the face of the uncertain case above (0.32 from wang), far from everyone else (cohort 0.8): 0.32 × 0.4 / 0.8 = 0.16
    const rec = new ScriptedRecogniser(() => ({ faceCount: 1, face: face(), match: { best: { villagerId: 'wang', distance: 0.32 }, second: { villagerId: 'other', distance: 0.6 }, cohort: 0.8 }, times }));
    const { pipeline, decisions, pulses } = setup(rec, undefined, { cohort_scale: 0.4 });
    await pipeline.start();
    for (let i = 0; i < 3; i++) { pipeline.offer(frame(i)); await until(() => rec.seen.length === i + 1, 1000, 'frame'); }
    await until(() => decisions.length === 1, 1000, 'decision');
    await pipeline.stop();
    expect(rec.opts.every((o) => o.cohort === true)).toBe(true);
    expect(decisions[0]).toMatchObject({ by: 'face', decision: 'matched', villagerId: 'wang', unlocked: true });
    expect(pulses.length).toBe(1);
  });

  it('with match.pool hands the worker the window\'s pool and opens on the pooled match', async () => {
    // each frame 0.32 from wang (uncertain on its own); the worker's pooled search says 0.15
    const d = Float32Array.from({ length: 128 }, (_, i) => (i === 0 ? 1 : 0));
    const rec = new ScriptedRecogniser(() => ({ faceCount: 1, face: face(), match: { best: { villagerId: 'wang', distance: 0.32 }, second: { villagerId: 'other', distance: 0.6 } }, descriptor: d, pooled: { best: { villagerId: 'wang', distance: 0.15 }, second: { villagerId: 'other', distance: 0.6 } }, times }));
    const { pipeline, decisions, pulses } = setup(rec, undefined, { pool: {} });
    await pipeline.start();
    for (let i = 0; i < 2; i++) { pipeline.offer(frame(i)); await until(() => rec.seen.length === i + 1, 1000, 'frame'); }
    await until(() => decisions.length === 1, 1000, 'decision');
    await pipeline.stop();
    // nothing pooled at the first frame; the first frame's descriptor at the second
    expect(rec.opts.map((o) => [...(o.pool ?? [-1])].slice(0, 2))).toEqual([[], [1, 0]]);
    expect(decisions[0]).toMatchObject({ by: 'face', decision: 'matched', villagerId: 'wang', unlocked: true, detail: { distance: 0.15, frames: 2 } });
    expect(pulses.length).toBe(1);
  });

  it('faces failing the quality gate are low_quality; a face with no consent is refused', async () => {
    let tagQ = true;
    const rec = new ScriptedRecogniser(() => (tagQ
      ? { faceCount: 1, face: face({ rejected: 'blurred' }), match: null, times }
      : { faceCount: 1, face: face(), match: match('wang'), times }));
    const { pipeline, decisions, pulses, db } = setup(rec);
    await pipeline.start();
    const feed = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) { const k = rec.seen.length; pipeline.offer(frame(i)); await until(() => rec.seen.length === k + 1, 1000, 'frame'); }
    };
    await feed(3);
    await until(() => decisions.length === 1, 1000, 'decision');
    expect(decisions[0]).toMatchObject({ decision: 'low_quality', detail: { seen: 'blurred,blurred,blurred' } });
    tagQ = false;
    setFaceConsent(db, 'wang', null);
    await feed(2);
    await until(() => decisions.length === 2, 1000, 'decision');
    await pipeline.stop();
    expect(decisions[1]).toMatchObject({ decision: 'no_consent', villagerId: 'wang', unlocked: false });
    expect(pulses).toEqual([]);
  });

  it('a lock that does not confirm is a fault and an event with unlocked false; a frame that fails is a fault; the loop goes on', async () => {
    let fail = true;
    const rec = new ScriptedRecogniser(() => (fail ? new ModelError('IMAGE_INVALID', 'bad frame') : { faceCount: 1, face: face(), match: match('wang'), times }));
    const { pipeline, decisions, faults } = setup(rec, { unlock: () => Promise.reject(new Error('relay did not confirm')) });
    await pipeline.start();
    pipeline.offer(frame(0));
    await until(() => faults.length === 1, 1000, 'frame fault');
    fail = false;
    for (let i = 1; i <= 2; i++) { pipeline.offer(frame(i)); await until(() => rec.seen.length === i + 1, 1000, 'frame'); }
    await until(() => decisions.length === 1, 1000, 'decision');
    await pipeline.stop();
    expect(faults).toEqual(['frame: IMAGE_INVALID: bad frame', 'unlock: relay did not confirm']);
    expect(decisions[0]).toMatchObject({ decision: 'matched', villagerId: 'wang', unlocked: false, detail: { unlockError: 'relay did not confirm' } });
  });

  it('an unlock whose relay readback was lost is recorded as not confirmed, and is a fault for the maintainer', async () => {
    const rec = new ScriptedRecogniser(() => ({ faceCount: 1, face: face(), match: match('wang'), times }));
    // what drivers/lock LockDriver.unlock resolves when the board acknowledged the pulse but the readback got no answer
    const { pipeline, decisions, faults, db } = setup(rec, { unlock: (ms: number) => Promise.resolve({ pulse_ms: ms, confirmed: false, confirmed_at: Date.now(), release_at: Date.now() + ms }) as Promise<never> });
    await pipeline.start();
    for (let i = 0; i < 2; i++) { pipeline.offer(frame(i)); await until(() => rec.seen.length === i + 1, 1000, 'frame'); }
    await until(() => decisions.length === 1, 1000, 'decision');
    await pipeline.stop();
    // the pulse went out and was acknowledged: the villager is let in, and the record says the relay did not confirm
    expect(decisions[0]).toMatchObject({ decision: 'matched', unlocked: true, detail: { confirmed: false } });
    expect(JSON.parse(db.prepare('SELECT detail FROM entry_events').pluck().get() as string)).toMatchObject({ unlocked: true, confirmed: false });
    expect(faults).toEqual(['unlock: the relay did not confirm the unlock (its readback was lost)']);
  });

  it('a ledger read that fails while the door judges a face match is a fault: the door stays shut, the decision is recorded, the loop goes on', async () => {
    // an unhandled rejection ends the store process (Node 20): the frame loop must never leave one
    const rejections: unknown[] = [];
    const onRejection = (r: unknown): void => { rejections.push(r); };
    process.on('unhandledRejection', onRejection);
    cleanups.push(() => process.off('unhandledRejection', onRejection));
    const rec = new ScriptedRecogniser(() => ({ faceCount: 1, face: face(), match: match('wang'), times }));
    const { pipeline, decisions, faults, pulses, db } = setup(rec, undefined, { cooldown_ms: 0 });
    await pipeline.start();
    // the disk answers the villager's standing with an I/O error (every other statement works)
    const heal = failWhen(db, (sql) => sql.includes('face_consent_at, debt, balance'));
    cleanups.push(heal);
    for (let i = 0; i < 2; i++) { pipeline.offer(frame(i)); await until(() => rec.seen.length === i + 1, 1000, 'frame'); }
    await until(() => decisions.length === 1 || rejections.length > 0, 1000, 'decision');
    expect(rejections.map(String)).toEqual([]);
    expect(faults).toEqual(['ledger: disk I/O error']);
    expect(decisions[0]).toMatchObject({ decision: 'matched', villagerId: 'wang', unlocked: false, detail: { refused: 'ledger_error' } });
    expect(pulses).toEqual([]);
    // the row is in entry_events for the maintainer
    expect(db.prepare("SELECT decision FROM entry_events").all()).toEqual([{ decision: 'matched' }]);
    // the disk recovers: the next frames go through the same loop and open the door
    heal();
    for (let i = 2; i < 4; i++) { pipeline.offer(frame(i)); await until(() => rec.seen.length === i + 1, 1000, 'frame'); }
    await until(() => decisions.length === 2, 1000, 'second decision');
    await pipeline.stop();
    expect(decisions[1]).toMatchObject({ decision: 'matched', villagerId: 'wang', unlocked: true });
    expect(pulses).toHaveLength(1);
  });
});
