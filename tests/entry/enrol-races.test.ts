/**
 * Enrolments that overlap with each other or with a withdrawal (no models: a scripted analyser
 * whose answers are held until the test lets them go). A consent withdrawn while the faces are
 * analysed wins; two enrolments of one face under two names cannot both pass the look-alike
 * check; one photo of a villager enrolled twice at once is stored once (the other enrolment
 * succeeds and names it as already enrolled), and enrolling photos again stores only the new ones;
 * a failed upload does not take back the consent a parallel upload's templates rest on, nor
 * the consent a parallel upload still analysing rests on, in this process or another (uploads
 * that all fail leave none).
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnalyseOptions, FrameAnalysis, RgbFrame } from '../../models/face-engine.ts';
import type { SealedBatch } from '../../models/sealed.ts';
import type { SealedNearest } from '../../models/protocol.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { enrolVillager, inProcess, type FaceAnalyser } from '../../edge/entry/enrol.ts';
import { DoorFaces } from '../../edge/entry/admin-faces.ts';
import { addTemplates, countTemplates, loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { withdrawFaceData } from '../../edge/entry/face-photos.ts';
import { faceConsentOf } from '../../edge/ledger/face-templates.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { isEdgeError, type EdgeError } from '../../edge/errors.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { until } from '../drivers/helpers.ts';

function unitAlong(axis: number, tilt = 0): Float32Array {
  const v = new Float32Array(128);
  v[axis] = Math.cos(tilt);
  v[(axis + 1) % 128] = Math.sin(tilt);
  return v;
}

/** A gate: calls wait at it until `open()`; `waiting` counts them. */
class Gate {
  waiting = 0;
  private opened!: () => void;
  private readonly done = new Promise<void>((resolve) => { this.opened = resolve; });
  async pass(): Promise<void> { this.waiting++; await this.done; }
  open(): void { this.opened(); }
}

/** Answers by the frame's first byte: 0 no face, otherwise a face along that axis (or `descriptorOf` it); `gate` holds the answers of frames in `held`. */
class HeldAnalyser implements FaceAnalyser {
  constructor(private readonly gate: Gate, private readonly held: (tag: number) => boolean = () => true, private readonly searchGate?: Gate, private readonly descriptorOf: (tag: number) => Float32Array = (tag) => unitAlong(tag)) {}
  async analyse(frame: RgbFrame, _opts: AnalyseOptions): Promise<FrameAnalysis> {
    const tag = frame.data[0] ?? 0;
    if (this.held(tag)) await this.gate.pass();
    const quality = { faceSize: 120, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 };
    const face = { box: { x: 0, y: 0, width: 120, height: 120 }, score: 0.9, quality, rejected: null, descriptor: this.descriptorOf(tag), liveness: null };
    const times = { detect: 0, landmarks: 0, descriptor: 0, liveness: 0 };
    const n = tag === 0 ? 0 : 1;
    return { width: 1, height: 1, faceCount: n, nearFaces: n, faces: n ? [face] : [], times };
  }
  async nearestSealed(key: Uint8Array, batch: SealedBatch, queries: Float32Array[]): Promise<SealedNearest> {
    if (this.searchGate) await this.searchGate.pass();
    return inProcess.nearestSealed(key, batch, queries);
  }
}

const config = resolveEntryConfig({});
const frame = (tag: number): RgbFrame => ({ width: 1, height: 1, data: Uint8Array.of(tag, 0, 0) });
const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

function ledger(consent: string[]) {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  for (const id of ['A', 'B', 'C']) addVillager(l.db, { id, name: `村民${id}`, village: 'v' });
  for (const id of consent) setFaceConsent(l.db, id, 'self');
  return { db: l.db, dir: l.dir, file: l.file, key: loadOrCreateTemplateKey(path.join(l.dir, 'k')) };
}

const errorOf = async (p: Promise<unknown>): Promise<EdgeError> => {
  try { await p; } catch (err) { if (isEdgeError(err)) return err; throw err; }
  throw new Error('expected an EdgeError');
};

describe('enrolments that overlap', () => {
  it('a consent withdrawn while the photo is analysed: nothing is stored', async () => {
    const { db, dir, key } = ledger(['A']);
    const gate = new Gate();
    const p = errorOf(enrolVillager(db, key, new HeldAnalyser(gate), config, 'A', [{ name: 'a.jpg', frame: frame(3) }], new Date().toISOString()));
    await until(() => gate.waiting > 0);
    withdrawFaceData(db, dir, config, 'A');
    gate.open();
    const e = await p;
    expect(e.code).toBe('NO_CONSENT');
    expect(countTemplates(db, 'A')).toBe(0);
  });

  it('a consent given with the upload and withdrawn while the photo is analysed: nothing is stored, no consent is recorded', async () => {
    const { db, dir, key } = ledger([]);
    const gate = new Gate();
    const p = errorOf(enrolVillager(db, key, new HeldAnalyser(gate), config, 'A', [{ name: 'a.jpg', frame: frame(3) }], new Date().toISOString(), 'self'));
    await until(() => gate.waiting > 0);
    withdrawFaceData(db, dir, config, 'A');
    gate.open();
    const e = await p;
    expect(e.code).toBe('NO_CONSENT');
    expect(countTemplates(db, 'A')).toBe(0);
    expect(faceConsentOf(db, 'A')?.faceConsentAt).toBeNull();
  });

  it('one face enrolled under two names at once: one is refused with FACE_COLLISION', async () => {
    const { db, key } = ledger(['A', 'B', 'C']);
    // someone else enrolled, so that the look-alike check has a gallery to search
    addTemplates(db, key, 'C', [{ descriptor: unitAlong(60), quality: null, source: 'c.jpg' }], new Date().toISOString());
    const open = new Gate();
    open.open();
    const search = new Gate();
    const analyser = new HeldAnalyser(open, () => false, search);
    const at = new Date().toISOString();
    const a = enrolVillager(db, key, analyser, config, 'A', [{ name: 'a.jpg', frame: frame(3) }], at).then((r) => r, (err: unknown) => err);
    const b = enrolVillager(db, key, analyser, config, 'B', [{ name: 'b.jpg', frame: frame(3) }], at).then((r) => r, (err: unknown) => err);
    // both have read the gallery (neither's templates in it) before either stores
    await until(() => search.waiting === 2);
    search.open();
    const results = await Promise.all([a, b]);
    const refused = results.filter((r) => isEdgeError(r, 'FACE_COLLISION'));
    expect(refused).toHaveLength(1);
    expect(countTemplates(db, 'A') + countTemplates(db, 'B')).toBe(2);
  });

  /**
   * The same photo of one villager enrolled twice at once (a form sent twice, a command run again
   * while the first still searched): both read the villager's templates before either stored.
   * `connections`: one handle (the admin page's uploads) or two on the same file (two processes).
   */
  for (const connections of [1, 2] as const) {
    it(`one photo of a villager enrolled twice at once (${connections === 1 ? 'one connection' : 'two connections on one file, as two processes'}): it is stored once, both succeed, the second says it was already enrolled`, async () => {
      const { db, file, key } = ledger(['A', 'C']);
      addTemplates(db, key, 'C', [{ descriptor: unitAlong(60), quality: null, source: 'c.jpg' }], new Date().toISOString());
      const other = connections === 1 ? db : openLedger(file);
      if (other !== db) cleanups.unshift(() => closeLedger(other));
      const open = new Gate();
      open.open();
      const search = new Gate();
      const analyser = new HeldAnalyser(open, () => false, search);
      const at = new Date().toISOString();
      const a = enrolVillager(db, key, analyser, config, 'A', [{ name: 'a.jpg', frame: frame(3) }], at);
      const b = enrolVillager(other, key, analyser, config, 'A', [{ name: 'a.jpg', frame: frame(3) }], at);
      await until(() => search.waiting === 2);
      search.open();
      const results = await Promise.all([a, b]);
      expect(results).toEqual(expect.arrayContaining([{ templates: 2, alreadyEnrolled: [] }, { templates: 0, alreadyEnrolled: ['a.jpg'] }]));
      // the invariant: the villager holds no two templates of the same picture
      expect(countTemplates(db, 'A')).toBe(2);
    });
  }

  it('photos already held are skipped, the new ones of the same enrolment stored; all held: 0 stored, each named', async () => {
    const { db, key } = ledger(['A']);
    const open = new Gate();
    open.open();
    // photos of one face: tag t is 0.1·t rad off axis 0 (tags 3 and 5 ≈ 0.2 apart: one person, two photos)
    const analyser = new HeldAnalyser(open, () => false, undefined, (tag) => unitAlong(0, 0.1 * tag));
    const at = new Date().toISOString();
    expect(await enrolVillager(db, key, analyser, config, 'A', [{ name: 'a.jpg', frame: frame(3) }], at)).toEqual({ templates: 2, alreadyEnrolled: [] });
    // the same photos again with one added: the new one is stored
    const again = [{ name: 'a.jpg', frame: frame(3) }, { name: 'b.jpg', frame: frame(5) }];
    expect(await enrolVillager(db, key, analyser, config, 'A', again, at)).toEqual({ templates: 2, alreadyEnrolled: ['a.jpg'] });
    expect(countTemplates(db, 'A')).toBe(4);
    expect(await enrolVillager(db, key, analyser, config, 'A', again, at)).toEqual({ templates: 0, alreadyEnrolled: ['a.jpg', 'b.jpg'] });
    expect(countTemplates(db, 'A')).toBe(4);
    // one picture given twice in one enrolment is stored once
    expect(await enrolVillager(db, key, analyser, config, 'A', [{ name: 'c.jpg', frame: frame(7) }, { name: 'c copy.jpg', frame: frame(7) }], at)).toEqual({ templates: 2, alreadyEnrolled: ['c copy.jpg'] });
    expect(countTemplates(db, 'A')).toBe(6);
  });

  /** A failing upload (`bad`) beside a good one (`good`) still analysing when the first fails: the good one is enrolled and the consent stays. */
  async function failedBesideGood(db: Db, bad: DoorFaces, good: DoorFaces, badGate: Gate, goodGate: Gate): Promise<void> {
    // the first upload records the consent, or would; the second finds it, or gives its own
    const failed = errorOf(bad.enrol('A', { name: 'bad.jpg', frame: frame(0) }, 'self'));
    await until(() => badGate.waiting === 1);
    const enrolled = good.enrol('A', { name: 'good.jpg', frame: frame(3) }, 'self').then((r) => r, (err: unknown) => err);
    await until(() => goodGate.waiting === 1);
    // the first fails (no face) while the second is still analysing
    badGate.open();
    expect((await failed).code).toBe('FACE_REJECTED');
    goodGate.open();
    expect(await enrolled).toMatchObject({ templates: 2, total: 2 });
    expect(faceConsentOf(db, 'A')?.faceConsentAt).not.toBeNull();
    expect(countTemplates(db, 'A')).toBe(2);
  }

  it('a failed upload that recorded the consent does not take it back from a parallel upload still analysing, which is enrolled', async () => {
    const { db, dir } = ledger([]);
    const badGate = new Gate();
    const goodGate = new Gate();
    // each upload gets its own engine, held at its own gate
    const engines = [new HeldAnalyser(badGate), new HeldAnalyser(goodGate)];
    const faces = new DoorFaces({ db: () => db, config, dataDir: dir, engine: () => engines.shift(), reload: () => Promise.resolve() });
    await failedBesideGood(db, faces, faces, badGate, goodGate);
  });

  it('two processes (the CLI beside the daemon, two connections on one file): an upload that recorded the consent and failed does not take it back from the other process\'s upload still analysing, which is enrolled', async () => {
    const { db, dir, file } = ledger([]);
    const other = openLedger(file);
    cleanups.unshift(() => closeLedger(other));
    const badGate = new Gate();
    const goodGate = new Gate();
    // each process knows only its own uploads
    const cli = new DoorFaces({ db: () => other, config, dataDir: dir, engine: () => new HeldAnalyser(badGate), reload: () => Promise.resolve() });
    const daemon = new DoorFaces({ db: () => db, config, dataDir: dir, engine: () => new HeldAnalyser(goodGate), reload: () => Promise.resolve() });
    await failedBesideGood(db, cli, daemon, badGate, goodGate);
  });

  it('overlapping uploads that all fail leave no consent on record', async () => {
    const { db, dir } = ledger([]);
    const firstGate = new Gate();
    const secondGate = new Gate();
    const engines = [new HeldAnalyser(firstGate), new HeldAnalyser(secondGate)];
    const faces = new DoorFaces({ db: () => db, config, dataDir: dir, engine: () => engines.shift(), reload: () => Promise.resolve() });
    const first = errorOf(faces.enrol('A', { name: 'a.jpg', frame: frame(0) }, 'self'));
    await until(() => firstGate.waiting === 1);
    const second = errorOf(faces.enrol('A', { name: 'b.jpg', frame: frame(0) }, 'self'));
    await until(() => secondGate.waiting === 1);
    firstGate.open();
    expect((await first).code).toBe('FACE_REJECTED');
    secondGate.open();
    expect((await second).code).toBe('FACE_REJECTED');
    expect(faceConsentOf(db, 'A')?.faceConsentAt).toBeNull();
  });

  it('a failed upload does not withdraw the consent of a parallel upload that was enrolled', async () => {
    const { db, dir } = ledger([]);
    const gate = new Gate();
    // tag 0 (no face) is held until the good upload has been stored
    const analyser = new HeldAnalyser(gate, (tag) => tag === 0);
    const faces = new DoorFaces({ db: () => db, config, dataDir: dir, engine: () => analyser, reload: () => Promise.resolve() });
    const bad = errorOf(faces.enrol('A', { name: 'bad.jpg', frame: frame(0) }, 'self'));
    const good = await faces.enrol('A', { name: 'good.jpg', frame: frame(3) }, 'self');
    expect(good.total).toBe(2);
    gate.open();
    expect((await bad).code).toBe('FACE_REJECTED');
    expect(faceConsentOf(db, 'A')?.faceConsentAt).not.toBeNull();
    expect(countTemplates(db, 'A')).toBe(2);
  });
});
