/**
 * The store's Prometheus metrics (prom-client), on a registry of its own (several daemons in
 * one test process must not share counters). Counters follow the daemon's events; gauges that
 * describe state (outbox depth, sync refusals, job outcomes) are read at scrape time.
 * prom-client's default metrics bring the event-loop delay (nodejs_eventloop_lag_*) and the
 * resident memory (process_resident_memory_bytes); store_thread_memory_bytes breaks the memory
 * down per thread (the inference worker's heap and wasm memory are in no default metric).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BusStats } from '../../drivers/index.ts';
import type { AlarmBoard } from './alarms.ts';
import type { FrameReport } from '../entry/pipeline.ts';
import type { DaemonEventRelay } from '../events.ts';
import type { Db } from '../ledger/db.ts';
import { countPendingOutbox } from '../ledger/outbox.ts';
import type { JobStats } from '../jobs/runner.ts';
import type { SyncStateSource } from '../http/queries.ts';
import type { ThreadMemory } from '../../models/protocol.ts';
import { threadMemory } from '../../models/runtime.ts';

export interface MetricsSources {
  events: DaemonEventRelay;
  db: () => Db;
  sync?: SyncStateSource;
  jobs?: { snapshot(): ReadonlyMap<string, JobStats> };
  alarms?: AlarmBoard;
  /** Each RS-485 bus's counters. */
  buses?: () => BusStats[];
  /** Each thread's memory (main, and the inference worker while it runs), for store_thread_memory_bytes. */
  threads?: () => Promise<ThreadMemoryReport[]>;
}

export interface ThreadMemoryReport { thread: string; memory: ThreadMemory }

/** store_thread_memory_bytes's `kind` label for each ThreadMemory field. */
const MEMORY_KINDS: ReadonlyArray<[keyof ThreadMemory, string]> = [
  ['heapUsed', 'heap_used'], ['heapTotal', 'heap_total'], ['external', 'external'], ['arrayBuffers', 'array_buffers'], ['wasm', 'wasm'], ['tensors', 'tensors'],
];

/** Seconds; the door's stages take milliseconds, a slow CPU a second. */
const STAGE_BUCKETS = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
/** The camera's frame rate is measured over this window. */
const FPS_WINDOW_MS = 10_000;

/** The main thread's memory and, while it runs, the inference worker's (it answers between two frames). */
export async function threadMemories(engine: { memory(): Promise<ThreadMemory | null> } | undefined): Promise<ThreadMemoryReport[]> {
  const out: ThreadMemoryReport[] = [{ thread: 'main', memory: threadMemory() }];
  const worker = await engine?.memory();
  if (worker) out.push({ thread: 'inference', memory: worker });
  return out;
}

export class StoreMetrics {
  readonly registry = new Registry();
  private readonly detach: Array<() => void> = [];

  constructor(private readonly src: MetricsSources) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 20 });
    const decisions = new Counter({ name: 'store_door_decisions_total', help: 'Door decisions by reason (matched, unknown, blocked, store_busy, ...)', labelNames: ['decision', 'by'], registers: [r] });
    const unlocks = new Counter({ name: 'store_unlocks_total', help: 'Door unlocks confirmed by the relay', registers: [r] });
    const sessions = new Counter({ name: 'store_sessions_total', help: 'Settled sessions by kind (shopping, restock)', labelNames: ['kind'], registers: [r] });
    const redeemed = new Counter({ name: 'store_points_redeemed_total', help: 'Points charged at settlement', registers: [r] });
    const debt = new Counter({ name: 'store_points_debt_total', help: 'Points that became debt at settlement (exit rule)', registers: [r] });
    const review = new Counter({ name: 'store_review_lines_total', help: 'Receipt lines left for a maintainer to check', registers: [r] });
    const faults = new Counter({ name: 'store_faults_total', help: 'Faults reported by the parts, by source', labelNames: ['source'], registers: [r] });
    const onDecision = (d: { decision: string; by: string; unlocked: boolean }): void => {
      decisions.inc({ decision: d.decision, by: d.by });
      if (d.unlocked) unlocks.inc();
    };
    const onReceipt = (rc: { kind: string; chargedPoints: number; debtPoints: number; reviewCount: number; stockClipped: number }): void => {
      sessions.inc({ kind: rc.kind });
      if (rc.chargedPoints > 0) redeemed.inc(rc.chargedPoints);
      if (rc.debtPoints > 0) debt.inc(rc.debtPoints);
      if (rc.reviewCount + rc.stockClipped > 0) review.inc(rc.reviewCount + rc.stockClipped);
    };
    const onFault = (f: { source: string }): void => faults.inc({ source: f.source });
    // the door's hot loop, stage by stage (frame → verdict), and scan/frame → lock confirmed
    const stages = new Histogram({ name: 'store_entry_stage_seconds', help: 'Time of each stage of the door\'s hot loop per analysed frame (detect, landmarks, descriptor, liveness, match; total: frame arrival to verdict)', labelNames: ['stage'], buckets: STAGE_BUCKETS, registers: [r] });
    const unlockLatency = new Histogram({ name: 'store_entry_unlock_latency_seconds', help: 'Frame arrival or scan to lock confirmed, per unlock', labelNames: ['by'], buckets: STAGE_BUCKETS, registers: [r] });
    const frames = new Counter({ name: 'store_camera_frames_total', help: 'Camera frames analysed by the door (rate() is the analysed fps)', registers: [r] });
    const frameTimes: number[] = [];
    new Gauge({
      name: 'store_camera_fps', help: `Frames analysed per second over the last ${FPS_WINDOW_MS / 1000} s`, registers: [r],
      collect() {
        const since = performance.now() - FPS_WINDOW_MS;
        while (frameTimes.length > 0 && frameTimes[0]! < since) frameTimes.shift();
        this.set(frameTimes.length / (FPS_WINDOW_MS / 1000));
      },
    });
    const onFrame = (f: FrameReport): void => {
      frames.inc();
      const t = performance.now();
      frameTimes.push(t);
      // bounded: a scrape may never come
      if (frameTimes.length > 10_000) frameTimes.splice(0, frameTimes.length - 10_000);
      if (f.times) for (const [stage, ms] of Object.entries(f.times) as [string, number][]) stages.observe({ stage }, ms / 1000);
      stages.observe({ stage: 'total' }, f.totalMs / 1000);
    };
    const onUnlockLatency = (d: { by: string; latencyMs: number | null }): void => {
      if (d.latencyMs !== null) unlockLatency.observe({ by: d.by }, d.latencyMs / 1000);
    };
    src.events.on('entry_decision', onDecision);
    src.events.on('entry_decision', onUnlockLatency);
    src.events.on('entry_frame', onFrame);
    src.events.on('receipt', onReceipt);
    src.events.on('fault', onFault);
    this.detach.push(
      () => src.events.off('entry_decision', onDecision), () => src.events.off('entry_decision', onUnlockLatency), () => src.events.off('entry_frame', onFrame),
      () => src.events.off('receipt', onReceipt), () => src.events.off('fault', onFault),
    );
    const buses = src.buses;
    if (buses) {
      new Gauge({
        name: 'store_serial_errors', help: 'Errors per RS-485 bus since start, by kind (failures: requests given up; retries; reconnects; and each fault kind: timeout, crc, ...)', labelNames: ['bus', 'kind'], registers: [r],
        collect() {
          this.reset();
          for (const b of buses()) {
            this.set({ bus: b.url, kind: 'failures' }, b.failures);
            this.set({ bus: b.url, kind: 'retries' }, b.retries);
            this.set({ bus: b.url, kind: 'reconnects' }, b.reconnects);
            for (const [kind, n] of Object.entries(b.faults)) this.set({ bus: b.url, kind }, n);
          }
        },
      });
      new Gauge({
        name: 'store_serial_requests', help: 'Requests per RS-485 bus since start', labelNames: ['bus'], registers: [r],
        collect() {
          this.reset();
          for (const b of buses()) this.set({ bus: b.url }, b.requests);
        },
      });
    }
    const threads = src.threads;
    if (threads) {
      // RSS broken down: the inference worker's heap is not in nodejs_heap_*, wasm memory not in external
      new Gauge({
        name: 'store_thread_memory_bytes', help: 'Memory per thread (main, inference): V8 heap used/total, external and array buffers outside it, the tfjs wasm backend\'s linear memory (grows, never shrinks) and the bytes tfjs tensors hold', labelNames: ['thread', 'kind'], registers: [r],
        async collect() {
          this.reset();
          for (const t of await threads()) {
            for (const [field, kind] of MEMORY_KINDS) {
              const v = t.memory[field];
              if (v !== null) this.set({ thread: t.thread, kind }, v);
            }
          }
        },
      });
    }
    const alarms = src.alarms;
    if (alarms) {
      const raised = new Counter({ name: 'store_alarms_raised_total', help: 'Alarms raised since start, by kind', labelNames: ['kind'], registers: [r] });
      const onRaised = (a: { kind: string }): void => raised.inc({ kind: a.kind });
      alarms.on('raised', onRaised);
      this.detach.push(() => alarms.off('raised', onRaised));
      new Gauge({
        name: 'store_alarms_active', help: 'Alarms active now, by kind and severity', labelNames: ['kind', 'severity'], registers: [r],
        collect() {
          this.reset();
          const n = new Map<string, number>();
          for (const a of alarms.active()) n.set(`${a.kind}\u0000${a.severity}`, (n.get(`${a.kind}\u0000${a.severity}`) ?? 0) + 1);
          for (const [k, v] of n) {
            const [kind, severity] = k.split('\u0000') as [string, string];
            this.set({ kind, severity }, v);
          }
        },
      });
    }

    new Gauge({
      name: 'store_outbox_depth', help: 'Rows waiting to reach the village ledger', registers: [r],
      collect() {
        try {
          this.set(countPendingOutbox(src.db()));
        } catch {
          // the ledger is closed (stopping): no value rather than a wrong one
          this.reset();
        }
      },
    });
    const sync = src.sync;
    if (sync) {
      new Gauge({ name: 'store_sync_connected', help: '1 while connected to the village broker', registers: [r], collect() { this.set(sync.state().connected ? 1 : 0); } });
      new Gauge({
        name: 'store_sync_refused', help: 'Messages from the village refused, by reason (counted since start)', labelNames: ['reason'], registers: [r],
        collect() {
          this.reset();
          for (const [reason, n] of Object.entries(sync.state().refused)) this.set({ reason }, n);
        },
      });
      new Gauge({
        name: 'store_sync_counts', help: 'The sync agent\'s counts since start: rows sent, rows sent again, snapshots asked, stream checks, snapshot copies or parts dropped while one was applied', labelNames: ['what'], registers: [r],
        collect() {
          this.reset();
          for (const [what, n] of Object.entries(sync.counters ?? {})) this.set({ what }, n);
        },
      });
    }
    const jobs = src.jobs;
    if (jobs) {
      new Gauge({
        name: 'store_job_runs', help: 'Scheduled job runs by outcome (ok, failed, skipped) since start', labelNames: ['job', 'outcome'], registers: [r],
        collect() {
          for (const [job, s] of jobs.snapshot()) for (const [outcome, n] of Object.entries(s.outcomes)) this.set({ job, outcome }, n);
        },
      });
      new Gauge({
        name: 'store_job_last_duration_seconds', help: 'Duration of the last run of each job', labelNames: ['job'], registers: [r],
        collect() {
          for (const [job, s] of jobs.snapshot()) if (s.lastDurationMs !== null) this.set({ job }, s.lastDurationMs / 1000);
        },
      });
      new Gauge({
        name: 'store_job_last_failed', help: '1 when the last run of the job failed', labelNames: ['job'], registers: [r],
        collect() {
          for (const [job, s] of jobs.snapshot()) this.set({ job }, s.lastOutcome === 'failed' ? 1 : 0);
        },
      });
    }
  }

  /** The text exposition format. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  stop(): void {
    for (const d of this.detach.splice(0)) d();
    this.registry.clear();
  }
}
