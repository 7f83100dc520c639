/**
 * The sync test rig: a broker (aedes in-process on an ephemeral port, or the broker at
 * MQTT_URL), a village ledger (SQLite in a temp folder, or a schema of its own on the
 * PostgreSQL at DATABASE_URL), and stores with their sync agents. Every run uses its own
 * village id, so runs sharing a Mosquitto never see each other's traffic.
 */
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import pg from 'pg';
import { Value } from '@sinclair/typebox/value';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import type { Clock } from '../../edge/ledger/time.ts';
import { silentLogger } from '../../edge/log.ts';
import { SyncAgent, type SyncAgentDeps } from '../../cloud-sync/agent/agent.ts';
import { loadOrCreateStoreKey, storeClientId } from '../../cloud-sync/agent/identity.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { SyncConfigSchema, type SyncConfig } from '../../cloud-sync/agent/config.ts';
import { openPostgres, openSqlite, type SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { LedgerService, type LedgerServiceOptions } from '../../cloud-sync/ledger/service.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { spawnMosquitto } from './mosquitto.ts';
import { createPublicKey } from 'node:crypto';

export const brokerKind = process.env.MQTT_URL || process.env.MQTT_SPAWN === 'mosquitto' ? 'mosquitto' : 'aedes';
/** Whether `Broker.stop`/`start` restart the broker: aedes in-process, or a Mosquitto of the run's own (MQTT_SPAWN=mosquitto, harness/sync/mosquitto.ts); not the one at MQTT_URL. */
export const brokerRestartable = !process.env.MQTT_URL;
export const ledgerDbKind = process.env.DATABASE_URL ? 'postgres' : 'sqlite';

export const uid = (p: string): string => `${p}${randomBytes(4).toString('hex')}`;

export interface Broker {
  url: string;
  /** Drop every connection and stop listening; `start` listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Discards the sessions and retained topics named by `leaves`, then closes (aedes) or leaves the broker be (MQTT_URL). */
  close(): Promise<void>;
  /**
   * A client id whose persistent session (clean: false) this run opened, and retained topics it
   * published: `close` discards them, so repeated runs on a shared broker (Mosquitto keeps
   * sessions across restarts) do not pile up queued messages for clients that never return.
   */
  leaves(clientId: string, retainedTopics?: string[]): void;
  /**
   * aedes only: refuse the connections of these client ids (their line to the broker is down)
   * until called with none; each attempt is closed unanswered (aedes's `preConnect`), on the
   * broker's own thread. Throws with MQTT_URL: that broker cannot be told.
   */
  refuse(clientIds: readonly string[]): void;
}

/**
 * Ends persistent sessions: connecting with clean: true under a client id discards what the
 * broker kept for it (MQTT 3.1.1, 3.1.2.4), and an empty retained message clears a topic.
 * Call once those clients have stopped (a connection under the same id would push them off).
 */
export async function discardSessions(url: string, clientIds: Iterable<string>, retainedTopics: Iterable<string> = []): Promise<void> {
  const connect = async (clientId: string): Promise<SyncMqtt> => {
    const m = new SyncMqtt({ url, clientId, persistentSession: false, reconnectMs: 100 });
    let timer: NodeJS.Timeout | undefined;
    const up = new Promise<void>((resolve, reject) => {
      m.once('connect', () => resolve());
      timer = setTimeout(() => reject(new Error(`cannot reach the broker at ${url} to discard the session of ${clientId}`)), 10_000);
    });
    m.start([]);
    try {
      await up;
    } catch (err) {
      await m.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return m;
  };
  const ids = [...new Set(clientIds)];
  const topics = [...new Set(retainedTopics)];
  await Promise.all(ids.map(async (id, i) => {
    const m = await connect(id);
    if (i === 0) for (const t of topics) await m.publish(t, '', { retain: true });
    await m.stop();
  }));
  if (ids.length === 0 && topics.length > 0) {
    const m = await connect(uid('cleanup-'));
    for (const t of topics) await m.publish(t, '', { retain: true });
    await m.stop();
  }
}

/**
 * aedes in-process; with MQTT_URL set, that broker (which the test cannot restart); with
 * MQTT_SPAWN=mosquitto, a Mosquitto of the run's own, which it can.
 */
export async function startBroker(): Promise<Broker> {
  const sessions = new Set<string>();
  const retained = new Set<string>();
  const leaves = (clientId: string, topics: string[] = []): void => {
    sessions.add(clientId);
    for (const t of topics) retained.add(t);
  };
  if (!process.env.MQTT_URL && process.env.MQTT_SPAWN === 'mosquitto') {
    const m = await spawnMosquitto();
    const refuse = (): void => {
      throw new Error('a spawned Mosquitto cannot be told to refuse clients (aedes only) / Mosquitto 无法拒绝指定客户端（仅内置 aedes 支持）');
    };
    return { url: m.url, start: m.start, stop: m.stop, close: m.close, leaves, refuse };
  }
  if (process.env.MQTT_URL) {
    const url = process.env.MQTT_URL;
    const refuse = (): void => {
      throw new Error(`the broker at ${url} cannot be told to refuse clients (aedes only) / 外部代理 ${url} 无法拒绝指定客户端（仅内置 aedes 支持）`);
    };
    return { url, stop: async () => undefined, start: async () => undefined, close: () => discardSessions(url, sessions, retained), leaves, refuse };
  }
  let refused = new Set<string>();
  const refuse = (clientIds: readonly string[]): void => {
    refused = new Set(clientIds);
  };
  let port = 0;
  let aedes: Aedes | undefined;
  let server: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  const start = async (): Promise<void> => {
    aedes = await Aedes.createBroker({
      preConnect: (_client, packet, done) => (refused.has(packet.clientId) ? done(new Error(`${packet.clientId} is offline`), false) : done(null, true)),
    });
    const a = aedes;
    server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      a.handle(s);
    });
    const srv = server;
    await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', resolve));
    port = (srv.address() as net.AddressInfo).port;
  };
  const stop = async (): Promise<void> => {
    const srv = server;
    const a = aedes;
    server = undefined;
    aedes = undefined;
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (srv ? srv.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (a ? a.close(() => resolve()) : resolve()));
  };
  await start();
  const url = `mqtt://127.0.0.1:${port}`;
  // The same discarding as on a shared broker, so that the default run exercises it too.
  const close = async (): Promise<void> => {
    if (server) await discardSessions(url, sessions, retained);
    await stop();
  };
  return { url, start, stop, close, leaves, refuse };
}

/** A bare MQTT client on the rig's broker, for a test to publish what a store or the ledger would. */
export async function publisher(rig: { broker: Broker }): Promise<SyncMqtt> {
  const m = new SyncMqtt({ url: rig.broker.url, clientId: uid('test-'), persistentSession: false });
  const up = new Promise<void>((resolve) => m.once('connect', () => resolve()));
  m.start([]);
  await up;
  return m;
}

/** Where a ledger database lives, as `openLedgerDb` takes it (for another thread to open it too). */
export interface LedgerDbLocation { databaseUrl?: string; pgSchema?: string; sqliteFile: string }

/** A fresh village ledger database, migrated (to `upTo`, the newest by default); `drop` removes it. */
export async function tempLedgerDb(upTo?: number): Promise<{ db: SqlDb; where: LedgerDbLocation; drop: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const schema = uid('sync_test_');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const db = openPostgres(url, schema);
    await migrateLedger(db, upTo);
    return {
      db,
      where: { databaseUrl: url, pgSchema: schema, sqliteFile: '' },
      drop: async () => {
        await db.close();
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(`DROP SCHEMA ${schema} CASCADE`);
        await c.end();
      },
    };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'village-ledger-'));
  const sqliteFile = path.join(dir, 'ledger.sqlite');
  const db = openSqlite(sqliteFile);
  await migrateLedger(db, upTo);
  return { db, where: { sqliteFile }, drop: async () => { await db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

export const fastSync = (over: Partial<SyncConfig> = {}): SyncConfig => ({
  ...(Value.Default(SyncConfigSchema, {}) as SyncConfig),
  enabled: true,
  poll_ms: 20,
  retransmit_ms: 200,
  retransmit_max_ms: 1000,
  heartbeat_s: 1,
  ...over,
});

export interface Rig {
  broker: Broker;
  ledgerDb: SqlDb;
  /** The running village ledger (a new one after `startLedger`). */
  readonly ledger: LedgerService;
  /** The ledger service goes away (its database stays); its broker session keeps what arrives meanwhile. */
  stopLedger(): Promise<void>;
  /** The ledger service again, over the same database and broker session; `clock` for a simulated time. */
  startLedger(clock?: () => Date): void;
  village: string;
  /** The village ledger's MQTT client id (its broker session). */
  ledgerClientId: string;
  ledgerKey: ReturnType<typeof newKeyPair>;
  stores: TestStore[];
  /** `clock`: the store agent's time (a simulated day); the real one by default. */
  addStore(name?: string, over?: Partial<SyncConfig>, clock?: Clock, extra?: Pick<SyncAgentDeps, 'clockAlarm' | 'villagerIdTaken' | 'ledgerSilent'>): Promise<TestStore>;
  close(): Promise<void>;
}

export interface TestStore {
  id: string;
  dir: string;
  db: Db;
  agent: SyncAgent;
  /** Stop the agent (not the ledger file); `restart` makes a new agent over the same file. */
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/** `ledger`: the village ledger's catch-up bounds, for tests of deltas and heartbeats. */
export async function startRig(opts: { ledger?: Pick<LedgerServiceOptions, 'maxDeltas' | 'behindAfterMs' | 'catchUpBurst' | 'catchUpEveryMs' | 'snapshotBytes' | 'alarmKeepDays'> } = {}): Promise<Rig> {
  const broker = await startBroker();
  const { db: ledgerDb, drop } = await tempLedgerDb();
  const village = uid('v');
  const ledgerKey = newKeyPair();
  await addVillage(ledgerDb, village, '示范村', new Date().toISOString());
  const ledgerClientId = uid('ledger-');
  broker.leaves(ledgerClientId);
  const newLedger = (clock?: () => Date): LedgerService => new LedgerService({
    db: ledgerDb, key: privateEd25519('ledger-1', ledgerKey.privatePem), log: silentLogger(),
    mqtt: { url: broker.url, clientId: ledgerClientId, reconnectMs: 100 }, ...opts.ledger, ...(clock ? { clock } : {}),
  });
  let ledger: LedgerService | undefined = newLedger();
  ledger.start();
  const stores: TestStore[] = [];
  const rig: Rig = {
    broker, ledgerDb, village, ledgerClientId, ledgerKey, stores,
    get ledger() {
      if (!ledger) throw new Error('the village ledger is stopped');
      return ledger;
    },
    async stopLedger() {
      const l = ledger;
      ledger = undefined;
      await l?.stop();
    },
    startLedger(clock) {
      if (ledger) throw new Error('the village ledger is already running');
      ledger = newLedger(clock);
      ledger.start();
    },
    async addStore(name = uid('s'), over = {}, clock, extra = {}) {
      const dir = mkdtempSync(path.join(tmpdir(), 'sync-store-'));
      const db = openLedger(path.join(dir, 'ledger.sqlite'));
      const key = loadOrCreateStoreKey(dir, 'store');
      broker.leaves(storeClientId({ village, store: name }), [storeTopic({ village, store: name }, 'status'), storeTopic({ village, store: name }, 'alarms'), storeTopic({ village, store: name }, 'alarm-history')]);
      await registerStore(ledgerDb, village, name, 'store', createPublicKey(key.key).export({ type: 'spki', format: 'pem' }).toString());
      const make = () => new SyncAgent({
        // `s.db`, not `db`: a test may put another ledger file in its place (a restore).
        db: () => s.db, dataDir: dir, address: { village, store: name }, rules: { creditFloor: 0, store: name }, log: silentLogger(), ...(clock ? { clock } : {}), ...extra,
        config: fastSync({ broker_url: broker.url, ledger_public_keys: [{ id: 'ledger-1', pem: ledgerKey.publicPem }], ...over }),
      });
      const s: TestStore = {
        id: name, dir, db, agent: make(),
        stop: () => s.agent.stop(),
        restart: async () => { s.agent = make(); s.agent.start(); },
      };
      s.agent.start();
      stores.push(s);
      return s;
    },
    async close() {
      for (const s of stores) {
        await s.agent.stop();
        closeLedger(s.db);
        rmSync(s.dir, { recursive: true, force: true });
      }
      await ledger?.stop();
      await drop();
      await broker.close();
    },
  };
  return rig;
}

/** Polls `cond` until true; fails with `what` after `timeoutMs` (a bound, not a guess: passing runs return far earlier). */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
