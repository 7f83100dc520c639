/**
 * The waits on the shelves, decided on sweeps and counted in the scales' reading time (when a
 * sweep began, which is when its readings were taken), never in the time at which the event
 * loop got round to a timer: after a restart, until every scale has been read once
 * (`watchScales`); at exit, until every slot is at rest (`watchStability`).
 *
 * At exit each slot is decided on its own: the weight it rests at in a sweep that began after
 * the wait began is its weight at exit (`ExitWeights`). The wait ends when every slot is
 * decided. A slot still moving after `stability_wait_ms` of readings extends the wait, up to
 * `exit_settle_max_ms` of readings; still moving then, it is a `not_stable` review line.
 */
import type { Logger } from 'pino';
import type { SessionEvent } from './machine.ts';
import type { Shelves } from './ports.ts';
import { scalesReported, type ExitWeights } from './weighing.ts';

export interface ShelfWatchOptions {
  scales: Shelves;
  /** The clock sweeps are timed by (performance.now on the store). */
  clock: () => number;
  /** The normal exit wait, in reading time. */
  stabilityWaitMs: number;
  /** The longest exit wait for a slot still moving, in reading time (never shorter than the normal wait). */
  exitSettleMaxMs: number;
  logger: Logger;
}

export class ShelfWatch {
  /** Set while waiting for stable shelves: only sweeps that began after this count. */
  private watchSince: number | null = null;
  /** Set while waiting, after a restart, for every scale to report once: sweeps that began after this count. */
  private scalesSince: number | null = null;
  private decided = new Map<string, number>();
  private extended = false;

  constructor(private readonly o: ShelfWatchOptions) {}

  watchStability(): void {
    this.startStability(this.o.clock());
  }

  watchScales(since: number): void {
    this.scalesSince = since;
  }

  clear(): void {
    this.watchSince = null;
    this.scalesSince = null;
    this.decided = new Map();
    this.extended = false;
  }

  /** The slots decided at exit so far; the watch is cleared (the settlement takes them). */
  finish(): ExitWeights {
    const out = this.decided;
    this.clear();
    return out;
  }

  /** The events a finished sweep of `durationMs` gives, in order. */
  onSweep(durationMs: number): SessionEvent[] {
    const began = this.o.clock() - durationMs;
    const out: SessionEvent[] = [];
    if (this.scalesSince !== null) {
      // a sweep that began after the start read every slot; health still 'unknown' means not yet
      if (began < this.scalesSince || !scalesReported(this.o.scales)) return out;
      this.scalesSince = null;
      out.push({ type: 'scales_reported' });
      // this sweep's readings are from after the restart: they count for the stability wait too
      this.startStability(began);
    }
    if (this.watchSince === null || began < this.watchSince) return out;
    const readMs = began - this.watchSince;
    const moving: string[] = [];
    for (const s of this.o.scales.status()) {
      if (s.health === 'ok' && s.stable_g !== null) this.decided.set(s.slot, s.stable_g);
      // a scale that does not answer cannot be waited for (a review line unless decided before);
      // one never read yet ('unknown') can
      else if (!this.decided.has(s.slot) && (s.health === 'ok' || s.health === 'unknown')) moving.push(s.slot);
    }
    if (moving.length === 0) {
      this.watchSince = null;
      out.push({ type: 'shelves_stable' });
    } else if (readMs >= Math.max(this.o.stabilityWaitMs, this.o.exitSettleMaxMs)) {
      this.o.logger.warn({ event: 'exit_wait_bound', slots: moving, read_ms: Math.round(readMs) }, 'shelf still moving at the end of the longest exit wait: review line / 货架仍在晃动，转人工核对');
      this.watchSince = null;
      out.push({ type: 'stability_timeout' });
    } else if (readMs >= this.o.stabilityWaitMs && !this.extended) {
      this.extended = true;
      this.o.logger.info({ event: 'exit_wait_extended', slots: moving, read_ms: Math.round(readMs) }, 'shelf still moving after the exit wait: waiting longer / 货架仍在晃动，延长等待');
    }
    return out;
  }

  private startStability(since: number): void {
    this.watchSince = since;
    this.decided = new Map();
    this.extended = false;
  }
}
