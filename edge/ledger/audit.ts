/** The admin page's audit log: who did what, when, with the state before and after (append-only). */
import { cachedStatement, type Db } from './db.ts';
import { iso, systemClock, type Clock } from './time.ts';

export interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
}

/** Call inside the transaction of the change it records, so the two are written together. */
export function appendAudit(db: Db, r: { actor: string; action: string; target?: string | null; before?: unknown; after?: unknown }, clock: Clock = systemClock): number {
  const res = cachedStatement(db, 'INSERT INTO audit_log (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)')
    .run(iso(clock), r.actor, r.action, r.target ?? null, r.before === undefined ? null : JSON.stringify(r.before), r.after === undefined ? null : JSON.stringify(r.after));
  return Number(res.lastInsertRowid);
}

/** Newest first; `beforeId` pages further back; `since` (an ISO time) keeps the rows written at or after it. */
export function listAudit(db: Db, opts: { limit?: number; beforeId?: number; since?: string } = {}): AuditRecord[] {
  const rows = cachedStatement(db, 'SELECT id, at, actor, action, target, before, after FROM audit_log WHERE id < ? AND at >= ? ORDER BY id DESC LIMIT ?')
    .all(opts.beforeId ?? Number.MAX_SAFE_INTEGER, opts.since ?? '', opts.limit ?? 50) as { id: number; at: string; actor: string; action: string; target: string | null; before: string | null; after: string | null }[];
  return rows.map((r) => ({ ...r, before: r.before === null ? null : (JSON.parse(r.before) as unknown), after: r.after === null ? null : (JSON.parse(r.after) as unknown) }));
}
