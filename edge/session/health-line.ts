/**
 * The session's line on the daemon's health board (/healthz): degraded while the visit is in
 * `fault`, while a session write waits for its retry, or after a failure until the next step
 * completes cleanly; reported only when it changes.
 */
import type { SessionHealth } from './ports.ts';

export class HealthLine {
  private shown: { state: 'ok' | 'degraded'; detail?: string } = { state: 'ok' };
  /** The last failure, shown until the session recovers. */
  private last = '';

  constructor(private readonly report: SessionHealth | undefined) {}

  failed(what: string): void {
    this.last = what;
  }

  update(now: { fault: string | null; writesPending: boolean; failedNow?: boolean }): void {
    const detail = now.fault !== null ? `session fault: ${now.fault || this.last}` : now.writesPending ? this.last || 'session writes pending' : now.failedNow ? this.last : null;
    const next: { state: 'ok' | 'degraded'; detail?: string } = detail ? { state: 'degraded', detail } : { state: 'ok' };
    if (next.state === this.shown.state && next.detail === this.shown.detail) return;
    this.shown = next;
    this.report?.(next.state, next.detail);
  }
}
