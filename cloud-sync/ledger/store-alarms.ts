/**
 * The stores' alarms as the village ledger keeps them (ledger schema v7). Each store publishes
 * its active alarms as one retained list (`vps/v1/<village>/store/<store>/alarms`,
 * cloud-sync/protocol/ops.ts); the ledger compares each list with what it holds and keeps one
 * row per occurrence (kind, subject and when the store raised it): new ones are added, the
 * ones still listed are brought up to date (seen, detail, severity, the maintainer's
 * acknowledgement), and the ones no longer listed are marked cleared at the list's time. The
 * rows with no `cleared_at` are a store's alarms as they stand; the others are its history.
 * A list older than the last one taken from that store (a retained copy delivered late) is
 * ignored. A list stamped beyond the ledger's receive time plus the allowed clock skew (a store
 * clock that ran fast, or a list forged on the unsigned retained topic) is taken at its receive
 * time, as a store's status row is (store-status.ts): otherwise its stamp would make every true
 * list after it stale until real time passed it, hiding the store's alarms. The list's `cleared`
 * names the alarms a maintainer cleared by hand at the store: who and why are kept on the
 * occurrence (v17), so the history tells them from those that resolved by themselves. The
 * history is kept `alarmKeepDays` (purgeStoreAlarms, run by the ledger's retention job,
 * retention.ts). Plain functions over the ledger's database, like tables.ts.
 */
import type { SqlDb } from './sql.ts';
import { opsCheckers, type Alarm, type AlarmsMessage } from '../protocol/ops.ts';
import { storeTime } from './store-time.ts';
import { decode } from '../protocol/payloads.ts';
import type { RefusalCounter } from '../protocol/refusals.ts';
import { DEFAULT_SKEW_MS } from '../protocol/clock.ts';
import { listStores } from './tables.ts';
import { newestClearedSql } from './store-alarms-recent.ts';

const tables = (bigint: string) => /* sql */ `
CREATE TABLE store_alarms (
  village          TEXT NOT NULL REFERENCES villages (id),
  store            TEXT NOT NULL,
  -- one occurrence: kind, subject and the store's raised_at, as a JSON array
  occurrence       TEXT NOT NULL,
  store_alarm_id   ${bigint} NOT NULL,
  kind             TEXT NOT NULL,
  subject          TEXT NOT NULL,
  severity         TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
  detail           TEXT NOT NULL,
  raised_at        TEXT NOT NULL,
  last_seen_at     TEXT NOT NULL,
  seen             ${bigint} NOT NULL,
  acknowledged_at  TEXT,
  acknowledged_by  TEXT,
  ack_note         TEXT,
  -- the time of the store's first list without it
  cleared_at       TEXT,
  first_heard_at   TEXT NOT NULL,
  PRIMARY KEY (village, store, occurrence)
);
CREATE INDEX store_alarms_active ON store_alarms (village, store) WHERE cleared_at IS NULL;
CREATE INDEX store_alarms_recent ON store_alarms (village, raised_at);
-- the last list taken from each store
CREATE TABLE store_alarm_lists (
  village      TEXT NOT NULL REFERENCES villages (id),
  store        TEXT NOT NULL,
  list_at      TEXT NOT NULL,
  received_at  TEXT NOT NULL,
  PRIMARY KEY (village, store)
);
`;

export const STORE_ALARMS_SQLITE = tables('INTEGER');
export const STORE_ALARMS_POSTGRES = tables('BIGINT');

export interface StoreAlarm {
  village: string;
  store: string;
  id: number;
  kind: string;
  subject: string;
  severity: 'warning' | 'critical';
  detail: string;
  raised_at: string;
  last_seen_at: string;
  seen: number;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  ack_note: string | null;
  cleared_at: string | null;
  first_heard_at: string;
  /** v17: the account that cleared it by hand at the store, and why; null when it cleared by itself. */
  cleared_by: string | null;
  clear_note: string | null;
  /** How it cleared, for the history: "cleared by hand by <account>: <note>" (both languages); null when by itself. */
  cleared_how: { en: string; zh: string } | null;
}

interface Row extends Omit<StoreAlarm, 'id' | 'seen' | 'cleared_how'> { occurrence: string; store_alarm_id: number | string; seen: number | string }

// JSON rather than a separator: a subject may hold any character, and PostgreSQL text no NUL
export const occurrenceOf = (a: Pick<Alarm, 'kind' | 'subject' | 'raised_at'>): string => JSON.stringify([a.kind, a.subject, a.raised_at]);
const clearedHow = (by: string | null, note: string | null): StoreAlarm['cleared_how'] => (by === null ? null : {
  en: `cleared by hand by ${by}${note ? `: ${note}` : ''}`,
  zh: `手动解除：${by}${note ? `，${note}` : ''}`,
});
/**
 * v17: who cleared an occurrence by hand at the store, and why (the alarms message's `cleared`).
 * An occurrence a maintainer cleared by hand was looked at as surely as an acknowledged one: the
 * purge may take it too (HANDLED), so the purge's index holds both.
 */
export const STORE_ALARMS_HAND_VERSION = 17;
const HANDLED = '(acknowledged_at IS NOT NULL OR cleared_by IS NOT NULL)';
export const STORE_ALARMS_HAND = /* sql */ `
ALTER TABLE store_alarms ADD COLUMN cleared_by TEXT;
ALTER TABLE store_alarms ADD COLUMN clear_note TEXT;
DROP INDEX store_alarms_purge;
CREATE INDEX store_alarms_purge ON store_alarms (cleared_at) WHERE cleared_at IS NOT NULL AND ${HANDLED};
`;

/** PostgreSQL's text holds no NUL character: a store's text is kept without it. */
export const noNul = (t: string): string => t.replaceAll('\u0000', '');
const withoutNul = (a: Alarm): Alarm => ({
  ...a, kind: noNul(a.kind), subject: noNul(a.subject), detail: noNul(a.detail),
  ...(a.acknowledged_by !== undefined ? { acknowledged_by: noNul(a.acknowledged_by) } : {}),
  ...(a.ack_note !== undefined ? { ack_note: noNul(a.ack_note) } : {}),
});

/**
 * What taking a list changed: occurrences added, updated, cleared, and marked cleared by hand
 * (`byHand`); `stale` when it was older than the last one.
 */
export interface ListOutcome { stale: boolean; raised: number; updated: number; cleared: number; byHand: number }

/**
 * A store's `alarms` message as the ledger's MQTT side receives it, for a store the ledger
 * knows: checked against the schema (refused and counted as `invalid` otherwise, like any
 * message), then taken. A list from a store the ledger does not know is left alone, uncounted,
 * like such a store's `status`: the lists are retained, so on a broker shared with other
 * villages' stores (or holding a retired store's last list) every connect would deliver them
 * again, and counting them would bury real refusals. An empty payload is a retained list being
 * removed from the broker: nothing to take.
 */
export async function onAlarmList(db: SqlDb, village: string, store: string, payload: Buffer, now: Date, refusals: RefusalCounter, skewMs?: number): Promise<ListOutcome | undefined> {
  if (payload.length === 0) return undefined;
  if (!(await listStores(db, village)).some((s) => s.id === store)) return undefined;
  const msg = decode(payload, opsCheckers.alarms);
  if (!msg.ok) return void refusals.add('invalid');
  return recordAlarmList(db, village, store, msg.value, now, skewMs);
}

/**
 * Take a store's list of active alarms (already checked against the schema; the store is known).
 * `skewMs`: a list's time beyond `now` by more is not trusted, and taken as `now`. Times are
 * compared as instants: the schema lets the fractional digits vary, so as text `…:00Z` would
 * sort after `…:00.5Z`.
 */
export async function recordAlarmList(db: SqlDb, village: string, store: string, msg: AlarmsMessage, now: Date, skewMs = DEFAULT_SKEW_MS): Promise<ListOutcome> {
  const given = Date.parse(msg.at);
  const listAt = new Date(given <= now.getTime() + skewMs ? given : now.getTime()).toISOString();
  return db.transaction(async (tx) => {
    const last = (await tx.query<{ list_at: string; received_at: string }>('SELECT list_at, received_at FROM store_alarm_lists WHERE village = $1 AND store = $2', [village, store]))[0];
    // a list kept before its time was bounded counts no later than its arrival and the skew
    if (last && Math.min(Date.parse(last.list_at), Date.parse(last.received_at) + skewMs) > Date.parse(listAt)) return { stale: true, raised: 0, updated: 0, cleared: 0, byHand: 0 };
    const heard = now.toISOString();
    const open = await tx.query<{ occurrence: string }>('SELECT occurrence FROM store_alarms WHERE village = $1 AND store = $2 AND cleared_at IS NULL', [village, store]);
    const listed = new Set<string>();
    const out: ListOutcome = { stale: false, raised: 0, updated: 0, cleared: 0, byHand: 0 };
    for (const given of msg.active) {
      const a = withoutNul(given);
      const occurrence = occurrenceOf(a);
      if (listed.has(occurrence)) continue;
      listed.add(occurrence);
      const ack = [a.acknowledged_at ?? null, a.acknowledged_by ?? null, a.ack_note ?? null];
      const changed = await tx.run(
        `UPDATE store_alarms SET store_alarm_id = $4, severity = $5, detail = $6, last_seen_at = $7, seen = $8, acknowledged_at = $9, acknowledged_by = $10, ack_note = $11, cleared_at = NULL, cleared_by = NULL, clear_note = NULL
         WHERE village = $1 AND store = $2 AND occurrence = $3`,
        [village, store, occurrence, a.id, a.severity, a.detail, a.last_seen_at, a.seen, ...ack],
      );
      if (changed > 0) {
        out.updated++;
        continue;
      }
      await tx.run(
        `INSERT INTO store_alarms (village, store, occurrence, store_alarm_id, kind, subject, severity, detail, raised_at, last_seen_at, seen, acknowledged_at, acknowledged_by, ack_note, first_heard_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [village, store, occurrence, a.id, a.kind, a.subject, a.severity, a.detail, a.raised_at, a.last_seen_at, a.seen, ...ack, heard],
      );
      out.raised++;
    }
    for (const o of open) {
      if (listed.has(o.occurrence)) continue;
      await tx.run('UPDATE store_alarms SET cleared_at = $4 WHERE village = $1 AND store = $2 AND occurrence = $3', [village, store, o.occurrence, listAt]);
      out.cleared++;
    }
    // the ones a maintainer cleared by hand: who and why, on an occurrence the ledger holds cleared
    // (one it never heard of while active has nothing to show beside it, and is left); the list
    // names them for days, so an occurrence marked already is left as it is
    for (const c of msg.cleared ?? []) {
      const occurrence = occurrenceOf({ kind: noNul(c.kind), subject: noNul(c.subject), raised_at: c.raised_at });
      if (listed.has(occurrence)) continue;
      out.byHand += await tx.run(
        'UPDATE store_alarms SET cleared_by = $4, clear_note = $5 WHERE village = $1 AND store = $2 AND occurrence = $3 AND cleared_at IS NOT NULL AND cleared_by IS NULL',
        [village, store, occurrence, noNul(c.cleared_by), c.note ? noNul(c.note) : null],
      );
    }
    await tx.run(
      `INSERT INTO store_alarm_lists (village, store, list_at, received_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (village, store) DO UPDATE SET list_at = excluded.list_at, received_at = excluded.received_at`,
      [village, store, listAt, heard],
    );
    return out;
  });
}

export interface StoreAlarmsView {
  village: string;
  store: string;
  /** The store's presence (its retained `status`: online / offline), null when never heard. */
  status: string | null;
  /** The time of the last list taken from the store, and when it arrived; null when none yet. */
  list_at: string | null;
  received_at: string | null;
  active: StoreAlarm[];
  /** The latest cleared occurrences, newest first (by clearing time, raising time, the store's alarm id, then the occurrence). */
  recent: StoreAlarm[];
  /** The time of the last alarm history taken from the store (store-alarm-history.ts), and when it arrived; null when none yet. */
  history_at: string | null;
  history_received_at: string | null;
  /** What that history left out (the store lists at most ALARM_HISTORY_MAX): how many, by kind and subject; null when nothing. */
  unlisted: { count: number; groups: { kind: string; subject: string; count: number; first_raised_at: string; last_cleared_at: string }[] } | null;
}

/**
 * An occurrence as the views show it, its store times as staff read them: by the store's clock,
 * but not beyond when the ledger had them plus the allowed skew (./store-time.ts), as a store's
 * entries are read: a store clock days fast would show an alarm raised, seen or acknowledged in
 * the future, raised after it cleared, and sorted below the alarms raised since. `raised_at` is
 * bounded by when the ledger first heard of it; `last_seen_at` and `acknowledged_at` (brought by
 * later lists) by the time it cleared, or while it is active by the receipt of the store's last
 * list (`lastReceived`, ms; null: none). The rows keep the store's own stamps: `raised_at` is part
 * of what names an occurrence. A view makes a thousand of these at a time (50 stores, 20 recent
 * each): built field by field, each bound parsed once, no rest or spread of the row. Copying rows
 * with rest and spread, capping through Date objects and filtering every row for each store took
 * longer than the query itself (bench/store-alarms-recent.ts, `view_ms` against `after_ms`: the
 * view's median 41-61 ms before, 20-34 after, the query alone 15-23, on both databases, on a
 * 2-core machine at load 14). The fields in the order the API has always given them
 * (tests/sync/store-alarms-view.test.ts).
 */
function asHeard(r: Row, lastReceived: number | null): StoreAlarm {
  const firstHeard = Date.parse(r.first_heard_at);
  const bound = r.cleared_at !== null ? Date.parse(r.cleared_at) : lastReceived ?? firstHeard;
  const cleared_by = r.cleared_by ?? null;
  const clear_note = r.clear_note ?? null;
  return {
    village: r.village,
    store: r.store,
    kind: r.kind,
    subject: r.subject,
    severity: r.severity,
    detail: r.detail,
    raised_at: capped(r.raised_at, firstHeard),
    last_seen_at: capped(r.last_seen_at, bound),
    acknowledged_at: r.acknowledged_at === null ? null : capped(r.acknowledged_at, bound),
    acknowledged_by: r.acknowledged_by,
    ack_note: r.ack_note,
    cleared_at: r.cleared_at,
    first_heard_at: r.first_heard_at,
    cleared_by,
    clear_note,
    id: Number(r.store_alarm_id),
    seen: Number(r.seen),
    cleared_how: clearedHow(cleared_by, clear_note),
  };
}

/** storeTime with the bound already parsed (ms): `stamp`, or the bound when beyond it plus the skew. */
const capped = (stamp: string, bound: number): string => storeTime(stamp, bound, DEFAULT_SKEW_MS);

/**
 * Every store of `villages` with its active alarms and its latest `recent` cleared ones. Each
 * row goes to its store through a map: the rows of a store not in `stores` (no longer
 * registered) go nowhere, as they never showed.
 */
export async function storeAlarms(db: SqlDb, villages: string[], recent: number): Promise<StoreAlarmsView[]> {
  if (villages.length === 0) return [];
  const marks = villages.map((_v, i) => `$${i + 1}`).join(', ');
  const stores = await db.query<{ village: string; id: string; status: string | null; list_at: string | null; received_at: string | null; history_at: string | null; history_received_at: string | null; unlisted: string | null }>(
    `SELECT s.village, s.id, s.status, l.list_at, l.received_at, h.history_at, h.received_at AS history_received_at, h.unlisted FROM stores s
     LEFT JOIN store_alarm_lists l ON l.village = s.village AND l.store = s.id
     LEFT JOIN store_alarm_histories h ON h.village = s.village AND h.store = s.id
     WHERE s.village IN (${marks}) ORDER BY s.village, s.id`,
    villages,
  );
  const views = stores.map((s): StoreAlarmsView => ({
    village: s.village,
    store: s.id,
    status: s.status,
    list_at: s.list_at,
    received_at: s.received_at,
    active: [],
    recent: [],
    history_at: s.history_at ?? null,
    history_received_at: s.history_received_at ?? null,
    unlisted: s.unlisted ? JSON.parse(s.unlisted) as StoreAlarmsView['unlisted'] : null,
  }));
  // by village, then store: a store id may be used in two villages
  const byStore = new Map<string, Map<string, { view: StoreAlarmsView; lastReceived: number | null }>>();
  for (const v of views) {
    let village = byStore.get(v.village);
    if (!village) byStore.set(v.village, (village = new Map()));
    village.set(v.store, { view: v, lastReceived: v.received_at === null ? null : Date.parse(v.received_at) });
  }
  // in the order raised as heard (compared as instants: the fractional digits vary)
  const active: { a: StoreAlarm; raised: number; view: StoreAlarmsView }[] = [];
  for (const r of await db.query<Row>(`SELECT * FROM store_alarms WHERE village IN (${marks}) AND cleared_at IS NULL`, villages)) {
    const s = byStore.get(r.village)?.get(r.store);
    if (!s) continue;
    const a = asHeard(r, s.lastReceived);
    active.push({ a, raised: Date.parse(a.raised_at), view: s.view });
  }
  active.sort((x, y) => x.raised - y.raised || x.a.id - y.a.id);
  for (const { a, view } of active) view.active.push(a);
  // the latest cleared per store, each store's newest through the v20 index, in the view's order
  // (store-alarms-recent.ts: at 21,000 cleared rows over 50 stores, 34.6 → 5.6 ms on SQLite, 24.1 → 5.4 ms on PostgreSQL)
  if (recent > 0) {
    for (const r of await db.query<Row>(newestClearedSql(db.dialect, villages.length), [...villages, recent])) {
      const s = byStore.get(r.village)?.get(r.store);
      if (s) s.view.recent.push(asHeard(r, s.lastReceived));
    }
  }
  return views;
}

/** Occurrences deleted per transaction: a large first purge never holds the ledger long. */
const PURGE_BATCH = 500;

export interface AlarmPurge { deleted: number; cutoff: string }

/**
 * Deletes the occurrences that cleared (by the store's list time) before `now - keepDays` and
 * that a maintainer acknowledged; 0 keeps them for ever. An alarm still active is a store's
 * state, never history. One cleared by hand at the store (v17) was dealt with as surely as one
 * acknowledged, and goes alike. One that cleared without anyone acknowledging it is kept: it is the
 * only trace that a condition (a lock that did not confirm, a scale gone, ledgers that
 * disagreed) came and went while nobody looked, which is what the village and the town check
 * a store's upkeep for; they are few (one row per occurrence, a repeat only counts `seen`).
 */
/**
 * v10: the retention job and the history list read occurrences by the time they cleared. Both
 * partial indexes hold only the history (cleared rows), never a store's active alarms; the purge's
 * holds only what it may delete (acknowledged), so its scan stops at the cutoff, not at the table.
 * v20 replaced store_alarms_history with store_alarms_newest (store-alarms-recent.ts).
 */
export const STORE_ALARMS_CLEARED = /* sql */ `
CREATE INDEX store_alarms_purge ON store_alarms (cleared_at) WHERE cleared_at IS NOT NULL AND acknowledged_at IS NOT NULL;
CREATE INDEX store_alarms_history ON store_alarms (village, store, cleared_at) WHERE cleared_at IS NOT NULL;
`;

/** The next batch the purge deletes (exported so a test can ask the planner how it is read). */
export const PURGE_DUE_SQL = `SELECT village, store, occurrence FROM store_alarms
       WHERE cleared_at IS NOT NULL AND cleared_at < $1 AND ${HANDLED}
       ORDER BY cleared_at LIMIT ${PURGE_BATCH}`;

/**
 * Whether the purge would delete an occurrence at once (the same rule as PURGE_DUE_SQL, for one
 * not in the table): dealt with at the store (acknowledged, or cleared by hand) and cleared
 * before `now - keepDays`; never with 0. The store's alarm history lists 7 days whatever the
 * ledger keeps, so the history does not add such an occurrence (store-alarm-history.ts): with a
 * `--alarm-keep-days` under 7 it would bring back what the purge deleted.
 */
export const purgeable = (a: { acknowledged_at: string | null; cleared_by: string | null; cleared_at: string }, keepDays: number, now: Date): boolean =>
  keepDays > 0 && (a.acknowledged_at !== null || a.cleared_by !== null) && Date.parse(a.cleared_at) < now.getTime() - keepDays * 86_400_000;

export async function purgeStoreAlarms(db: SqlDb, keepDays: number, now: Date): Promise<AlarmPurge> {
  const cutoff = new Date(now.getTime() - keepDays * 86_400_000).toISOString();
  const out: AlarmPurge = { deleted: 0, cutoff };
  if (keepDays <= 0) return out;
  for (;;) {
    const due = await db.query<{ village: string; store: string; occurrence: string }>(PURGE_DUE_SQL, [cutoff]);
    if (due.length === 0) return out;
    const before = out.deleted;
    await db.transaction(async (tx) => {
      for (const a of due) {
        // the same conditions again: a list taken meanwhile may have raised the occurrence again
        out.deleted += await tx.run(
          `DELETE FROM store_alarms WHERE village = $1 AND store = $2 AND occurrence = $3 AND cleared_at IS NOT NULL AND cleared_at < $4 AND ${HANDLED}`,
          [a.village, a.store, a.occurrence, cutoff],
        );
      }
    });
    if (out.deleted === before) return out;
  }
}
