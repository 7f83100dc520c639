/**
 * The main thread's handle on the inference worker. One request at a time is the caller's
 * business (the entry pipeline keeps only the newest frame); this class only correlates
 * replies, and fails every pending request if the worker dies.
 */
import { Worker } from 'node:worker_threads';
import { ModelError } from './errors.ts';
import type { AnalyseOptions, EngineKind, EngineOptions, FrameAnalysis, RgbFrame } from './face-types.ts';
import type { SealedBatch } from './sealed.ts';
import type { EngineStarted, Recognition, SealedNearest, ThreadMemory, WorkerConversion, WorkerRequest, WorkerResponse } from './protocol.ts';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export class EngineClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private exitListeners: Array<(err: Error) => void> = [];

  /** The runtime the worker's engine runs on, known after start. */
  engine: EngineKind = 'tfjs';
  /** Why `engine: onnx` fell back to tfjs at start, or null. */
  fallback: string | null = null;
  /** Models left on tfjs under the onnx engine, with the reason. */
  notes: string[] = [];

  constructor(private readonly opts: EngineOptions) {}

  async start(): Promise<void> {
    const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url));
    this.worker = worker;
    worker.on('message', (msg: WorkerResponse | WorkerConversion) => {
      if ('event' in msg) this.relayConversion(msg);
      else this.settle(msg);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      const err = new ModelError('ENGINE_STOPPED', `inference worker exited with code ${code}`);
      this.failAll(err);
      if (this.worker === worker) {
        this.worker = undefined;
        for (const l of this.exitListeners) l(err);
      }
    });
    try {
      // a function cannot cross to the worker: its steps come back as messages (relayConversion)
      const { onConversion: _listener, ...engine } = this.opts;
      const started = (await this.call({ op: 'start', engine })) as EngineStarted;
      this.engine = started.engine;
      this.fallback = started.fallback;
      this.notes = started.notes;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    await w.terminate();
    this.failAll(new ModelError('ENGINE_STOPPED', 'inference worker stopped'));
  }

  get running(): boolean { return this.worker !== undefined; }

  /** Called when the worker dies unexpectedly (not on stop()). */
  onExit(listener: (err: Error) => void): () => void {
    this.exitListeners.push(listener);
    return () => { this.exitListeners = this.exitListeners.filter((l) => l !== listener); };
  }

  /** The frame's buffer is transferred to the worker: the caller must not use it afterwards. */
  recognise(frame: RgbFrame, opts: Omit<AnalyseOptions, 'allFaces'>): Promise<Recognition> {
    return this.call({ op: 'recognise', frame, opts: { ...opts, allFaces: false } }, [frame.data.buffer as ArrayBuffer]) as Promise<Recognition>;
  }

  analyse(frame: RgbFrame, opts: AnalyseOptions): Promise<FrameAnalysis> {
    return this.call({ op: 'analyse', frame, opts }) as Promise<FrameAnalysis>;
  }

  addTemplates(villagerId: string, descriptors: Float32Array[]): Promise<number> {
    return this.call({ op: 'gallery.add', villagerId, descriptors }) as Promise<number>;
  }

  removeVillager(villagerId: string): Promise<number> {
    return this.call({ op: 'gallery.remove', villagerId }) as Promise<number>;
  }

  replaceGallery(entries: Array<{ villagerId: string; descriptors: Float32Array[] }>): Promise<number> {
    return this.call({ op: 'gallery.replace', entries }) as Promise<number>;
  }

  /**
   * The whole gallery from sealed rows, opened in the worker (not on this thread). The batch's
   * buffer is transferred: the caller must not use it afterwards. The key is copied.
   */
  replaceSealedGallery(key: Uint8Array, batch: SealedBatch): Promise<number> {
    return this.call({ op: 'gallery.replaceSealed', key: Uint8Array.from(key), batch }, [batch.bytes.buffer as ArrayBuffer]) as Promise<number>;
  }

  /** Each query's nearest owner among sealed rows, opened and searched in the worker (the batch's buffer is transferred). */
  nearestSealed(key: Uint8Array, batch: SealedBatch, queries: Float32Array[]): Promise<SealedNearest> {
    return this.call({ op: 'sealed.nearest', key: Uint8Array.from(key), batch, queries }, [batch.bytes.buffer as ArrayBuffer]) as Promise<SealedNearest>;
  }

  /**
   * The worker's memory (its heap is not in the main thread's nodejs_heap_* metrics). Answered
   * between two frames; null when the worker is not running or does not answer in `timeoutMs`.
   */
  async memory(timeoutMs = 2000): Promise<ThreadMemory | null> {
    if (!this.worker) return null;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
    try {
      return await Promise.race([(this.call({ op: 'memory' }) as Promise<ThreadMemory>).catch(() => null), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private call(req: DistributiveOmit<WorkerRequest, 'id'>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const w = this.worker;
    if (!w) return Promise.reject(new ModelError('ENGINE_STOPPED', 'inference worker not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...req, id }, transfer);
    });
  }

  private relayConversion(msg: WorkerConversion): void {
    try {
      this.opts.onConversion?.(msg.step);
    } catch { /* progress is only a view */ }
  }

  private settle(res: WorkerResponse): void {
    const p = this.pending.get(res.id);
    if (!p) return;
    this.pending.delete(res.id);
    if (res.ok) p.resolve(res.result);
    else p.reject(new ModelError(res.error.code, res.error.message, res.error.details ? { details: res.error.details } : {}));
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}
