/**
 * bench:sync — drain 10,000 offline events from 50 simulated stores (each its own store
 * ledger file and sync agent, one village per store so the rebroadcast fan-out stays one)
 * into one village ledger, with the broker restarted at least 5 times during the drain
 * (the in-process aedes; a broker at MQTT_URL cannot be restarted from here and reports 0).
 * `raw_qos1_per_s` is plain QoS 1 publishing to the same broker in the same run.
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
import { SyncAgent, loadOrCreateStoreKey } from '../cloud-sync/agent/agent.ts';
import { SyncMqtt } from '../cloud-sync/mqtt.ts';
import { LedgerService } from '../cloud-sync/ledger/service.ts';
import { addVillage, applyStoreRows, registerStore, upsertVillager, villageSeq } from '../cloud-sync/ledger/tables.ts';
import { setInboundSeq } from '../edge/ledger/sync-state.ts';
import { newKeyPair, privateEd25519 } from '../cloud-sync/protocol/sign.ts';
import { brokerKind, fastSync, ledgerDbKind, startBroker, tempLedgerDb, uid } from '../harness/sync/rig.ts';
import { report, round } from './stats.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const STORES = arg('stores', 50);
const EVENTS = arg('events', 10_000);
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 5);

async function rawQos1(url: string, n: number): Promise<number> {
  const m = new SyncMqtt({ url, clientId: uid('raw-'), persistentSession: false });
  const up = new Promise<void>((resolve) => m.once('connect', resolve));
  m.start([]);
  await up;
  const topic = `bench/${uid('raw')}`;
  const payload = JSON.stringify({ filler: 'x'.repeat(300) });
  const t0 = performance.now();
  for (let i = 0; i < n; i += 100) await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => m.publish(topic, payload)));
  const s = (performance.now() - t0) / 1000;
  await m.stop();
  return n / s;
}

const broker = await startBroker();
const { db: ledgerDb, drop } = await tempLedgerDb();
const ledgerKey = newKeyPair();
const signer = { key: privateEd25519('ledger-1', ledgerKey.privatePem), lifetimeMs: 86_400_000 };
const ledger = new LedgerService({ db: ledgerDb, key: signer.key, log: silentLogger(), mqtt: { url: broker.url, clientId: uid('ledger-'), reconnectMs: 100 } });
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
  await registerStore(ledgerDb, village, store, 'store', createPublicKey(key.key).export({ type: 'spki', format: 'pem' }).toString());
  await applyStoreRows(ledgerDb, village, store, synced.map((r) => ({ id: `${store}:${r.seq}`, seq: r.seq, topic: r.topic, payload: r.payload, created_at: r.createdAt })), signer, new Date());
  // It had applied the village stream up to here before it went offline.
  setInboundSeq(db, await villageSeq(ledgerDb, village));
  stores.push({ dir, db, agent: new SyncAgent({ db: () => db, dataDir: dir, address: { village, store }, rules: { creditFloor: 0 }, log: silentLogger(), config: fastSync({ broker_url: broker.url, reconnect_ms: 100, heartbeat_s: 30, poll_ms: 50, retransmit_ms: 2000, retransmit_max_ms: 8000, ledger_public_keys: [{ id: 'ledger-1', pem: ledgerKey.publicPem }] }) }) });
}

const raw = await rawQos1(broker.url, EVENTS);
ledger.start();
const received = async (): Promise<{ n: number; distinct: number }> => {
  const r = await ledgerDb.query<{ n: number | string; d: number | string }>("SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM entries WHERE kind = 'redemption' AND village LIKE $1", [`${run}v%`]);
  return { n: Number(r[0]!.n), distinct: Number(r[0]!.d) };
};
const t0 = performance.now();
for (const s of stores) s.agent.start();
let restarts = 0;
for (;;) {
  const got = (await received()).n;
  if (process.env.BENCH_TRACE) process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(2)} got=${got} restarts=${restarts} pending=${stores.reduce((n, s) => n + countOutbox(s.db).pending, 0)} rows=${ledger.counters.rows} dup=${ledger.counters.duplicates} snaps=${ledger.counters.snapshots} deltas=${ledger.counters.deltas} ${JSON.stringify(Object.fromEntries(Object.entries(globalThis).filter(([k]) => k.startsWith('RS_'))))}\n`);
  if (got >= EVENTS && stores.every((s) => countOutbox(s.db).pending === 0)) break;
  if (brokerKind === 'aedes' && restarts < RESTARTS && got >= ((restarts + 1) * EVENTS) / (RESTARTS + 1)) {
    await broker.stop();
    await broker.start();
    restarts++;
  }
  await new Promise((r) => setTimeout(r, 50));
}
const drainS = (performance.now() - t0) / 1000;
const final = await received();
for (const s of stores) {
  await s.agent.stop();
  closeLedger(s.db);
}
await ledger.stop();
await drop();
await broker.close();
rmSync(root, { recursive: true, force: true });
report({
  broker: brokerKind, ledger_db: ledgerDbKind, stores: STORES, events: EVENTS, drain_s: round(drainS, 2), events_per_s: round(EVENTS / drainS, 0),
  raw_qos1_per_s: round(raw, 0), ratio_to_raw: round(EVENTS / drainS / raw, 3), broker_restarts: restarts,
  lost: Math.max(0, EVENTS - final.distinct), duplicated: final.n - final.distinct,
});
