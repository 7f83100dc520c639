/**
 * Where the town roll-up runs. On SQLite, better-sqlite3 answers synchronously: a town-year's
 * roll-up held the ledger's event loop about a second (MQTT acknowledgements, the phone
 * pages, every API call waited behind it). So there it runs on a worker thread with a
 * read-only connection of its own (WAL lets it read beside the writer), started at the first
 * roll-up and kept. On PostgreSQL the database server does the work and the event loop only
 * waits, so it runs in place. An in-memory SQLite database (no file) also runs in place.
 */
import { Worker } from 'node:worker_threads';
import { EdgeError, ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { rollup, type Period, type Rollup, type RollupTable } from './rollup.ts';

const ALL: RollupTable[] = ['months', 'items', 'participation', 'sales'];
type Answer = { id: number; ok: true; result: Rollup } | { id: number; ok: false; message: string; code?: string };

export class RollupRunner {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Rollup) => void; reject: (e: Error) => void }>();

  constructor(private readonly db: SqlDb) {}

  /** Whether roll-ups leave this thread. */
  get offThread(): boolean {
    return this.db.dialect === 'sqlite' && this.db.file !== undefined && this.db.file !== '' && this.db.file !== ':memory:';
  }

  run(villages: string[], period: Period, only: readonly RollupTable[] = ALL): Promise<Rollup> {
    if (!this.offThread) return rollup(this.db, villages, period, only);
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<Rollup>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, villages, period, only: [...only] });
    });
  }

  /** Starts the worker now (the ledger process does at start), so the first roll-up does not wait for it to load. */
  warm(): void {
    if (this.offThread) this.started();
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./rollup-worker-entry.mjs', import.meta.url), { workerData: { file: this.db.file } });
    // an idle roll-up thread never keeps the ledger's process alive
    w.unref();
    w.on('message', (a: Answer) => {
      const p = this.pending.get(a.id);
      this.pending.delete(a.id);
      if (!p) return;
      if (a.ok) p.resolve(a.result);
      // 500: a roll-up that fails is the ledger's fault, not the request's (the API maps other EdgeErrors to 400)
      else p.reject(new EdgeError(ErrorCode.INTERNAL, `the roll-up failed: ${a.message}`, { zh: '汇总统计失败', details: { status: 500 } }));
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new EdgeError(ErrorCode.INTERNAL, `the roll-up's worker stopped: ${err.message}`, { zh: '汇总统计线程异常退出，请重试', cause: err, details: { status: 500 } }));
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = w;
    return w;
  }
}
