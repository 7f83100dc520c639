/**
 * `npx tsx bench/gallery-load.ts [--json] [--villagers N] [--runs R] [--dim D]`: what opening the
 * whole sealed (AES-256-GCM) template gallery costs the door's main thread, the thread that also
 * runs the sessions and polls the scales over Modbus.
 *
 * A ledger of N synthetic villagers (2,000) with 3–6 templates each (villager i has 3 + i mod 4),
 * every one consenting, D values per template (128). The real inference worker (EngineClient,
 * tiny detector, no liveness) holds the door's gallery. Measured R times (5) each, the two paths
 * interleaved (ABAB, then BABA):
 *
 * - `start`: the door's start and `reloadAll` (after the worker restarted): the whole gallery
 *   into the worker. `main`: opened on the main thread (`loadGallery`) and posted as descriptors;
 *   `worker`: the sealed rows posted, opened in the worker (`EntryPipeline.reloadAll`).
 * - `collision`: the look-alike check of an enrolment (FACE_COLLISION), 3 new templates against
 *   every other villager's. `main`: `findCollision` opening and searching on the main thread
 *   (`inProcess`, as the command line does); `worker`: the door's, opened and searched in the worker.
 *
 * For each: the main thread's CPU time (the kernel's account, so other processes on the cores do
 * not count), the wall time, the event loop's delay (perf_hooks.monitorEventLoopDelay, 1 ms
 * resolution: its max is the longest the loop was held) and the lateness of a 5 ms timer standing
 * in for the Modbus poll (its max: how late a poll went out).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { EngineClient } from '../models/engine-client.ts';
import { resolveEntryConfig } from '../edge/entry/config.ts';
import { findCollision, inProcess } from '../edge/entry/enrol.ts';
import { EntryPipeline } from '../edge/entry/pipeline.ts';
import { addTemplates, loadGallery, loadOrCreateTemplateKey } from '../edge/entry/templates.ts';
import { inTransaction, openLedger } from '../edge/ledger/db.ts';
import { addVillager, setFaceConsent } from '../edge/ledger/villagers.ts';
import { SyntheticDescriptors } from '../harness/synthetic-descriptors.ts';
import { mainThreadCost, positiveIntArg, report, round, summarise, wantsJson } from './stats.ts';

const args = process.argv.slice(2);
const json = wantsJson();
const count = (name: string, fallback: number): number => positiveIntArg(args, name, fallback);
const VILLAGERS = count('--villagers', 2000);
const RUNS = count('--runs', 5);
const DIM = count('--dim', 128);
if (DIM !== 128) {
  console.error(`--dim: 只支持 128（默认识别模型）/ --dim: only 128 (the default recognizer) is supported (got ${DIM})`);
  process.exit(2);
}
const log = (msg: string): void => { if (!json) console.error(msg); };

const synthetic = new SyntheticDescriptors(7, DIM);
const dir = mkdtempSync(path.join(tmpdir(), 'bench-gallery-'));
const engine = new EngineClient({ detector: 'tiny', detectorInputSize: 160, detectorMinScore: 0.5, liveness: false });
try {
  const db = openLedger(path.join(dir, 'ledger.sqlite'));
  const key = loadOrCreateTemplateKey(path.join(dir, 'keys', 'face-templates.key'));
  const config = resolveEntryConfig({});
  let rows = 0;
  inTransaction(db, 'bench gallery', () => {
    for (let i = 0; i < VILLAGERS; i++) {
      const id = `v${String(i).padStart(5, '0')}`;
      const anchor = synthetic.unit();
      const descriptors = [anchor, ...Array.from({ length: 2 + (i % 4) }, () => synthetic.near(anchor, 0.1))];
      addVillager(db, { id, name: id, village: 'bench' });
      setFaceConsent(db, id, 'self');
      rows += addTemplates(db, key, id, descriptors.map((d) => ({ descriptor: d, quality: 0.3, source: 'bench' })), '2026-12-01T00:00:00Z');
    }
  });
  log(`ledger: ${VILLAGERS} villagers, ${rows} templates of ${DIM} values`);
  await engine.start();
  const pipeline = new EntryPipeline({
    config, db, recogniser: engine, lock: { unlock: () => Promise.resolve() }, store: { isStoreBusy: () => false },
    camera: null, templateKey: key, qrPublicKey: null, logger: pino({ level: 'silent' }),
  });
  const newcomer = Array.from({ length: 3 }, () => ({ descriptor: synthetic.unit(), quality: 0.3, source: 'new.jpg' }));

  const ops = {
    start: {
      main: async () => { await engine.replaceGallery(loadGallery(db, key, config)); },
      worker: async () => { await pipeline.reloadAll(); },
    },
    collision: {
      main: async () => { if (await findCollision(db, key, 'newcomer', newcomer, config, inProcess)) throw new Error('collision'); },
      worker: async () => { if (await findCollision(db, key, 'newcomer', newcomer, config, engine)) throw new Error('collision'); },
    },
  } as const;

  // the stand-in for the Modbus poll: a 5 ms timer, and how late each tick fires
  const TICK = 5;
  let late: number[] = [];
  let expected = performance.now() + TICK;
  const poll = setInterval(() => {
    const t = performance.now();
    late.push(Math.max(0, t - expected));
    expected = t + TICK;
  }, TICK);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

  type Sample = { cpu: number; wall: number; loopMax: number; loopP99: number; pollLateMax: number };
  async function measure(fn: () => Promise<void>): Promise<Sample> {
    await settle();
    h.reset();
    // the histogram records a delay only between two of its own timer's turns: let one pass after the reset
    await new Promise((r) => setTimeout(r, 2));
    late = [];
    const { busy, wall } = await mainThreadCost(fn);
    // one more tick after the work, so the poll that was held by it reports its lateness
    await new Promise((r) => setTimeout(r, TICK * 2));
    return {
      cpu: busy,
      wall,
      loopMax: h.max / 1e6,
      loopP99: h.percentile(99) / 1e6,
      pollLateMax: Math.max(0, ...late),
    };
  }

  // warm-up: JIT, statements, the worker's first gallery
  for (const op of Object.values(ops)) { await op.main(); await op.worker(); }
  const samples: Record<string, Record<string, Sample[]>> = {};
  for (let r = 0; r < RUNS; r++) {
    for (const [name, op] of Object.entries(ops)) {
      const order = r % 2 === 0 ? (['main', 'worker'] as const) : (['worker', 'main'] as const);
      for (const p of order) {
        const s = await measure(op[p]);
        ((samples[name] ??= {})[p] ??= []).push(s);
      }
    }
  }
  clearInterval(poll);
  h.disable();

  const result: Record<string, unknown> = { villagers: VILLAGERS, templates: rows, dim: DIM, runs: RUNS };
  for (const [name, byPath] of Object.entries(samples)) {
    for (const [p, list] of Object.entries(byPath)) {
      const pick = (k: keyof Sample) => summarise(list.map((s) => s[k]));
      const row = { cpuMs: pick('cpu'), wallMs: pick('wall'), loopDelayMaxMs: pick('loopMax'), loopDelayP99Ms: pick('loopP99'), pollLateMaxMs: pick('pollLateMax') };
      result[`${name}.${p}`] = row;
      log(`${name.padEnd(9)} ${p.padEnd(6)}  main-thread CPU p50 ${round(row.cpuMs.p50, 1)} / max ${round(row.cpuMs.max, 1)} ms · wall p50 ${round(row.wallMs.p50, 1)} ms · loop delay max p50 ${round(row.loopDelayMaxMs.p50, 1)} / max ${round(row.loopDelayMaxMs.max, 1)} ms · 5 ms poll late max p50 ${round(row.pollLateMaxMs.p50, 1)} ms`);
    }
  }
  report(result);
} finally {
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
}
