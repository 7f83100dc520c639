/**
 * bench:sync's simulated stores, a share of them on one thread. In the village each store is a
 * PC of its own: its SQLite commits (an fsync of several milliseconds each) stall only itself.
 * Here the stores are spread over a few threads, none of them the broker's or the ledger's, so
 * a commit stalls only the stores that share its thread. Each opens the store ledger file the
 * main thread prepared and runs the real SyncAgent over it.
 * Requests: `start` (the agents connect and drain), `pending` (outbox rows not yet
 * acknowledged, summed over this thread's stores), `stop` (agents stopped, files closed).
 */
import path from 'node:path';
import { openLedger, closeLedger, type Db } from '../edge/ledger/db.ts';
import { countPendingOutbox } from '../edge/ledger/outbox.ts';
import { silentLogger } from '../edge/log.ts';
import { SyncAgent } from '../cloud-sync/agent/agent.ts';
import { SyncMqtt } from '../cloud-sync/mqtt.ts';
import { uid } from '../harness/sync/rig.ts';
import type { SyncConfig } from '../cloud-sync/agent/config.ts';
import { traceBusy } from '../cloud-sync/trace.ts';
import { closeThread, serveThread, threadData } from './sync-threads.ts';

export interface StoresWorkerData {
  stores: { dir: string; village: string; store: string }[];
  config: SyncConfig;
  /** The broker itself, for the warm-up connection (the stores' uplink may still be down). */
  brokerUrl: string;
}

export type StoresRequest = 'start' | 'pending' | 'stop';

const data = threadData<StoresWorkerData>();
// A store PC that comes back online has its code loaded long since: mqtt.js loads its transport
// modules at the first connect, which on this thread (its modules compiled on the fly, by the
// loader thread all threads share) took seconds. One throwaway connection loads them before
// the drain is timed.
const warm = new SyncMqtt({ url: data.brokerUrl, clientId: uid('warm-'), persistentSession: false });
const connected = new Promise<void>((resolve) => warm.once('connect', () => resolve()));
warm.start([]);
await connected;
await warm.publish(`bench/${uid('warm')}`, 'warm');
await warm.stop();

const stores: { db: Db; agent: SyncAgent }[] = data.stores.map(({ dir, village, store }) => {
  const db = openLedger(path.join(dir, 'ledger.sqlite'));
  return { db, agent: new SyncAgent({ db: () => db, dataDir: dir, address: { village, store }, rules: { creditFloor: 0 }, log: silentLogger(), config: data.config }) };
});

traceBusy(`stores${data.stores[0]?.store ?? ''}`);
serveThread<StoresRequest, number | null, null>(null, async (req) => {
  switch (req) {
    case 'start':
      for (const s of stores) s.agent.start();
      return null;
    case 'pending':
      return stores.reduce((n, s) => n + countPendingOutbox(s.db), 0);
    case 'stop':
      for (const s of stores) {
        await s.agent.stop();
        closeLedger(s.db);
      }
      setImmediate(closeThread);
      return null;
  }
});
