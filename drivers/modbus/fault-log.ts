/**
 * Counts faults and logs each kind once per burst. A bus with a loose cable can fail a
 * hundred times a minute; the log must say so once, with the count, and say when it stopped.
 */
import type { Logger } from 'pino';

export type FaultKind = 'timeout' | 'crc' | 'bad_reply' | 'exception' | 'port_error' | 'not_confirmed' | 'implausible' | 'rejected_line';

interface Burst {
  firstAt: number;
  lastLoggedAt: number;
  suppressed: number;
}

export class FaultLog {
  readonly counts: Record<FaultKind, number> = {
    timeout: 0,
    crc: 0,
    bad_reply: 0,
    exception: 0,
    port_error: 0,
    not_confirmed: 0,
    implausible: 0,
    rejected_line: 0,
  };
  private readonly bursts = new Map<FaultKind, Burst>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  record(kind: FaultKind, context: Record<string, unknown>, message: string): void {
    this.counts[kind] += 1;
    const t = this.now();
    const burst = this.bursts.get(kind);
    if (!burst) {
      this.bursts.set(kind, { firstAt: t, lastLoggedAt: t, suppressed: 0 });
      this.logger.warn({ ...context, fault: kind, total: this.counts[kind] }, message);
      return;
    }
    if (t - burst.lastLoggedAt >= this.intervalMs) {
      this.logger.warn({ ...context, fault: kind, total: this.counts[kind], since_last_log: burst.suppressed + 1 }, `${message} (still failing)`);
      burst.lastLoggedAt = t;
      burst.suppressed = 0;
      return;
    }
    burst.suppressed += 1;
  }

  /** A success ends every open burst; say once that the faults stopped. */
  recovered(context: Record<string, unknown>): void {
    if (this.bursts.size === 0) return;
    for (const [kind, burst] of this.bursts) {
      this.logger.info({ ...context, fault: kind, burst_ms: this.now() - burst.firstAt, total: this.counts[kind] }, 'faults stopped, working again');
    }
    this.bursts.clear();
  }

  get inBurst(): boolean {
    return this.bursts.size > 0;
  }
}
