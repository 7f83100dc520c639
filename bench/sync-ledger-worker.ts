/**
 * bench:sync's village ledger on a thread of its own. The town runs the ledger as a process of
 * its own (`store-edge ledger serve`), beside the broker and far from the stores. It opens the
 * database the main thread prepared and answers `stop`. Ready once connected: in the town the
 * ledger is up before the stores come back online.
 *
 * Its progress (rows applied, duplicates, snapshots, deltas) is mirrored into shared memory as
 * the ledger counts it, for the main thread to read without asking: on SQLite the ledger works
 * through a queue of messages in one run of its event loop (every query resolves at once), so
 * a question by message waited seconds for an answer, and the broker restarts that hang on the
 * progress came too late or not at all.
 */
import { silentLogger } from '../edge/log.ts';
import { LedgerService } from '../cloud-sync/ledger/service.ts';
import { openLedgerDb } from '../cloud-sync/ledger/sql.ts';
import { privateEd25519 } from '../cloud-sync/protocol/sign.ts';
import type { LedgerDbLocation } from '../harness/sync/rig.ts';
import { traceBusy } from '../cloud-sync/trace.ts';
import { CONNECTS, PROGRESS, closeThread, serveThread, threadData } from './sync-threads.ts';

export interface LedgerWorkerData {
  where: LedgerDbLocation;
  brokerUrl: string;
  clientId: string;
  keyId: string;
  privatePem: string;
  reconnectMs: number;
  /** Int32 × (PROGRESS.length + 1): the counters, then CONNECTS. */
  progress: SharedArrayBuffer;
}

export type LedgerRequest = 'stop';

const data = threadData<LedgerWorkerData>();
const db = openLedgerDb(data.where);
const ledger = new LedgerService({
  db, key: privateEd25519(data.keyId, data.privatePem), log: silentLogger(),
  mqtt: { url: data.brokerUrl, clientId: data.clientId, reconnectMs: data.reconnectMs },
});
const shared = new Int32Array(data.progress);
PROGRESS.forEach((name, i) => {
  let value = ledger.counters[name];
  Atomics.store(shared, i, value);
  Object.defineProperty(ledger.counters, name, {
    enumerable: true,
    get: () => value,
    set: (n: number) => {
      value = n;
      Atomics.store(shared, i, n);
    },
  });
});
ledger.start();
await new Promise<void>((resolve) => {
  const up = setInterval(() => {
    if (!ledger.connected) return;
    clearInterval(up);
    resolve();
  }, 5);
});

// Each connection to the broker counted, for the main thread to restart the broker only once
// the ledger is back from the last restart (bench/sync.ts). Polled: the service has no connect
// event for its callers, and a restart keeps the ledger away for at least its reconnect period.
let wasConnected = false;
const link = setInterval(() => {
  if (ledger.connected && !wasConnected) Atomics.add(shared, CONNECTS, 1);
  wasConnected = ledger.connected;
}, 5);
link.unref();

traceBusy('ledger');
serveThread<LedgerRequest, null, null>(null, async () => {
  clearInterval(link);
  await ledger.stop();
  await db.close();
  setImmediate(closeThread);
  return null;
});
