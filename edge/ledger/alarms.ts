/** Alarms in the ledger (table alarms, schema version 5): raised, repeated while active, cleared. */
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
}

export function activeAlarm(db: Db, kind: string, subject: string): AlarmRow | undefined {
  return db.prepare('SELECT * FROM alarms WHERE kind = ? AND subject = ? AND cleared_at IS NULL').get(kind, subject) as AlarmRow | undefined;
}

/**
 * Raise an alarm, or note that an active one is still there (its detail and last sighting are
 * updated, `seen` counts the repeats). Returns the row and whether it is new.
 */
export function raiseAlarm(db: Db, a: { kind: string; subject: string; severity: AlarmSeverity; detail: string }, at: string): { row: AlarmRow; fresh: boolean } {
  return db.transaction(() => {
    const open = activeAlarm(db, a.kind, a.subject);
    if (open) {
      db.prepare('UPDATE alarms SET detail = ?, severity = ?, last_seen_at = ?, seen = seen + 1 WHERE id = ?').run(a.detail, a.severity, at, open.id);
      return { row: { ...open, detail: a.detail, severity: a.severity, last_seen_at: at, seen: open.seen + 1 }, fresh: false };
    }
    const info = db.prepare('INSERT INTO alarms (kind, subject, severity, detail, raised_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)').run(a.kind, a.subject, a.severity, a.detail, at, at);
    return { row: db.prepare('SELECT * FROM alarms WHERE id = ?').get(info.lastInsertRowid) as AlarmRow, fresh: true };
  })();
}

/** Clear the active alarm of (kind, subject); the cleared row, or undefined when none was active. */
export function clearAlarm(db: Db, kind: string, subject: string, at: string, by: string): AlarmRow | undefined {
  const open = activeAlarm(db, kind, subject);
  if (!open) return undefined;
  db.prepare('UPDATE alarms SET cleared_at = ?, cleared_by = ? WHERE id = ?').run(at, by, open.id);
  return { ...open, cleared_at: at, cleared_by: by };
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
