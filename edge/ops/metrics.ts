/**
 * The store's Prometheus metrics (prom-client), on a registry of its own (several daemons in
 * one test process must not share counters). Counters follow the daemon's events; gauges that
 * describe state (outbox depth, sync refusals, job outcomes) are read at scrape time.
 * prom-client's default metrics bring the event-loop delay (nodejs_eventloop_lag_*) and the
 * resident memory (process_resident_memory_bytes).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DaemonEventRelay } from '../events.ts';
import type { Db } from '../ledger/db.ts';
import { countOutbox } from '../ledger/outbox.ts';
import type { JobStats } from '../jobs/runner.ts';
import type { SyncStateSource } from '../http/queries.ts';

export interface MetricsSources {
  events: DaemonEventRelay;
  db: () => Db;
  sync?: SyncStateSource;
  jobs?: { snapshot(): ReadonlyMap<string, JobStats> };
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
    const onReceipt = (rc: { kind: string; chargedPoints: number; debtPoints: number; reviewCount: number }): void => {
      sessions.inc({ kind: rc.kind });
      if (rc.chargedPoints > 0) redeemed.inc(rc.chargedPoints);
      if (rc.debtPoints > 0) debt.inc(rc.debtPoints);
      if (rc.reviewCount > 0) review.inc(rc.reviewCount);
    };
    const onFault = (f: { source: string }): void => faults.inc({ source: f.source });
    src.events.on('entry_decision', onDecision);
    src.events.on('receipt', onReceipt);
    src.events.on('fault', onFault);
    this.detach.push(() => src.events.off('entry_decision', onDecision), () => src.events.off('receipt', onReceipt), () => src.events.off('fault', onFault));

    new Gauge({
      name: 'store_outbox_depth', help: 'Rows waiting to reach the village ledger', registers: [r],
      collect() {
        try {
          this.set(countOutbox(src.db()).pending);
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
