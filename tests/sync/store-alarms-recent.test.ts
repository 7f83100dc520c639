/**
 * The village and town alarm views' `recent` (storeAlarms): each store's newest cleared
 * occurrences, read through an index (v20, cloud-sync/ledger/store-alarms-recent.ts) instead of
 * numbering the villages' whole history. The view is the one the window function gave wherever
 * that was determined, ties are settled one way on both databases, the limit holds per store,
 * and the planner reads the index. On SQLite, and on PostgreSQL with DATABASE_URL set.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { storeAlarms } from '../../cloud-sync/ledger/store-alarms.ts';
import { newestClearedSql } from '../../cloud-sync/ledger/store-alarms-recent.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

const T0 = Date.parse('2026-06-01T00:00:00.000Z');
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

interface Occ { village: string; store: string; id: number; kind: string; subject: string; raised: number; cleared: number | null }

async function insert(db: SqlDb, rows: Occ[]): Promise<void> {
  await db.runEach(
    `INSERT INTO store_alarms (village, store, occurrence, store_alarm_id, kind, subject, severity, detail, raised_at, last_seen_at, seen, cleared_at, first_heard_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'warning', $7, $8, $8, 1, $9, $10)`,
    rows.map((o) => [o.village, o.store, JSON.stringify([o.kind, o.subject, at(o.raised)]), o.id, o.kind, o.subject, `${o.kind} ${o.subject}`, at(o.raised), o.cleared === null ? null : at(o.cleared), at(o.raised + 1)]),
  );
}

/** The query storeAlarms ran up to v19, as it was. */
const windowSql = (villages: number): string => `SELECT * FROM (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.village, a.store ORDER BY a.cleared_at DESC, a.raised_at DESC) AS n
       FROM store_alarms a WHERE a.village IN (${Array.from({ length: villages }, (_v, i) => `$${i + 1}`).join(', ')}) AND a.cleared_at IS NOT NULL) t WHERE t.n <= $${villages + 1} ORDER BY cleared_at DESC`;

/** A small fixed pseudo-random sequence: the same history on every run and both databases. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
}

/** An occurrence of the view (`id`) or a row of the table (`store_alarm_id`), in brief. */
const brief = (a: { village: string; store: string; id?: number; store_alarm_id?: number | string; kind: string; subject: string; raised_at: string; cleared_at: string | null }) =>
  [a.village, a.store, Number(a.id ?? a.store_alarm_id), a.kind, a.subject, a.raised_at, a.cleared_at].join(' ');

describe(`the alarm views' latest cleared occurrences per store (${ledgerDbKind})`, () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  const ledger = async (stores: Record<string, string[]>): Promise<SqlDb> => {
    const t = await tempLedgerDb();
    drop = t.drop;
    for (const [village, ids] of Object.entries(stores)) {
      await addVillage(t.db, village, village, at(0));
      for (const id of ids) await registerStore(t.db, village, id, 'k', 'unused');
    }
    return t.db;
  };

  it('is the view the window function gave, where its order was determined: per store, across villages, at every limit', async () => {
    const db = await ledger({ v1: ['s1', 's2', 's3'], v2: ['s1', 's4'], v3: ['s1'] });
    const next = rng(7);
    const rows: Occ[] = [];
    let id = 0;
    // histories of 0 to 40 occurrences; clearing times distinct within a store (the window
    // function ordered the output by them alone), raising times in any order
    const sizes: Record<string, number> = { 'v1/s1': 40, 'v1/s2': 1, 'v1/s3': 0, 'v2/s1': 25, 'v2/s4': 7, 'v3/s1': 30 };
    for (const [key, n] of Object.entries(sizes)) {
      const [village, store] = key.split('/') as [string, string];
      const cleared = new Set<number>();
      while (cleared.size < n) cleared.add(10 + Math.floor(next() * 100_000));
      for (const c of cleared) rows.push({ village, store, id: ++id, kind: next() < 0.5 ? 'lock_unconfirmed' : 'scale_fault', subject: `slot ${id % 4}`, raised: c - 1 - Math.floor(next() * 5000), cleared: c });
      rows.push({ village, store, id: ++id, kind: 'camera_gone', subject: 'camera', raised: 200_000 + id, cleared: null });
    }
    // a store no longer registered: the view never showed its history
    rows.push({ village: 'v1', store: 'gone', id: id + 1, kind: 'scale_fault', subject: 'A1', raised: 5, cleared: 6 });
    await insert(db, rows);
    for (const villages of [['v1', 'v2'], ['v2'], ['v1', 'v2', 'v3']]) {
      for (const recent of [0, 1, 3, 20, 200]) {
        const before = await db.query<Parameters<typeof brief>[0]>(windowSql(villages.length), [...villages, recent]);
        const view = await storeAlarms(db, villages, recent);
        expect(view.map((s) => `${s.village}/${s.store}`)).toEqual(Object.keys(sizes).filter((k) => villages.includes(k.split('/')[0]!)));
        for (const s of view) {
          expect(s.recent.map(brief), `${s.village}/${s.store} recent ${recent}`).toEqual(before.filter((a) => a.village === s.village && a.store === s.store).map(brief));
          expect(s.active.map((a) => a.kind)).toEqual(['camera_gone']);
        }
      }
    }
  });

  it('keeps the newest per store, ties settled by raising time, then the store\'s alarm id, then the occurrence, newest first', async () => {
    const db = await ledger({ v1: ['s1', 's2'] });
    const occ = (store: string, id: number, kind: string, subject: string, raised: number, cleared: number): Occ => ({ village: 'v1', store, id, kind, subject, raised, cleared });
    await insert(db, [
      // one list cleared five at once, three of them raised together (a flapping lock's doors)
      occ('s1', 3, 'lock_unconfirmed', 'door 1', 100, 500),
      occ('s1', 5, 'lock_unconfirmed', 'door 2', 100, 500),
      occ('s1', 4, 'lock_unconfirmed', 'door 3', 100, 500),
      occ('s1', 2, 'scale_fault', 'A1', 90, 500),
      occ('s1', 9, 'scale_fault', 'A2', 120, 500),
      // the store's alarm ids began again (its database rebuilt): the occurrence settles it
      occ('s1', 1, 'camera_gone', 'camera', 50, 400),
      occ('s1', 1, 'disk_low', 'data', 50, 400),
      occ('s1', 7, 'scale_fault', 'A3', 10, 300),
      occ('s2', 1, 'scale_fault', 'A1', 10, 600),
      occ('s2', 2, 'scale_fault', 'A1', 20, 600),
    ]);
    const recent = async (n: number) => Object.fromEntries((await storeAlarms(db, ['v1'], n)).map((s) => [s.store, s.recent.map((a) => `${a.id} ${a.subject}`)]));
    const s1 = ['9 A2', '5 door 2', '4 door 3', '3 door 1', '2 A1', '1 data', '1 camera', '7 A3'];
    expect(await recent(3)).toEqual({ s1: s1.slice(0, 3), s2: ['2 A1', '1 A1'] });
    expect(await recent(6)).toEqual({ s1: s1.slice(0, 6), s2: ['2 A1', '1 A1'] });
    expect(await recent(1)).toEqual({ s1: s1.slice(0, 1), s2: ['2 A1'] });
    expect(await recent(20)).toEqual({ s1, s2: ['2 A1', '1 A1'] });
    expect(await recent(0)).toEqual({ s1: [], s2: [] });
  });

  it('is read through the v20 index, a store at a time', async () => {
    const db = await ledger({ v1: ['s1'] });
    const sql = newestClearedSql(db.dialect, 2);
    if (db.dialect === 'sqlite') {
      const plan = await db.query<{ id: number; parent: number; detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ['v1', 'v2', 20]);
      // from the stores, then each store's newest straight from the covering index in its order:
      // no sort inside the subquery (the one sort left is of the rows found, at most stores × recent)
      expect(plan[0]!.detail).toMatch(/^SEARCH s /);
      const sub = plan.find((r) => r.detail.startsWith('CORRELATED LIST SUBQUERY'))!;
      expect(plan.filter((r) => r.parent === sub.id).map((r) => r.detail)).toEqual(['SEARCH b USING COVERING INDEX store_alarms_newest (village=? AND store=? AND cleared_at>?)']);
    } else {
      const plan = await db.transaction(async (tx) => {
        // an empty table is cheapest to read whole: ask whether the index can serve at all
        await tx.exec('SET LOCAL enable_seqscan = off');
        return (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.replace('$1', "'v1'").replace('$2', "'v2'").replace('$3', '20')}`)).map((r) => r['QUERY PLAN']).join('\n');
      });
      expect(plan).toMatch(/Limit[^\n]*\n\s*->\s+Index Scan Backward using store_alarms_newest on store_alarms b/);
      expect(plan).not.toContain('WindowAgg');
    }
  });
});
