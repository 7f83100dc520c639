/**
 * bench:sync — drain 10,000 offline events from 50 simulated stores (each its own store
 * ledger file and sync agent, one village per store so the rebroadcast fan-out stays one)
 * into one village ledger, with the broker restarted at least 5 times during the drain
 * (the in-process aedes; a broker at MQTT_URL cannot be restarted from here and reports 0).
 * `raw_qos1_per_s` is plain QoS 1 publishing to the same broker in the same run, from the
 * main thread, with 100 messages in flight. The stores and the embedded broker share the main
 * thread; the village ledger runs on a thread of its own (bench/sync-ledger-worker.ts), as the
 * town runs it as a process of its own.
 * The stores start level with the ledger (their earlier rows held there, the stream applied),
 * then drain what they sold offline.
 * Options: --stores N --events N. Prints one JSON object on its last line. For profiling:
 * BENCH_RESTARTS=n restarts the broker n times instead of 5 (the JSON says how many), and
 * BENCH_TRACE=1 prints the progress to stderr every poll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPublicKey } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { openLedger, closeLedger, inTransaction, type Db } from '../edge/ledger/db.ts';
import { addVillager } from '../edge/ledger/villagers.ts';
import { applyEntry } from '../edge/ledger/entries.ts';
import { countOutbox, markOutboxAckedSeqs, pendingOutbox } from '../edge/ledger/outbox.ts';
import { silentLogger } from '../edge/log.ts';
import { SyncAgent, loadOrCreateStoreKey, storeClientId } from '../cloud-sync/agent/agent.ts';
import { storeTopic } from '../cloud-sync/protocol/topics.ts';
import { SyncMqtt } from '../cloud-sync/mqtt.ts';
import { Worker } from 'node:worker_threads';
import { addVillage, registerStore, upsertVillager, villageSeq } from '../cloud-sync/ledger/tables.ts';
import { applyStoreRows } from '../cloud-sync/ledger/rows.ts';
import { setInboundSeq } from '../edge/ledger/sync-state.ts';
import { newKeyPair, privateEd25519 } from '../cloud-sync/protocol/sign.ts';
import type { LedgerWorkerData, LedgerWorkerReply } from './sync-ledger-worker.ts';
import { brokerKind, fastSync, ledgerDbKind, startBroker, tempLedgerDb, uid } from '../harness/sync/rig.ts';
import { report, round } from './stats.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const STORES = arg('stores', 50);
const EVENTS = arg('events', 10_000);
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 5);

/**
 * Plain QoS 1 publishing as fast as the broker acknowledges: a sliding window of `inFlight`
 * messages (a new one goes out as each PUBACK returns), not rounds of `inFlight` awaited
 * together. Rounds stall on the slowest acknowledgement of each round, which on a broker that
 * batches its small PUBACKs (Mosquitto without TCP_NODELAY) measured the delayed-ACK timer,
 * not the broker.
 */
async function rawQos1(url: string, n: number, inFlight = 100): Promise<number> {
  const m = new SyncMqtt({ url, clientId: uid('raw-'), persistentSession: false });
  const up = new Promise<void>((resolve) => m.once('connect', resolve));
  m.start([]);
  await up;
  const topic = `bench/${uid('raw')}`;
  const payload = JSON.stringify({ filler: 'x'.repeat(300) });
  let next = 0;
  let failed = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      if (!(await m.publish(topic, payload))) failed++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  const s = (performance.now() - t0) / 1000;
  await m.stop();
  if (failed > 0) throw new Error(`raw QoS 1: ${failed} of ${n} publishes failed`);
  return n / s;
}

const broker = await startBroker();
const { db: ledgerDb, where, drop } = await tempLedgerDb();
const ledgerKey = newKeyPair();
const signer = { key: privateEd25519('ledger-1', ledgerKey.privatePem), lifetimeMs: 86_400_000 };
const root = mkdtempSync(path.join(process.env.BENCH_DIR ?? tmpdir(), 'bench-sync-'));
const stores: { dir: string; db: Db; agent: SyncAgent }[] = [];
const run = uid('b');
for (let i = 0; i < STORES; i++) {
  const village = `${run}v${i}`;
  const store = `s${i}`;
  const dir = path.join(root, store);
  const db = openLedger(path.join(dir, 'ledger.sqlite'));
  await addVillage(ledgerDb, village, `村${i}`, new Date().toISOString());
  await upsertVillager(ledgerDb, { id: `${run}p${i}`, name: `村民${i}`, village, status: 'active' }, signer, new Date());
  // The store knows the villager and a large balance already (as after a snapshot), then sells offline.
  addVillager(db, { id: `${run}p${i}`, name: `村民${i}`, village });
  applyEntry(db, { id: `${run}seed${i}`, villagerId: `${run}p${i}`, kind: 'award', points: 1_000_000, origin: 'cli' }, { creditFloor: 0 });
  // ... and the ledger holds those rows (they were drained before the store went offline).
  const synced = pendingOutbox(db);
  markOutboxAckedSeqs(db, synced.map((r) => r.seq), new Date().toISOString());
  const per = Math.floor(EVENTS / STORES) + (i < EVENTS % STORES ? 1 : 0);
  inTransaction(db, 'recording offline sales', () => {
    for (let k = 0; k < per; k++) applyEntry(db, { id: `${run}r${i}-${k}`, villagerId: `${run}p${i}`, kind: 'redemption', points: -1, origin: 'store' }, { creditFloor: 0 });
  });
  const key = loadOrCreateStoreKey(dir, 'store');
  broker.leaves(storeClientId({ village, store }), [storeTopic({ village, store }, 'status')]);
  await registerStore(ledgerDb, village, store, 'store', createPublicKey(key.key).export({ type: 'spki', format: 'pem' }).toString());
  await applyStoreRows(ledgerDb, village, store, synced.map((r) => ({ id: `${store}:${r.seq}`, seq: r.seq, topic: r.topic, payload: r.payload, created_at: r.createdAt })), signer, new Date());
  // It had applied the village stream up to here before it went offline.
  setInboundSeq(db, await villageSeq(ledgerDb, village));
  stores.push({ dir, db, agent: new SyncAgent({ db: () => db, dataDir: dir, address: { village, store }, rules: { creditFloor: 0 }, log: silentLogger(), config: fastSync({ broker_url: broker.url, reconnect_ms: 100, heartbeat_s: 30, poll_ms: 50, retransmit_ms: 2000, retransmit_max_ms: 8000, ledger_public_keys: [{ id: 'ledger-1', pem: ledgerKey.publicPem }] }) }) });
}

const raw = await rawQos1(broker.url, EVENTS);
const ledgerClientId = uid('ledger-');
broker.leaves(ledgerClientId);
const ledger = await startLedgerWorker({ where, brokerUrl: broker.url, clientId: ledgerClientId, keyId: 'ledger-1', privatePem: ledgerKey.privatePem, reconnectMs: 100 });
const received = async (): Promise<{ n: number; distinct: number }> => {
  const r = await ledgerDb.query<{ n: number | string; d: number | string }>("SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM entries WHERE kind = 'redemption' AND village LIKE $1", [`${run}v%`]);
  return { n: Number(r[0]!.n), distinct: Number(r[0]!.d) };
};
const t0 = performance.now();
for (const s of stores) s.agent.start();
let restarts = 0;
for (;;) {
  // The ledger's own count of rows applied: a COUNT over the entries table every poll would
  // load the ledger's database with the benchmark's work. The JSON's figures come from the table.
  const got = (await ledger.counters()).rows;
  if (process.env.BENCH_TRACE) {
    const c = await ledger.counters();
    process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(2)} got=${got} restarts=${restarts} pending=${stores.reduce((n, s) => n + countOutbox(s.db).pending, 0)} rows=${c.rows} dup=${c.duplicates} snaps=${c.snapshots} deltas=${c.deltas}\n`);
  }
  if (got >= EVENTS && stores.every((s) => countOutbox(s.db).pending === 0)) break;
  if (brokerKind === 'aedes' && restarts < RESTARTS && got >= ((restarts + 1) * EVENTS) / (RESTARTS + 1)) {
    await broker.stop();
    await broker.start();
    restarts++;
  }
  await new Promise((r) => setTimeout(r, 20));
}
const drainS = (performance.now() - t0) / 1000;
for (const s of stores) {
  await s.agent.stop();
  closeLedger(s.db);
}
await ledger.stop();
const final = await received();
await drop();
await broker.close();
rmSync(root, { recursive: true, force: true });
type Counters = Extract<LedgerWorkerReply, { type: 'counters' }>;

/** The village ledger on its own thread (bench/sync-ledger-worker.ts), once it is connected. */
async function startLedgerWorker(data: LedgerWorkerData): Promise<{ counters(): Promise<Counters>; stop(): Promise<void> }> {
  const worker = new Worker(new URL('./sync-ledger-worker.mjs', import.meta.url), { workerData: data });
  const waiting: ((r: LedgerWorkerReply) => void)[] = [];
  worker.on('error', (err) => {
    process.stderr.write(`the ledger worker failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
  worker.on('message', (r: LedgerWorkerReply) => waiting.shift()?.(r));
  const next = (): Promise<LedgerWorkerReply> => new Promise((resolve) => waiting.push(resolve));
  const ask = (m: 'counters' | 'stop'): Promise<LedgerWorkerReply> => {
    const answer = next();
    worker.postMessage(m);
    return answer;
  };
  await next(); // ready
  return {
    counters: async () => {
      const r = await ask('counters');
      if (r.type !== 'counters') throw new Error(`the ledger worker answered ${r.type}`);
      return r;
    },
    stop: async () => {
      await ask('stop');
    },
  };
}

report({
  broker: brokerKind, ledger_db: ledgerDbKind, stores: STORES, events: EVENTS, drain_s: round(drainS, 2), events_per_s: round(EVENTS / drainS, 0),
  raw_qos1_per_s: round(raw, 0), ratio_to_raw: round(EVENTS / drainS / raw, 3), broker_restarts: restarts,
  lost: Math.max(0, EVENTS - final.distinct), duplicated: final.n - final.distinct,
});
