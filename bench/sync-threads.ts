/**
 * The threads of bench:sync and how the main thread talks to them: each thread runs one role
 * (bench/sync-thread.mjs loads its module), says `ready` once it is up (with what the main
 * thread needs to know, e.g. the broker's address), then answers each request in turn.
 * Requests carry an id and are answered by id, so a slow answer never pairs with the wrong
 * question. A thread that fails ends the benchmark: its figures would be meaningless.
 */
import { Worker, parentPort, workerData } from 'node:worker_threads';

export type Role = 'broker' | 'ledger' | 'stores';

/** The ledger thread's counters mirrored, in this order, in shared memory (bench/sync-ledger-worker.ts). */
export const PROGRESS = ['rows', 'duplicates', 'snapshots', 'deltas'] as const;
/** After them, in the same shared memory: how many times the ledger thread has seen itself connected to the broker. */
export const CONNECTS = PROGRESS.length;

interface Request<Q> { id: number; req: Q }
type Reply<A> = { id: number; ok: true; reply: A } | { id: number; ok: false; error: string };
type Message<A, R> = { ready: R } | Reply<A>;

export interface Thread<Q, A, R> {
  /** What the thread said when it became ready. */
  readonly ready: R;
  ask(req: Q): Promise<A>;
  /** Ends the thread (after its own orderly stop, which the caller asks for first). */
  end(): Promise<void>;
}

/** Starts a thread of `role` with `data` (its workerData, beside the role) and waits until it is ready. */
export async function startThread<Q, A, R>(role: Role, data: object): Promise<Thread<Q, A, R>> {
  const worker = new Worker(new URL('./sync-thread.mjs', import.meta.url), { workerData: { ...data, role } });
  const waiting = new Map<number, { resolve: (a: A) => void; reject: (e: Error) => void }>();
  let next = 0;
  let onReady: (r: R) => void = () => undefined;
  const ready = new Promise<R>((resolve) => (onReady = resolve));
  worker.on('error', (err) => {
    process.stderr.write(`bench:sync: the ${role} thread failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
  worker.on('message', (m: Message<A, R>) => {
    if ('ready' in m) return onReady(m.ready);
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (!w) return;
    if (m.ok) w.resolve(m.reply);
    else w.reject(new Error(`the ${role} thread: ${m.error}`));
  });
  const r = await ready;
  return {
    ready: r,
    ask: (req) => new Promise<A>((resolve, reject) => {
      const id = ++next;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, req } satisfies Request<Q>);
    }),
    end: async () => {
      await worker.terminate();
    },
  };
}

/** In a thread: its data, as the main thread passed it. */
export const threadData = <T>(): T => workerData as T;

/** In a thread: say `ready` (with `info`), then answer each request with `handle`, in order of arrival. */
export function serveThread<Q, A, R>(info: R, handle: (req: Q) => A | Promise<A>): void {
  const port = parentPort;
  if (!port) throw new Error('bench:sync: a thread module was loaded outside a worker thread');
  let chain = Promise.resolve();
  port.on('message', (m: Request<Q>) => {
    chain = chain.then(async () => {
      try {
        port.postMessage({ id: m.id, ok: true, reply: await handle(m.req) } satisfies Reply<A>);
      } catch (err) {
        port.postMessage({ id: m.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies Reply<A>);
      }
    });
  });
  port.postMessage({ ready: info } satisfies Message<A, R>);
}

/** In a thread: let it end once its work is done (no open port keeps it alive). */
export function closeThread(): void {
  parentPort?.close();
}
