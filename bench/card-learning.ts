/**
 * `npx tsx bench/card-learning.ts [--json] [--villagers N] [--templates T] [--runs R]`: the main
 * thread's cost of card-confirmed learning (`entry.adapt.card`) in a store with a large gallery.
 *
 * A ledger of N synthetic villagers (10,000) with T templates each (3), every one consenting.
 * R times (20) a villager's face comes to the door a little too far from their enrolment (the
 * door says `uncertain`), then their own card opens the door and the rule decides whether the
 * window leaves a pending template. Measured per card: the main thread's busy time while the
 * card is handled (its CPU time from the kernel's account, so neither the thumbnail's JPEG
 * encoding on libuv's pool nor other processes holding the cores are counted; the wall time
 * beside it), and the same for `reloadVillager` (what a confirmed template or a learned one
 * costs the running door). The inference worker is stood
 * in for by the real gallery (models/gallery.ts) on this thread; its time is outside the
 * measured stretches, as the worker's is at the door.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Gallery } from '../models/gallery.ts';
import { gallerySealed, type SealedBatch } from '../models/sealed.ts';
import type { Recognition } from '../models/protocol.ts';
import type { RgbFrame } from '../models/face-engine.ts';
import { resolveEntryConfig } from '../edge/entry/config.ts';
import { CardLearning } from '../edge/entry/card-learning.ts';
import { EntryPipeline, type EntryDecision, type FaceRecogniser } from '../edge/entry/pipeline.ts';
import { addTemplates, loadOrCreateTemplateKey, type GalleryEntry } from '../edge/entry/templates.ts';
import { addCard } from '../edge/ledger/credentials.ts';
import { inTransaction, openLedger } from '../edge/ledger/db.ts';
import { allowLearning } from '../edge/ledger/face-learning.ts';
import { countPending } from '../edge/ledger/face-pending.ts';
import { addVillager, setFaceConsent } from '../edge/ledger/villagers.ts';
import { mainThreadCost, positiveIntArg, report, round, summarise, wantsJson } from './stats.ts';
import { SyntheticDescriptors } from '../harness/synthetic-descriptors.ts';

const args = process.argv.slice(2);
const json = wantsJson();
const count = (name: string, fallback: number): number => positiveIntArg(args, name, fallback);
const VILLAGERS = count('--villagers', 10_000);
const TEMPLATES = count('--templates', 3);
const RUNS = Math.min(count('--runs', 20), VILLAGERS);
const log = (msg: string): void => { if (!json) console.error(msg); };

/** The same gallery on every run of the benchmark. */
const synthetic = new SyntheticDescriptors(1);
const unitVector = (): Float32Array => synthetic.unit();
const near = (a: Float32Array, dist: number): Float32Array => synthetic.near(a, dist);

const dir = mkdtempSync(path.join(tmpdir(), 'bench-card-'));
try {
  const db = openLedger(path.join(dir, 'ledger.sqlite'));
  const key = loadOrCreateTemplateKey(path.join(dir, 'keys', 'face-templates.key'));
  const NOON = Date.parse('2026-12-01T04:00:00Z');
  const enrolled = new Map<string, Float32Array>();
  const entries: GalleryEntry[] = [];
  const t0 = performance.now();
  inTransaction(db, 'bench gallery', () => {
    for (let i = 0; i < VILLAGERS; i++) {
      const id = `v${String(i).padStart(5, '0')}`;
      const anchor = unitVector();
      const descriptors = [anchor, ...Array.from({ length: TEMPLATES - 1 }, () => near(anchor, 0.05))];
      addVillager(db, { id, name: id, village: 'bench' });
      setFaceConsent(db, id, 'self');
      addTemplates(db, key, id, descriptors.map((d) => ({ descriptor: d, quality: 0.3, source: 'bench' })), new Date(NOON - 86_400_000).toISOString());
      entries.push({ villagerId: id, descriptors });
      if (i < RUNS) {
        enrolled.set(id, anchor);
        allowLearning(db, id, 'self', 'bench', new Date(NOON).toISOString());
        addCard(db, `PB-${String(i).padStart(4, '0')}-BNCH`, id, 'now');
      }
    }
  });
  log(`ledger: ${VILLAGERS} villagers × ${TEMPLATES} templates in ${Math.round(performance.now() - t0)} ms`);

  /** The inference worker's part, on this thread: the real gallery's top-2 for the face shown. */
  class StandIn implements FaceRecogniser {
    readonly gallery = new Gallery(VILLAGERS * TEMPLATES, synthetic.length);
    /** The face at the door; null: nobody. */
    face: Float32Array | null = null;
    seen = 0;
    recognise(): Promise<Recognition> {
      this.seen++;
      if (!this.face) return Promise.resolve({ faceCount: 0, face: null, match: null, times: { detect: 0, landmarks: 0, descriptor: 0, liveness: 0, match: 0 } });
      const box = { x: 8, y: 8, width: 32, height: 32 };
      return Promise.resolve({
        faceCount: 1,
        face: { box, score: 0.9, quality: { faceSize: 32, sharpness: 0.3, yaw: 0, pitch: 0, roll: 0 }, rejected: null, liveness: { real: 0.9, live: 0.9 } },
        match: this.gallery.search(this.face), times: { detect: 0, landmarks: 0, descriptor: 0, liveness: 0, match: 0 }, descriptor: this.face,
      });
    }
    replaceSealedGallery(key: Uint8Array, batch: SealedBatch): Promise<number> { gallerySealed(key, batch, this.gallery.dimension, this.gallery); return Promise.resolve(this.gallery.size); }
    addTemplates(v: string, d: Float32Array[]): Promise<number> { this.gallery.add(v, d); return Promise.resolve(this.gallery.size); }
    removeVillager(v: string): Promise<number> { return Promise.resolve(this.gallery.remove(v)); }
  }

  /** Why a card left no pending template, as the door logs it. */
  const refused = new Map<string, number>();
  const logger = pino({ level: 'info' }, { write: (line: string) => {
    const e = JSON.parse(line) as { event?: string; why?: string };
    if (e.event === 'face_pending_refused' && e.why) refused.set(e.why, (refused.get(e.why) ?? 0) + 1);
  } });
  let now = NOON;
  const clock = (): number => now;
  const config = resolveEntryConfig({ adapt: { card: { enabled: true } } });
  const rec = new StandIn();
  const pipeline = new EntryPipeline({
    config, db, recogniser: rec, store: { isStoreBusy: () => false }, camera: null, lock: { unlock: () => Promise.resolve() },
    templateKey: key, qrPublicKey: null, logger, cardLearning: new CardLearning({ db, key, config, now: clock }), now: clock,
  });
  const decisions: EntryDecision[] = [];
  pipeline.on('decision', (d) => decisions.push(d));
  const tStart = performance.now();
  await pipeline.start();
  log(`door start (the whole gallery to the recogniser): ${Math.round(performance.now() - tStart)} ms`);
  const frame = (): RgbFrame => ({ width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).map((_, i) => (i * 7) % 251) });

  const measure = mainThreadCost;

  /** Offers frames until `done` (each one analysed before the next is offered). */
  async function show(done: () => boolean): Promise<void> {
    while (!done()) {
      const seen = rec.seen;
      pipeline.offer(frame());
      while (rec.seen === seen) await new Promise((r) => setImmediate(r));
      // the rest of the frame's handling (the decision) runs before the next is offered
      await new Promise((r) => setImmediate(r));
    }
  }

  const card: Array<{ busy: number; wall: number }> = [];
  const reload: Array<{ busy: number; wall: number }> = [];
  let kept = 0;
  for (let i = 0; i < RUNS; i++) {
    const id = `v${String(i).padStart(5, '0')}`;
    now = NOON + i * 3_600_000;
    // the previous villager leaves (the door's window resets), the next one steps up
    rec.face = null;
    const gone = rec.seen + config.match.face_gone_frames;
    await show(() => rec.seen >= gone);
    rec.face = near(enrolled.get(id) as Float32Array, 0.33);
    const before = decisions.length;
    await show(() => decisions.length > before);
    const face = decisions[before] as EntryDecision;
    if (face.decision !== 'uncertain') throw new Error(`the face of ${id} was decided ${face.decision}, not uncertain`);
    let d: EntryDecision | undefined;
    card.push(await measure(async () => { d = await pipeline.presentCode(`PB-${String(i).padStart(4, '0')}-BNCH`); }));
    if (!d?.unlocked) throw new Error(`the card of ${id} did not open the door: ${JSON.stringify(d)}`);
    if (countPending(db, new Date(now).toISOString(), id) > 0) kept++;
    reload.push(await measure(() => pipeline.reloadVillager(id)));
  }
  await pipeline.stop();
  db.close();
  const out = (xs: Array<{ busy: number; wall: number }>) => ({ busyMs: summarise(xs.map((x) => x.busy)), wallMs: summarise(xs.map((x) => x.wall)) });
  const result = { villagers: VILLAGERS, templates: VILLAGERS * TEMPLATES, runs: RUNS, kept, refused: Object.fromEntries(refused), card: out(card), reloadVillager: out(reload) };
  log(`card after an uncertain face: main thread CPU p50 ${round(result.card.busyMs.p50, 1)} ms, max ${round(result.card.busyMs.max, 1)} ms (wall p50 ${round(result.card.wallMs.p50, 1)} ms); pending kept ${kept} of ${RUNS} ${JSON.stringify(Object.fromEntries(refused))}`);
  log(`reloadVillager: main thread CPU p50 ${round(result.reloadVillager.busyMs.p50, 1)} ms, max ${round(result.reloadVillager.busyMs.max, 1)} ms`);
  report(result);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
