/**
 * Alarms in the ledger (table alarms, schema versions 5 and 6): raised, repeated while active,
 * acknowledged by a maintainer, cleared.
 */
import type { Db } from './db.ts';

export type AlarmSeverity = 'warning' | 'critical';

export interface AlarmRow {
  id: number;
  kind: string;
  subject: string;
  severity: AlarmSeverity;
  detail: string;
  raised_at: string;
  last_seen_at: string;
  seen: number;
  cleared_at: string | null;
  cleared_by: string | null;
  /** A maintainer's acknowledgement of this occurrence (schema 7): when, who, their note. */
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  ack_note: string | null;
}

export function activeAlarm(db: Db, kind: string, subject: string): AlarmRow | undefined {
  return db.prepare('SELECT * FROM alarms WHERE kind = ? AND subject = ? AND cleared_at IS NULL').get(kind, subject) as AlarmRow | undefined;
}

/**
 * Raise an alarm, or note that an active one is still there (its detail and last sighting are
 * updated, `seen` counts the repeats). Returns the row, whether it is new, and whether an
 * acknowledged alarm was raised again: a new occurrence (`occurrence`: a failed run, a clock
 * jump, as opposed to the same condition seen again) or a worse one (warning → critical) takes
 * the acknowledgement back, so nobody sleeps through it.
 */
export function raiseAlarm(db: Db, a: { kind: string; subject: string; severity: AlarmSeverity; detail: string; occurrence?: boolean }, at: string): { row: AlarmRow; fresh: boolean; reraised: boolean } {
  return db.transaction(() => {
    const open = activeAlarm(db, a.kind, a.subject);
    if (open) {
      const reraised = open.acknowledged_at !== null && (a.occurrence === true || (open.severity === 'warning' && a.severity === 'critical'));
      if (reraised) {
        db.prepare('UPDATE alarms SET detail = ?, severity = ?, last_seen_at = ?, seen = seen + 1, acknowledged_at = NULL, acknowledged_by = NULL, ack_note = NULL WHERE id = ?').run(a.detail, a.severity, at, open.id);
        return { row: { ...open, detail: a.detail, severity: a.severity, last_seen_at: at, seen: open.seen + 1, acknowledged_at: null, acknowledged_by: null, ack_note: null }, fresh: false, reraised };
      }
      db.prepare('UPDATE alarms SET detail = ?, severity = ?, last_seen_at = ?, seen = seen + 1 WHERE id = ?').run(a.detail, a.severity, at, open.id);
      return { row: { ...open, detail: a.detail, severity: a.severity, last_seen_at: at, seen: open.seen + 1 }, fresh: false, reraised };
    }
    const info = db.prepare('INSERT INTO alarms (kind, subject, severity, detail, raised_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)').run(a.kind, a.subject, a.severity, a.detail, at, at);
    return { row: db.prepare('SELECT * FROM alarms WHERE id = ?').get(info.lastInsertRowid) as AlarmRow, fresh: true, reraised: false };
  })();
}

export function alarmById(db: Db, id: number): AlarmRow | undefined {
  return db.prepare('SELECT * FROM alarms WHERE id = ?').get(id) as AlarmRow | undefined;
}

/**
 * Acknowledge the active alarm `id`: `acknowledged` false when it was acknowledged already (the
 * first acknowledgement stands), `cleared` true when there is nothing left to acknowledge.
 * Undefined when there is no such alarm. Call inside the transaction that audits it.
 */
export function acknowledgeAlarm(db: Db, id: number, by: string, note: string | null, at: string): { before: AlarmRow; row: AlarmRow; acknowledged: boolean; cleared: boolean } | undefined {
  const before = alarmById(db, id);
  if (!before) return undefined;
  if (before.cleared_at !== null || before.acknowledged_at !== null) return { before, row: before, acknowledged: false, cleared: before.cleared_at !== null };
  const changed = db.prepare('UPDATE alarms SET acknowledged_at = ?, acknowledged_by = ?, ack_note = ? WHERE id = ? AND cleared_at IS NULL AND acknowledged_at IS NULL').run(at, by, note, id).changes;
  if (changed !== 1) throw new Error(`alarm ${id} changed while it was being acknowledged`);
  return { before, row: { ...before, acknowledged_at: at, acknowledged_by: by, ack_note: note }, acknowledged: true, cleared: false };
}

/** Clear the active alarm of (kind, subject); the cleared row, or undefined when none was active. */
export function clearAlarm(db: Db, kind: string, subject: string, at: string, by: string): AlarmRow | undefined {
  const open = activeAlarm(db, kind, subject);
  if (!open) return undefined;
  db.prepare('UPDATE alarms SET cleared_at = ?, cleared_by = ? WHERE id = ?').run(at, by, open.id);
  return { ...open, cleared_at: at, cleared_by: by };
}

/**
 * Clear the alarm `id` by hand (`by`: who): `cleared` false when it had cleared already.
 * Undefined when there is no such alarm. Call inside the transaction that audits it.
 */
export function clearAlarmById(db: Db, id: number, at: string, by: string): { row: AlarmRow; cleared: boolean } | undefined {
  const before = alarmById(db, id);
  if (!before) return undefined;
  if (before.cleared_at !== null) return { row: before, cleared: false };
  const changed = db.prepare('UPDATE alarms SET cleared_at = ?, cleared_by = ? WHERE id = ? AND cleared_at IS NULL').run(at, by, id).changes;
  if (changed !== 1) throw new Error(`alarm ${id} changed while it was being cleared`);
  return { row: { ...before, cleared_at: at, cleared_by: by }, cleared: true };
}

/** An alarm a maintainer cleared by hand, with the note of its audit record (`alarm.clear`). */
export interface HandClearedAlarm { id: number; kind: string; subject: string; raised_at: string; cleared_at: string; cleared_by: string; note: string | null }

/**
 * The alarms cleared by hand (by an account, not 'resolved') at `since` or later, newest first,
 * at most `limit`; the note is the one its audit record (edge/ops/alarms.ts `clearByHand`) kept.
 * The audit log is read only when there is one, in one pass over its records of the window (a
 * day more: the audit's clock and the board's may differ), not once per alarm.
 */
export function handClearedSince(db: Db, since: string, limit: number): HandClearedAlarm[] {
  const rows = db.prepare(
    `SELECT id, kind, subject, raised_at, cleared_at, cleared_by FROM alarms
     WHERE cleared_at >= ? AND cleared_by IS NOT NULL AND cleared_by <> 'resolved'
     ORDER BY cleared_at DESC, id DESC LIMIT ?`,
  ).all(since, limit) as Omit<HandClearedAlarm, 'note'>[];
  if (rows.length === 0) return [];
  const notes = clearNotes(db, since);
  return rows.map((a) => ({ ...a, note: noteOf(notes, a) }));
}

/** The notes of the hand clears (`alarm.clear` audit records) at `since` or later (a day more: the audit's clock and the board's may differ), by target. */
function clearNotes(db: Db, since: string): Map<string, string | null> {
  const from = new Date(Date.parse(since) - 86_400_000).toISOString();
  const notes = new Map<string, string | null>();
  for (const r of db.prepare("SELECT target, json_extract(after, '$.note') AS note FROM audit_log WHERE action = 'alarm.clear' AND at >= ? ORDER BY id").all(from) as { target: string | null; note: unknown }[]) {
    if (r.target !== null) notes.set(r.target, typeof r.note === 'string' ? r.note : null);
  }
  return notes;
}
const noteOf = (notes: Map<string, string | null>, a: Pick<AlarmRow, 'id' | 'kind' | 'subject'>): string | null => notes.get(`${a.kind}${a.subject ? ` ${a.subject}` : ''} #${a.id}`) ?? null;

/** An alarm that has ended (cleared by itself or by hand), with the note of a hand clear. */
export type EndedAlarm = AlarmRow & { cleared_at: string; cleared_by: string; note: string | null };

/** The ended alarms of a (kind, subject) left out of the list: how many, the first raise and the last clear. */
export interface UnlistedAlarms { kind: string; subject: string; count: number; first_raised_at: string; last_cleared_at: string }

/**
 * The alarms that ended (cleared, by themselves or by hand) at `since` or later: the newest
 * `limit` in full, newest first (`listed`), and the rest counted (`unlisted`: how many in all,
 * and by kind and subject, most first, at most `groups` of them). One pass over the window for
 * each part, and over the audit log for the notes only when one of those listed was cleared by hand.
 */
export function endedSince(db: Db, since: string, limit: number, groups: number): { listed: EndedAlarm[]; unlisted: { count: number; groups: UnlistedAlarms[] } } {
  const listed = db.prepare('SELECT * FROM alarms WHERE cleared_at >= ? ORDER BY cleared_at DESC, id DESC LIMIT ?').all(since, limit) as (AlarmRow & { cleared_at: string; cleared_by: string })[];
  const rest = `SELECT kind, subject, raised_at, cleared_at FROM alarms WHERE cleared_at >= ? ORDER BY cleared_at DESC, id DESC LIMIT -1 OFFSET ?`;
  const count = listed.length < limit ? 0 : (db.prepare(`SELECT COUNT(*) AS n FROM (${rest})`).get(since, limit) as { n: number }).n;
  const byKind = count === 0 ? [] : db.prepare(
    `SELECT kind, subject, COUNT(*) AS count, MIN(raised_at) AS first_raised_at, MAX(cleared_at) AS last_cleared_at FROM (${rest})
     GROUP BY kind, subject ORDER BY count DESC, kind, subject LIMIT ?`,
  ).all(since, limit, groups) as UnlistedAlarms[];
  const notes = listed.some((a) => a.cleared_by !== 'resolved') ? clearNotes(db, since) : new Map<string, string | null>();
  return { listed: listed.map((a) => ({ ...a, note: a.cleared_by === 'resolved' ? null : noteOf(notes, a) })), unlisted: { count, groups: byKind } };
}

export function listActiveAlarms(db: Db): AlarmRow[] {
  return db.prepare('SELECT * FROM alarms WHERE cleared_at IS NULL ORDER BY raised_at, id').all() as AlarmRow[];
}

/** The newest alarms, active or not, newest first. */
export function recentAlarms(db: Db, limit: number, beforeId = Number.MAX_SAFE_INTEGER): AlarmRow[] {
  return db.prepare('SELECT * FROM alarms WHERE id < ? ORDER BY id DESC LIMIT ?').all(beforeId, limit) as AlarmRow[];
}

/** Cleared alarms older than `before` (retention). */
export function purgeClearedAlarms(db: Db, before: string): number {
  return db.prepare('DELETE FROM alarms WHERE cleared_at IS NOT NULL AND cleared_at < ?').run(before).changes;
}
