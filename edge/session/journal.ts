/**
 * The session's writes to the ledger, retried until they land.
 *
 * The ledger may refuse a write (disk full, I/O error). The visit goes on in memory meanwhile
 * — the person at the door comes first — but it must reach the ledger, or what was taken is
 * never charged and a restart finds nothing to resume. Pending are the visit's row in its
 * current phase (`unsaved`) and a cancellation (`pendingCancel`); both are written in one
 * transaction, by the next write of any kind or by the retry timer.
 */
import type { Logger } from 'pino';
import { EdgeError, ErrorCode } from '../errors.ts';
import { inTransaction, type Db } from '../ledger/db.ts';
import { cancelSession, getSession, openSession, saveSessionState } from '../ledger/sessions.ts';
import type { Visit, VisitPhase } from './machine.ts';
import { toPersisted } from './persisted.ts';
import { systemClock, type Clock } from '../ledger/time.ts';

export type WriteWhere = 'persist' | 'open' | 'cancel';

export interface JournalDeps {
  db: () => Db;
  logger: Logger;
  retryMs: number;
  /** The visit memory holds now and its phase (null when idle). */
  current: () => { visit: Visit; phase: VisitPhase } | null;
  /** A write the ledger refused (reported on the health board, emitted as a fault). */
  failed: (where: WriteWhere, message: string) => void;
  /** Everything pending has landed. */
  landed: () => void;
  /** The daemon's clock: what the visit's row is stamped with. */
  clock?: Clock;
}

export class SessionJournal {
  private unsaved = false;
  private pendingCancel: { visit: Visit; reason: string; also?: (() => void) | undefined } | null = null;
  private retry: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly deps: JournalDeps) {}

  start(): void {
    this.running = true;
  }

  /** What was not written is what a power cut loses: a visit resumes from its last saved phase. */
  stop(): void {
    this.running = false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.unsaved = false;
    this.pendingCancel = null;
  }

  private get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  get pending(): boolean {
    return this.unsaved || this.pendingCancel !== null;
  }

  /** The visit's row must say what memory says. */
  save(where: 'persist' | 'open'): void {
    this.unsaved = true;
    this.flush(where);
  }

  /** `also` runs in the cancellation's transaction (a QR slip given back with it). */
  cancel(visit: Visit, reason: string, also?: () => void): void {
    this.pendingCancel = { visit, reason, also };
    this.flush('cancel');
  }

  /** Writes what is pending in one transaction; on failure reports it and retries later. */
  flush(where: WriteWhere): void {
    const db = this.deps.db();
    try {
      inTransaction(db, 'saving session', () => this.writePending(db));
      this.writesLanded();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.logger.error({ err: message, where }, 'session write failed; will retry / 购物记录写入失败，稍后重试');
      this.deps.failed(where, message);
      if (err instanceof EdgeError && err.code === ErrorCode.ALREADY_SETTLED) {
        // the row was closed by someone else (the admin page): retrying cannot change that;
        // a cancellation rolled back with it still needs its retry
        this.unsaved = false;
        if (!this.pendingCancel) return;
      }
      this.scheduleRetry();
    }
  }

  /**
   * Inside the caller's transaction: closes a cancellation still pending, then makes the
   * visit's row say what memory says — opening it if its first write never landed, so a
   * settlement or a later save never finds "unknown session".
   */
  writePending(db: Db): void {
    const c = this.pendingCancel;
    if (c) {
      // recorded even if the row never got written: the admission happened, nothing was charged
      if (!getSession(db, c.visit.sessionId)) openRow(db, c.visit, 'entering', this.clock);
      cancelSession(db, c.visit.sessionId, c.reason, this.clock);
      c.also?.();
    }
    const cur = this.deps.current();
    if (!cur) return;
    if (!getSession(db, cur.visit.sessionId)) openRow(db, cur.visit, cur.phase, this.clock);
    else if (this.unsaved) saveSessionState(db, cur.visit.sessionId, cur.phase, toPersisted(cur.visit), this.clock);
  }

  /** The transaction that ran writePending committed. */
  writesLanded(): void {
    const had = this.pending || this.retry !== null;
    this.unsaved = false;
    this.pendingCancel = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    if (had) this.deps.landed();
  }

  private scheduleRetry(): void {
    if (this.retry || !this.running) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.running) return;
      if (this.pendingCancel) this.flush('cancel');
      else if (this.unsaved && this.deps.current()) this.flush('persist');
    }, this.deps.retryMs);
  }
}

export function openRow(db: Db, v: Visit, state: string, clock: Clock = systemClock): void {
  openSession(db, { id: v.sessionId, kind: v.kind, villagerId: v.villagerId, enteredBy: v.enteredBy, state, context: toPersisted(v) }, clock);
}
