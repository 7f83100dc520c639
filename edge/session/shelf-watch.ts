/**
 * The waits on the shelves, decided on sweeps: after a restart, until every scale has been
 * read once (`watchScales`); at exit, until every slot is at rest (`watchStability`). Only a
 * sweep that began after the wait began counts: its readings were taken after the moment the
 * wait is about, whatever the event loop did in between.
 */
import type { SessionEvent } from './machine.ts';
import type { Shelves } from './ports.ts';
import { scalesReported, shelvesAtRest } from './weighing.ts';

export class ShelfWatch {
  /** Set while waiting for stable shelves: only sweeps that began after this count. */
  private watchSince: number | null = null;
  /** Set while waiting, after a restart, for every scale to report once: sweeps that began after this count. */
  private scalesSince: number | null = null;

  constructor(private readonly scales: Shelves, private readonly clock: () => number) {}

  watchStability(): void {
    this.watchSince = this.clock();
  }

  watchScales(since: number): void {
    this.scalesSince = since;
  }

  clear(): void {
    this.watchSince = null;
    this.scalesSince = null;
  }

  /** The events a finished sweep of `durationMs` gives, in order. */
  onSweep(durationMs: number): SessionEvent[] {
    const began = this.clock() - durationMs;
    const out: SessionEvent[] = [];
    if (this.scalesSince !== null) {
      // a sweep that began after the start read every slot; health still 'unknown' means not yet
      if (began < this.scalesSince || !scalesReported(this.scales)) return out;
      this.scalesSince = null;
      out.push({ type: 'scales_reported' });
      // this sweep's readings are from after the restart: they count for the stability wait too
      this.watchSince = began;
    }
    if (this.watchSince === null || began < this.watchSince) return out;
    if (shelvesAtRest(this.scales)) {
      this.watchSince = null;
      out.push({ type: 'shelves_stable' });
    }
    return out;
  }
}
