/**
 * The stores' alarm histories as the village ledger takes them (ledger schema v19): each store
 * publishes, retained on `…/store/<store>/alarm-history` (cloud-sync/protocol/ops.ts), the alarms
 * that ended lately, each as it last stood with when and by whom it cleared. An alarm raised and
 * cleared while the store was offline never stood in a list the ledger took (store-alarms.ts):
 * the history brings it. Each occurrence (kind, subject, the store's raised_at) is applied once:
 * one the ledger never held is added, cleared; one it holds active is cleared at the store's
 * time; one it marked cleared at a later list (the store's first list after a reconnect) takes
 * the store's earlier clearing time; who cleared it by hand is kept as with the list's
 * `cleared` (the first hand named stands). Taking the same history again (a retransmit, a
 * reconnect, the broker's retained copy at the ledger's connect) changes nothing. The ones the
 * store left out (`unlisted`, counted by kind and subject) are kept as the store's latest
 * history says, not added up: each history counts its own window. The history lists 7 days
 * whatever the ledger keeps (`--alarm-keep-days`): an occurrence the ledger does not hold that its
 * retention would delete at once (acknowledged or cleared by hand, ended before its horizon:
 * store-alarms.ts `purgeable`) is not added, so a shorter period does not bring back at every
 * connect what the purge deleted.
 */
import type { SqlDb } from './sql.ts';
import { opsCheckers, type AlarmHistory, type EndedAlarm } from '../protocol/ops.ts';
import { decode } from '../protocol/payloads.ts';
import type { RefusalCounter } from '../protocol/refusals.ts';
import { DEFAULT_SKEW_MS } from '../protocol/clock.ts';
import { listStores } from './tables.ts';
import { noNul, occurrenceOf, onAlarmList, purgeable } from './store-alarms.ts';

export const STORE_ALARM_HISTORY_VERSION = 19;
/** v19: the last alarm history taken from each store, and what it left out. */
export const STORE_ALARM_HISTORY = /* sql */ `
CREATE TABLE store_alarm_histories (
  village      TEXT NOT NULL REFERENCES villages (id),
  store        TEXT NOT NULL,
  history_at   TEXT NOT NULL,
  received_at  TEXT NOT NULL,
  since        TEXT NOT NULL,
  -- JSON {count, groups:[{kind, subject, count, first_raised_at, last_cleared_at}]}, null: nothing left out
  unlisted     TEXT,
  PRIMARY KEY (village, store)
);
`;

/** What taking a history did: occurrences added (never held), closed (held active), given an earlier clearing time, marked cleared by hand. */
export interface HistoryOutcome { stale: boolean; added: number; closed: number; earlier: number; byHand: number }

/** The store's `resolved`: cleared by itself. Any other name is the account that cleared it by hand. */
const RESOLVED = 'resolved';

/**
 * A store's `alarm-history` as the ledger's MQTT side receives it: for a store the ledger knows,
 * checked against the schema (refused and counted as `invalid` otherwise), then taken; a store it
 * does not know, or an empty payload (a retained message removed), is left alone, as with the list.
 */
export async function onAlarmHistory(db: SqlDb, village: string, store: string, payload: Buffer, now: Date, refusals: RefusalCounter, skewMs?: number, keepDays = 0): Promise<HistoryOutcome | undefined> {
  if (payload.length === 0) return undefined;
  if (!(await listStores(db, village)).some((s) => s.id === store)) return undefined;
  const msg = decode(payload, opsCheckers.alarmHistory);
  if (!msg.ok) return void refusals.add('invalid');
  return recordAlarmHistory(db, village, store, msg.value, now, skewMs, keepDays);
}

/**
 * A turn's alarm messages (`history`: on `alarm-history`, else on `alarms`), the lists first: a
 * list clears what it no longer names at its own time, and a history taken after it then gives
 * such an occurrence the store's clearing time. One message failing (the database away) is
 * told to `failed` and does not keep the others from being taken. `keepDays`: the ledger's
 * `--alarm-keep-days` (0: for ever), beyond which a history adds nothing its purge would delete.
 */
export async function onAlarmMessages(db: SqlDb, msgs: { village: string; store: string; payload: Buffer; history: boolean }[], now: () => Date, refusals: RefusalCounter, failed: (what: string, err: unknown) => void, keepDays = 0): Promise<void> {
  for (const m of [...msgs.filter((x) => !x.history), ...msgs.filter((x) => x.history)]) {
    try {
      if (m.history) await onAlarmHistory(db, m.village, m.store, m.payload, now(), refusals, DEFAULT_SKEW_MS, keepDays);
      else await onAlarmList(db, m.village, m.store, m.payload, now(), refusals, DEFAULT_SKEW_MS);
    } catch (err) {
      failed(m.history ? 'alarm history' : 'alarms', err);
    }
  }
}

interface Held { cleared_at: string | null; cleared_by: string | null; clear_note: string | null; seen: number | string; last_seen_at: string }

/** A store time no later than `now` plus the skew (a store clock that ran fast), as an instant's ISO text. */
const bounded = (stamp: string, now: Date, skewMs: number): string => new Date(Date.parse(stamp) <= now.getTime() + skewMs ? Date.parse(stamp) : now.getTime()).toISOString();

/** Take a store's alarm history (already checked; the store is known); `keepDays` as in onAlarmMessages. */
export async function recordAlarmHistory(db: SqlDb, village: string, store: string, msg: AlarmHistory, now: Date, skewMs = DEFAULT_SKEW_MS, keepDays = 0): Promise<HistoryOutcome> {
  const heard = now.toISOString();
  const at = bounded(msg.at, now, skewMs);
  return db.transaction(async (tx) => {
    const out: HistoryOutcome = { stale: false, added: 0, closed: 0, earlier: 0, byHand: 0 };
    const ended = new Map<string, EndedAlarm>();
    for (const e of msg.ended) {
      const a = { ...e, kind: noNul(e.kind), subject: noNul(e.subject), detail: noNul(e.detail) };
      if (!ended.has(occurrenceOf(a))) ended.set(occurrenceOf(a), a);
    }
    // what the ledger holds of them, in one read (at most ALARM_HISTORY_MAX)
    const names = [...ended.keys()];
    const holds = new Map(names.length === 0 ? [] : (await tx.query<Held & { occurrence: string }>(
      `SELECT occurrence, cleared_at, cleared_by, clear_note, seen, last_seen_at FROM store_alarms WHERE village = $1 AND store = $2 AND occurrence IN (${names.map((_n, i) => `$${i + 3}`).join(', ')})`,
      [village, store, ...names],
    )).map((r) => [r.occurrence, r]));
    for (const [occurrence, a] of ended) {
      const clearedAt = bounded(a.cleared_at, now, skewMs);
      const hand = a.cleared_by === RESOLVED ? null : { by: noNul(a.cleared_by), note: a.note ? noNul(a.note) : null };
      const held = holds.get(occurrence);
      if (!held) {
        // what the purge deleted, or would at once, stays away
        if (purgeable({ acknowledged_at: a.acknowledged_at ?? null, cleared_by: hand?.by ?? null, cleared_at: clearedAt }, keepDays, now)) continue;
        await insertEnded(tx, village, store, occurrence, a, clearedAt, hand, heard);
        out.added++;
        if (hand) out.byHand++;
        continue;
      }
      const closes = held.cleared_at === null;
      const earlier = !closes && Date.parse(clearedAt) < Date.parse(held.cleared_at!);
      const marks = hand !== null && held.cleared_by === null;
      // the store's last word on the occurrence: how often it was seen, its detail and acknowledgement
      const later = a.seen > Number(held.seen) || (a.seen === Number(held.seen) && Date.parse(a.last_seen_at) > Date.parse(held.last_seen_at));
      if (!closes && !earlier && !marks && !later) continue;
      await tx.run(
        `UPDATE store_alarms SET cleared_at = $4, cleared_by = $5, clear_note = $6${later ? ', severity = $7, detail = $8, last_seen_at = $9, seen = $10, acknowledged_at = $11, acknowledged_by = $12, ack_note = $13' : ''}
         WHERE village = $1 AND store = $2 AND occurrence = $3`,
        [village, store, occurrence, closes || earlier ? clearedAt : held.cleared_at, marks ? hand.by : held.cleared_by, marks ? hand.note : held.clear_note,
          ...(later ? [a.severity, a.detail, a.last_seen_at, a.seen, a.acknowledged_at ?? null, a.acknowledged_by ? noNul(a.acknowledged_by) : null, a.ack_note ? noNul(a.ack_note) : null] : [])],
      );
      if (closes) out.closed++;
      if (earlier) out.earlier++;
      if (marks) out.byHand++;
    }
    const last = (await tx.query<{ history_at: string }>('SELECT history_at FROM store_alarm_histories WHERE village = $1 AND store = $2', [village, store]))[0];
    // an older history (a copy delivered late) adds what it names, but does not replace the count of what the store left out
    if (last && Date.parse(last.history_at) > Date.parse(at)) return { ...out, stale: true };
    await tx.run(
      `INSERT INTO store_alarm_histories (village, store, history_at, received_at, since, unlisted) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (village, store) DO UPDATE SET history_at = excluded.history_at, received_at = excluded.received_at, since = excluded.since, unlisted = excluded.unlisted`,
      [village, store, at, heard, bounded(msg.since, now, skewMs), msg.unlisted && msg.unlisted.count > 0 ? JSON.stringify({ count: msg.unlisted.count, groups: msg.unlisted.groups.map((g) => ({ kind: noNul(g.kind), subject: noNul(g.subject), count: g.count, first_raised_at: g.first_raised_at, last_cleared_at: g.last_cleared_at })) }) : null],
    );
    return out;
  });
}

async function insertEnded(tx: SqlDb, village: string, store: string, occurrence: string, a: EndedAlarm, clearedAt: string, hand: { by: string; note: string | null } | null, heard: string): Promise<void> {
  await tx.run(
    `INSERT INTO store_alarms (village, store, occurrence, store_alarm_id, kind, subject, severity, detail, raised_at, last_seen_at, seen, acknowledged_at, acknowledged_by, ack_note, first_heard_at, cleared_at, cleared_by, clear_note)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
    [village, store, occurrence, a.id, a.kind, a.subject, a.severity, a.detail, a.raised_at, a.last_seen_at, a.seen, a.acknowledged_at ?? null, a.acknowledged_by ? noNul(a.acknowledged_by) : null, a.ack_note ? noNul(a.ack_note) : null, heard, clearedAt, hand?.by ?? null, hand?.note ?? null],
  );
}
