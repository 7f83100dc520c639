/**
 * What a villager owes the village's stores (docs/sync-offline.md, "Debt at the ledger"). A store
 * charges a deduction down to its credit floor and records the rest as the villager's debt
 * (edge/ledger/entries.ts); later earnings there repay it first, each store its own, as a
 * redemption referring to `debt:<earning>` (id `<earning>#debt@<store>`). The ledger learns it
 * from what the stores send: the `debt` of a settled `session` row (the exit rule: the goods
 * taken beyond the balance) and of an `entry` row (a review charge, a penalty, a negative
 * adjustment made at the store; of 0 points when it found the balance at the floor, taken for its
 * debt only: floorDebtOf, ./floor-debts.ts), and each repayment entry.
 *
 * Kept in `villager_debts` (ledger schema v23), one row per source and store: `session:<id>`
 * (a session sent again under a new row id, rows moved after a rollback, is one), `entry:<id>`
 * (an entry the ledger applied, or a deduction at the floor, the first row that brought it: an
 * entry id sent again, a copy, a clash or another village's villager adds nothing), and for a
 * floor debt the same store paid in points later by an entry of its id, `paid:<id>` (less that
 * debt, at its seq) and `charged:<id>` (the entry's own debt: ./floor-debts.ts). `points` is
 * what the source added to the debt, a repayment's negative. A store's debt is read in its own
 * order (the rows' seq), never below 0 at any step: a store repays only what it holds owed, so a
 * repayment of a debt the ledger never heard of (a deduction at the floor a store sent to a
 * ledger older than floorDebtOf, which counted it unapplied) cannot cancel a later debt. The
 * villager's debt is the sum of their stores'.
 * Snapshots and the stream bring a store's entries to the other stores with no debt and no
 * repayment there: nothing of them comes back, and none is counted here.
 */
import type { SqlDb } from './sql.ts';

export const VILLAGER_DEBTS_VERSION = 23;

const TABLE = (bigint: string) => /* sql */ `
CREATE TABLE villager_debts (
  village      TEXT NOT NULL,
  store        TEXT NOT NULL,
  source       TEXT NOT NULL,
  villager_id  TEXT NOT NULL,
  seq          ${bigint} NOT NULL,
  points       ${bigint} NOT NULL,
  PRIMARY KEY (village, store, source)
);
CREATE INDEX villager_debts_villager ON villager_debts (village, villager_id);
`;

/** The largest debt one row may carry: a wire entry's points bound. */
export const DEBT_MAX = 1_000_000_000;

/** The rows held before v23, taken again from `acked_ids` (in the stores' order: the first row of a source counts). */
export const VILLAGER_DEBTS_SQLITE = /* sql */ `${TABLE('INTEGER')}
INSERT INTO villager_debts (village, store, source, villager_id, seq, points)
  SELECT a.village, a.store, 'session:' || json_extract(a.payload, '$.id'), json_extract(a.payload, '$.villager'), a.seq, json_extract(a.payload, '$.debt')
  FROM acked_ids a
  WHERE a.topic = 'session' AND json_type(a.payload, '$.id') = 'text' AND json_type(a.payload, '$.villager') = 'text' AND json_type(a.payload, '$.cancelled') IS NULL
    AND json_type(a.payload, '$.debt') = 'integer' AND json_extract(a.payload, '$.debt') BETWEEN 1 AND ${DEBT_MAX}
  ORDER BY a.seq
  ON CONFLICT DO NOTHING;
INSERT INTO villager_debts (village, store, source, villager_id, seq, points)
  SELECT a.village, a.store, 'entry:' || e.id, e.villager_id, a.seq,
    CASE WHEN e.kind = 'redemption' AND substr(e.reference, 1, 5) = 'debt:' THEN e.points ELSE json_extract(a.payload, '$.debt') END
  FROM acked_ids a JOIN entries e ON e.id = json_extract(a.payload, '$.id') AND e.village = a.village AND e.origin_store = a.store
    AND e.villager_id = json_extract(a.payload, '$.villager') AND e.points = json_extract(a.payload, '$.points')
  WHERE a.topic = 'entry' AND e.points < 0 AND ((e.kind = 'redemption' AND substr(e.reference, 1, 5) = 'debt:')
    OR (json_type(a.payload, '$.debt') = 'integer' AND json_extract(a.payload, '$.debt') BETWEEN 1 AND ${DEBT_MAX}))
  ORDER BY a.seq
  ON CONFLICT DO NOTHING;
`;

// The cast to jsonb only for a payload without an escaped NUL or lone surrogate, which jsonb
// refuses (villager-names-repair.ts), in a CASE; the debt's text checked before it is cast.
const DEBT_TEXT = `'^[1-9][0-9]{0,8}$|^1000000000$'`;
export const VILLAGER_DEBTS_POSTGRES = /* sql */ `${TABLE('BIGINT')}
WITH rows AS (
  SELECT a.village, a.store, a.seq, a.topic,
    CASE WHEN strpos(a.payload, '\\u0000') = 0 AND a.payload !~* '\\\\ud[89a-f]' THEN a.payload::jsonb END AS p
  FROM acked_ids a WHERE a.topic IN ('session', 'entry')
), sessions AS (
  SELECT village, store, seq, p ->> 'id' AS id, p ->> 'villager' AS villager, CASE WHEN p ->> 'debt' ~ ${DEBT_TEXT} THEN (p ->> 'debt')::bigint END AS debt
  FROM rows WHERE topic = 'session' AND jsonb_typeof(p) = 'object' AND jsonb_typeof(p -> 'id') = 'string'
    AND jsonb_typeof(p -> 'villager') = 'string' AND NOT (p ? 'cancelled') AND jsonb_typeof(p -> 'debt') = 'number'
), entry_rows AS (
  SELECT village, store, seq, p ->> 'id' AS id, p ->> 'villager' AS villager, p ->> 'points' AS points,
    CASE WHEN jsonb_typeof(p -> 'debt') = 'number' AND p ->> 'debt' ~ ${DEBT_TEXT} THEN (p ->> 'debt')::bigint END AS debt
  FROM rows WHERE topic = 'entry' AND jsonb_typeof(p) = 'object' AND jsonb_typeof(p -> 'id') = 'string'
), found AS (
  SELECT s.village, s.store, 'session:' || s.id AS source, s.villager AS villager_id, s.seq, s.debt AS points
  FROM sessions s WHERE s.debt IS NOT NULL
  UNION ALL
  SELECT r.village, r.store, 'entry:' || e.id, e.villager_id, r.seq,
    CASE WHEN e.kind = 'redemption' AND substr(e.reference, 1, 5) = 'debt:' THEN e.points ELSE r.debt END
  FROM entry_rows r JOIN entries e ON e.id = r.id AND e.village = r.village AND e.origin_store = r.store AND e.villager_id = r.villager AND e.points::text = r.points
  WHERE e.points < 0 AND ((e.kind = 'redemption' AND substr(e.reference, 1, 5) = 'debt:') OR r.debt IS NOT NULL)
)
INSERT INTO villager_debts (village, store, source, villager_id, seq, points)
  SELECT village, store, source, villager_id, seq, points FROM found ORDER BY seq
  ON CONFLICT DO NOTHING;
`;

/** One source of a store's debt or its repayment, from a batch of store rows (./rows.ts). */
export interface DebtRow { village: string; store: string; source: string; villager: string; seq: number; points: number }

/** A wire `debt` the ledger takes: a positive integer within the points' bound. */
export const debtOf = (p: unknown): number | undefined => {
  const d = typeof p === 'object' && p !== null ? (p as { debt?: unknown }).debt : undefined;
  return typeof d === 'number' && Number.isSafeInteger(d) && d > 0 && d <= DEBT_MAX ? d : undefined;
};

/** The kinds that deduct: the only ones a store sends as a debt without points (floorDebtOf). */
const DEDUCTING = new Set(['penalty', 'redemption', 'expiry', 'adjustment']);

/**
 * A store's deduction that found the villager at or below its credit floor: it charged 0 points and
 * all it asked is debt (edge/ledger/entries.ts `applyEntry`), sent as an `entry` row of 0 points
 * with that `debt`. Its debt when it is one: 0 points, a kind that deducts, a `debt` debtOf takes,
 * and not a repayment's reference (`debt:…`, which always moves points). Recorded as a debt only:
 * never an entry here, never on the stream (the stores refuse an entry of 0).
 */
export function floorDebtOf(e: { kind: string; points: number; reference?: string | null | undefined }): number | undefined {
  if (e.points !== 0 || !DEDUCTING.has(e.kind) || (e.reference ?? '').startsWith('debt:')) return undefined;
  return debtOf(e);
}

/** A store's repayment of its own debt (edge/ledger/entries.ts `repayDebt`). */
export const isRepayment = (e: { kind: string; points: number; reference?: string | null | undefined }): boolean =>
  e.kind === 'redemption' && e.points < 0 && (e.reference ?? '').startsWith('debt:');

/** A settled `session` row's debt (a cancelled one has none), when it names a session and a villager. */
export function sessionDebt(village: string, store: string, seq: number, p: unknown): DebtRow | undefined {
  const debt = debtOf(p);
  if (debt === undefined) return undefined;
  const s = p as { id?: unknown; villager?: unknown; cancelled?: unknown };
  if (typeof s.id !== 'string' || typeof s.villager !== 'string' || s.cancelled !== undefined) return undefined;
  return { village, store, source: `session:${s.id}`, villager: s.villager, seq, points: debt };
}

/**
 * `rows` recorded in the caller's transaction, each source once: the first (in `rows`' order,
 * the batches' order) stands, and one held already is left. Kept whether or not the ledger holds
 * the villager yet: a session row may come before the store's `add` row of its villager (a gap is
 * applied anyway), and a row counted as applied never comes again. Read only by the row's village
 * (`village = $1` below), so a row naming another village's villager adds nothing to them.
 */
export async function recordDebts(tx: SqlDb, rows: DebtRow[]): Promise<void> {
  if (rows.length === 0) return;
  const cols = ['village', 'store', 'source', 'villager', 'seq', 'points'] as const;
  const tuples = rows.map((r) => cols.map((c) => r[c]));
  const insert = (from: string) => `INSERT INTO villager_debts (village, store, source, villager_id, seq, points)
    SELECT w.village, w.store, w.source, w.villager, w.seq, w.points FROM ${from} WHERE true ON CONFLICT DO NOTHING`; // WHERE: SQLite reads ON after a bare FROM as a join's
  if (tx.dialect === 'sqlite') {
    await tx.runEach(insert('(SELECT $1 AS village, $2 AS store, $3 AS source, $4 AS villager, CAST($5 AS INTEGER) AS seq, CAST($6 AS INTEGER) AS points) AS w'), tuples);
    return;
  }
  // ordinality keeps the first of a source when a group holds it twice (ON CONFLICT would refuse the statement)
  await tx.run(insert(`(SELECT DISTINCT ON (u.village, u.store, u.source) u.* FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::BIGINT[]) WITH ORDINALITY
      AS u(village, store, source, villager, seq, points, n) ORDER BY u.village, u.store, u.source, u.n) AS w`), cols.map((_, c) => tuples.map((t) => t[c])));
}

/** What a villager owes: in all, and per store (those owed only, by store id). */
export interface VillagerDebt { debt: number; stores: { store: string; debt: number }[] }

/** Each store's rows in its order, never below 0 at any step; per villager, their stores' sum. */
function owed(rows: { villager_id: string; store: string; points: number | string }[]): Map<string, VillagerDebt> {
  const running = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const stores = running.get(r.villager_id) ?? new Map<string, number>();
    running.set(r.villager_id, stores);
    stores.set(r.store, Math.max(0, (stores.get(r.store) ?? 0) + Number(r.points)));
  }
  const out = new Map<string, VillagerDebt>();
  for (const [v, stores] of running) {
    const owing = [...stores].filter(([, d]) => d > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([store, debt]) => ({ store, debt }));
    out.set(v, { debt: owing.reduce((s, o) => s + o.debt, 0), stores: owing });
  }
  return out;
}

/** What `villager` of `village` owes the village's stores (0 and none when nothing). */
export async function villagerDebt(db: SqlDb, village: string, villager: string): Promise<VillagerDebt> {
  return (await villagerDebts(db, village, [villager])).get(villager) ?? { debt: 0, stores: [] };
}

/** `villagers` of `village` who owe anything, with what they owe (one statement). */
export async function villagerDebts(db: SqlDb, village: string, villagers: readonly string[]): Promise<Map<string, VillagerDebt>> {
  if (villagers.length === 0) return new Map();
  const rows = await db.query<{ villager_id: string; store: string; points: number | string }>(
    `SELECT villager_id, store, points FROM villager_debts WHERE village = $1 AND villager_id IN (${villagers.map((_, i) => `$${i + 2}`).join(', ')})
     ORDER BY villager_id, store, seq, source`, [village, ...villagers]);
  return owed(rows);
}
