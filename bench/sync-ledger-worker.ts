/**
 * bench:sync's village ledger on a thread of its own. The town runs the ledger as a process of
 * its own (`store-edge ledger serve`), beside the broker and far from the stores; in the
 * benchmark the 50 simulated stores and the embedded broker share the main thread, and the
 * ledger sharing it too would make the figure measure the simulation's own work as ledger
 * time. It opens the database the main thread prepared and talks to it by messages:
 * `counters` (answered with the ledger's counters) and `stop` (answered with `stopped`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { silentLogger } from '../edge/log.ts';
import { LedgerService } from '../cloud-sync/ledger/service.ts';
import { openLedgerDb } from '../cloud-sync/ledger/sql.ts';
import { privateEd25519 } from '../cloud-sync/protocol/sign.ts';
import type { LedgerDbLocation } from '../harness/sync/rig.ts';

export interface LedgerWorkerData {
  where: LedgerDbLocation;
  brokerUrl: string;
  clientId: string;
  keyId: string;
  privatePem: string;
  reconnectMs: number;
}

export type LedgerWorkerReply =
  | { type: 'ready' }
  | { type: 'counters'; rows: number; duplicates: number; snapshots: number; deltas: number }
  | { type: 'stopped' };

const data = workerData as LedgerWorkerData;
const port = parentPort!;
const db = openLedgerDb(data.where);
const ledger = new LedgerService({
  db, key: privateEd25519(data.keyId, data.privatePem), log: silentLogger(),
  mqtt: { url: data.brokerUrl, clientId: data.clientId, reconnectMs: data.reconnectMs },
});
const reply = (m: LedgerWorkerReply): void => port.postMessage(m);

port.on('message', (m: 'counters' | 'stop') => {
  if (m === 'counters') {
    const c = ledger.counters;
    reply({ type: 'counters', rows: c.rows, duplicates: c.duplicates, snapshots: c.snapshots, deltas: c.deltas });
    return;
  }
  void (async () => {
    await ledger.stop();
    await db.close();
    reply({ type: 'stopped' });
    port.close();
  })();
});

ledger.start();
// Ready once connected: in the town the ledger is up before the stores come back online.
const ready = setInterval(() => {
  if (!ledger.connected) return;
  clearInterval(ready);
  reply({ type: 'ready' });
}, 5);
