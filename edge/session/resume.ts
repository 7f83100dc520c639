/**
 * Taking up, at start, the visit a power cut or crash left open (persisted.ts reads it). The
 * read may fail (a transient disk error): the visit is then still open in the ledger but
 * unknown to memory, so the store counts as busy (nobody is let into a store whose last visit
 * is unknown, and the ledger would refuse their admission anyway) and the read is tried again
 * every `retryMs` until it succeeds or finds nothing open.
 */
import type { Logger } from 'pino';
import type { Db } from '../ledger/db.ts';
import type { Visit, VisitPhase } from './machine.ts';
import { openVisit } from './persisted.ts';
import type { SessionTimers } from './timers.ts';

export interface ResumeDeps {
  db: () => Db;
  logger: Logger;
  timers: SessionTimers;
  /** session.settle_retry_ms, as every other failed effect. */
  retryMs: number;
  /** The open visit was read: the runner takes it up. */
  resumed: (r: { visit: Visit; phase: VisitPhase }) => void;
  /** A read failed; it is retried (the runner reports it). */
  failed: (err: unknown) => void;
}

export class ResumeOnStart {
  private waiting = false;

  constructor(private readonly deps: ResumeDeps) {}

  /** Whether the open visit is still to be read (the store is busy meanwhile). */
  get pending(): boolean {
    return this.waiting;
  }

  start(): void {
    this.attempt();
  }

  stop(): void {
    this.waiting = false;
    this.deps.timers.clear('resume');
  }

  private attempt(): void {
    let r: ReturnType<typeof openVisit>;
    try {
      // a visit this daemon cannot read never stops the start: it is closed for review instead
      r = openVisit(this.deps.db(), this.deps.logger);
    } catch (err) {
      this.waiting = true;
      this.deps.timers.start('resume', this.deps.retryMs, () => this.attempt());
      this.deps.failed(err);
      return;
    }
    this.waiting = false;
    if (r) this.deps.resumed(r);
  }
}
