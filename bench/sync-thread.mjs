// Thread bootstrap for bench:sync (bench/sync-threads.ts): a worker thread does not inherit
// tsx's loader, so register it here, then load the TypeScript module of the thread's role.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
const roles = {
  broker: './sync-broker-worker.ts',
  ledger: './sync-ledger-worker.ts',
  stores: './sync-stores-worker.ts',
};
const module = roles[workerData?.role];
if (!module) throw new Error(`bench:sync thread: unknown role ${String(workerData?.role)}`);
await import(module);
