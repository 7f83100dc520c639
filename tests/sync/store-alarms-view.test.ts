/**
 * The alarm views (storeAlarms) give each store its own rows, in order, with its store times
 * capped, exactly as the first way of writing it did: every store of the villages asked for, its
 * active alarms by raising time as heard, its newest cleared ones, each occurrence's fields in
 * the same order. The reference below is that first way (each row copied with rest and spread,
 * its times through storeTime, each store's rows found by filtering all of them), kept as it was
 * so the output, key order included, is compared whole on a generated ledger: two villages
 * sharing store ids, stores with no alarms, a store no longer registered, store clocks run fast,
 * acknowledgements, hand clears, times with and without fractional digits. On SQLite, and on
 * PostgreSQL with DATABASE_URL set.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { storeAlarms, type StoreAlarm, type StoreAlarmsView } from '../../cloud-sync/ledger/store-alarms.ts';
import { newestClearedSql } from '../../cloud-sync/ledger/store-alarms-recent.ts';
import { storeTime } from '../../cloud-sync/ledger/store-time.ts';
import { DEFAULT_SKEW_MS } from '../../cloud-sync/protocol/clock.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

type Row = Omit<StoreAlarm, 'id' | 'seen' | 'cleared_how'> & { occurrence: string; store_alarm_id: number | string; seen: number | string };

/** storeAlarms as it was first written: the reference the faster one must equal. */
async function referenceView(db: SqlDb, villages: string[], recent: number): Promise<StoreAlarmsView[]> {
  const marks = villages.map((_v, i) => `$${i + 1}`).join(', ');
  const stores = await db.query<{ village: string; id: string; status: string | null; list_at: string | null; received_at: string | null; history_at: string | null; history_received_at: string | null; unlisted: string | null }>(
    `SELECT s.village, s.id, s.status, l.list_at, l.received_at, h.history_at, h.received_at AS history_received_at, h.unlisted FROM stores s
     LEFT JOIN store_alarm_lists l ON l.village = s.village AND l.store = s.id
     LEFT JOIN store_alarm_histories h ON h.village = s.village AND h.store = s.id
     WHERE s.village IN (${marks}) ORDER BY s.village, s.id`,
    villages,
  );
  const clearedHow = (by: string | null, note: string | null): StoreAlarm['cleared_how'] => (by === null ? null : {
    en: `cleared by hand by ${by}${note ? `: ${note}` : ''}`,
    zh: `手动解除：${by}${note ? `，${note}` : ''}`,
  });
  const fromRow = ({ occurrence: _o, store_alarm_id, seen, ...r }: Row): StoreAlarm => ({
    ...r, id: Number(store_alarm_id), seen: Number(seen), cleared_by: r.cleared_by ?? null, clear_note: r.clear_note ?? null, cleared_how: clearedHow(r.cleared_by ?? null, r.clear_note ?? null),
  });
  const asHeard = (a: StoreAlarm, lastReceived: string | null): StoreAlarm => {
    const bound = new Date(a.cleared_at ?? lastReceived ?? a.first_heard_at);
    return {
      ...a,
      raised_at: storeTime(a.raised_at, new Date(a.first_heard_at), DEFAULT_SKEW_MS),
      last_seen_at: storeTime(a.last_seen_at, bound, DEFAULT_SKEW_MS),
      acknowledged_at: a.acknowledged_at === null ? null : storeTime(a.acknowledged_at, bound, DEFAULT_SKEW_MS),
    };
  };
  const lastReceived = new Map(stores.map((s) => [`${s.village}\u0000${s.id}`, s.received_at]));
  const heard = (r: Row): StoreAlarm => asHeard(fromRow(r), lastReceived.get(`${r.village}\u0000${r.store}`) ?? null);
  const active = (await db.query<Row>(`SELECT * FROM store_alarms WHERE village IN (${marks}) AND cleared_at IS NULL`, villages)).map(heard)
    .sort((a, b) => Date.parse(a.raised_at) - Date.parse(b.raised_at) || a.id - b.id);
  const past = recent > 0 ? (await db.query<Row>(newestClearedSql(db.dialect, villages.length), [...villages, recent])).map(heard) : [];
  return stores.map((s) => ({
    village: s.village,
    store: s.id,
    status: s.status,
    list_at: s.list_at,
    received_at: s.received_at,
    active: active.filter((a) => a.village === s.village && a.store === s.id),
    recent: past.filter((a) => a.village === s.village && a.store === s.id),
    history_at: s.history_at ?? null,
    history_received_at: s.history_received_at ?? null,
    unlisted: s.unlisted ? JSON.parse(s.unlisted) as StoreAlarmsView['unlisted'] : null,
  }));
}

const T0 = Date.parse('2026-06-01T00:00:00.000Z');
/** A time `minutes` after T0; every third without its fractional digits (the schema lets them vary). */
const at = (minutes: number, whole = false): string => {
  const iso = new Date(T0 + Math.round(minutes * 60_000)).toISOString();
  return whole ? iso.replace(/\.\d+Z$/, 'Z') : iso;
};

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
}

/** Two villages sharing store ids, 40 stores in all, a few thousand occurrences of every sort (one transaction: quicker). */
const seed = (ledger: SqlDb): Promise<void> => ledger.transaction((db) => seedIn(db));

async function seedIn(db: SqlDb): Promise<void> {
  const next = rng(20261204);
  const pick = (n: number): number => Math.floor(next() * n);
  const stores: [string, string][] = [];
  for (const [village, n] of [['v1', 30], ['v2', 10]] as const) {
    await addVillage(db, village, village, at(0));
    for (let i = 0; i < n; i++) {
      await registerStore(db, village, `s${i}`, 'k', 'unused');
      stores.push([village, `s${i}`]);
    }
  }
  // a store no longer registered: its rows never show
  stores.push(['v1', 'gone']);
  const rows: unknown[][] = [];
  for (const [village, store] of stores) {
    const cleared = pick(5) === 0 ? 0 : pick(120);
    const active = pick(6);
    for (let i = 0; i < cleared + active; i++) {
      const live = i >= cleared;
      // a store clock days fast now and then: its stamps lie beyond when the ledger heard them
      const fast = pick(8) === 0 ? 3 * 24 * 60 : 0;
      // raised together now and then (one list raising several), cleared together likewise
      const raised = 10 * Math.floor(pick(100_000) / 10) + pick(3) / 7;
      const heard = raised + (fast ? -fast : pick(3));
      const clearedAt = live ? null : at(raised + 5 + 10 * pick(30), pick(3) === 0);
      const acked = pick(4) === 0;
      const hand = !live && pick(6) === 0;
      const kind = ['lock_unconfirmed', 'scale_fault', 'villager_id_taken'][pick(3)]!;
      const subject = `slot ${pick(5)}`;
      const raisedAt = at(raised, pick(3) === 0);
      rows.push([
        village, store, JSON.stringify([kind, subject, raisedAt, i]), 1 + pick(40), kind, subject, pick(2) ? 'warning' : 'critical', `detail ${i}`,
        raisedAt, at(raised + pick(600) + fast, pick(3) === 0), 1 + pick(50),
        acked ? at(raised + pick(900) + fast) : null, acked ? 'wang' : null, acked && pick(2) ? '已到场' : null,
        clearedAt, at(heard), hand ? 'li' : null, hand && pick(2) ? '村里已更正' : null,
      ]);
    }
  }
  await db.runEach(
    `INSERT INTO store_alarms (village, store, occurrence, store_alarm_id, kind, subject, severity, detail, raised_at, last_seen_at, seen, acknowledged_at, acknowledged_by, ack_note, cleared_at, first_heard_at, cleared_by, clear_note)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
    rows,
  );
  // the last list of most stores (the active ones' bound), the last history of some
  for (const [village, store] of stores) {
    if (pick(4) > 0) await db.run('INSERT INTO store_alarm_lists (village, store, list_at, received_at) VALUES ($1, $2, $3, $4)', [village, store, at(100_000 + pick(50)), at(100_000 + pick(50), pick(2) === 0)]);
    if (pick(3) === 0) {
      const unlisted = pick(2) ? JSON.stringify({ count: 3, groups: [{ kind: 'lock_unconfirmed', subject: 'door 1', count: 3, first_raised_at: at(5), last_cleared_at: at(9) }] }) : null;
      await db.run('INSERT INTO store_alarm_histories (village, store, history_at, received_at, since, unlisted) VALUES ($1, $2, $3, $4, $5, $6)', [village, store, at(100_000), at(100_001), at(90_000), unlisted]);
    }
  }
}

describe(`the alarm views give each store its own rows, as before (${ledgerDbKind})`, () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  it('equals the first way of writing it, whole and in order, across villages and limits', async () => {
    const t = await tempLedgerDb();
    drop = t.drop;
    await seed(t.db);
    let capped = 0;
    for (const villages of [['v1'], ['v2'], ['v1', 'v2']]) {
      for (const recent of [0, 1, 7, 20, 200]) {
        const view = await storeAlarms(t.db, villages, recent);
        const before = await referenceView(t.db, villages, recent);
        expect(JSON.stringify(view), `${villages.join(',')} recent ${recent}`).toBe(JSON.stringify(before));
        capped += view.flatMap((s) => [...s.active, ...s.recent]).filter((a) => Date.parse(a.raised_at) > Date.parse(a.first_heard_at)).length;
      }
    }
    // the generated set has what the comparison is about: many stores with rows, a store clock run fast
    const all = await storeAlarms(t.db, ['v1', 'v2'], 200);
    expect(all).toHaveLength(40);
    expect(all.filter((s) => s.active.length > 0).length).toBeGreaterThan(20);
    expect(all.filter((s) => s.recent.length > 0).length).toBeGreaterThan(20);
    expect(all.flatMap((s) => s.recent).length).toBeGreaterThan(1000);
    expect(all.flatMap((s) => s.recent).some((a) => a.cleared_how !== null)).toBe(true);
    expect(all.find((s) => s.village === 'v2' && s.store === 's1')!.recent.every((a) => a.village === 'v2')).toBe(true);
    // the cap was at work: no raised_at shown after the ledger heard of it plus the skew
    expect(capped).toBe(0);
    const raw = await t.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM store_alarms WHERE first_heard_at < raised_at`);
    expect(Number(raw[0]!.n)).toBeGreaterThan(50);
  });
});
