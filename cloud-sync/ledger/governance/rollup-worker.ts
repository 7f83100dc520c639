/**
 * The worker thread of the town roll-up on SQLite (rollup-runner.ts): a read-only connection
 * of its own to the ledger file, and the same `rollup()` the main thread would run. Requests
 * are answered one after another, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteReadOnly } from '../sql.ts';
import { rollup, type Period, type RollupTable } from './rollup.ts';

export interface RollupRequest { id: number; villages: string[]; period: Period; only: RollupTable[] }

const db = openSqliteReadOnly((workerData as { file: string }).file);
parentPort!.on('message', (req: RollupRequest) => {
  rollup(db, req.villages, req.period, req.only).then(
    (result) => parentPort!.postMessage({ id: req.id, ok: true, result }),
    (err: unknown) => parentPort!.postMessage({ id: req.id, ok: false, message: (err as Error)?.message ?? String(err), code: (err as { code?: string })?.code }),
  );
});
