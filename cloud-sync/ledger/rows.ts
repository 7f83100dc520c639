/**
 * Store rows into the village ledger: each row id recorded once, forever (`acked_ids`), new
 * entry rows moving balances and going out to the village's stores as one `entries` event per
 * batch. Any number of batches (from any stores and villages) is applied in one transaction and
 * a fixed number of statements: the group commit (group.ts) used to cost some eight statements
 * per batch, and on PostgreSQL each is a round trip, which kept the ledger waiting on the
 * network most of the time. The outcome is the same as applying the batches one after another
 * in their order: the same rows new or duplicate, the same gaps, the same events in the same
 * order of the village stream.
 */
import type { SqlDb } from './sql.ts';
import { checkers, type EntryBody, type Envelope, type Row } from '../protocol/payloads.ts';
import { isAdd, nameOfAdd, reportForeignAdds, type AddRow } from './store-adds.ts';
import { debtOf, floorDebtOf, isRepayment, recordDebts, sessionDebt, type DebtRow } from './debts.ts';
import { floorOutcome, type Deduction } from './floor-debts.ts';
import { envelopeText, signEnvelope } from '../protocol/sign.ts';
import type { Signer } from './tables.ts';
import { applyStoreStatus, type StatusRow } from './store-status.ts';
import { DEFAULT_SKEW_MS } from '../protocol/clock.ts';
import { storeTime } from './store-time.ts';
import { entrySignRefusal } from '../protocol/entry-sign.ts';

/** A store's batch, already checked against the store's key. */
export interface CheckedRows {
  village: string;
  store: string;
  rows: Row[];
  /** The store reads an ack's `digests`. */
  digests?: boolean;
  /** The store reads an ack's `foreign`. */
  foreign?: boolean;
  /** Each row's payload with its canonical text, from the signature's check (./row-check.ts). */
  texts?: ReadonlyMap<unknown, string>;
}

export interface RowsResult {
  /** Every row id now held (new and duplicate): what the store may mark acknowledged. */
  ackIds: string[];
  duplicates: number;
  /** Events to publish (store entries rebroadcast to the village). */
  events: Envelope[];
  /** Every row of the store up to here is held once the transaction commits. */
  contiguousSeq: number;
  gaps: number;
  /**
   * Entries of the batch whose id the ledger already holds with other content (another store,
   * villager, kind or points): not applied, so that store's balance and the ledger's disagree
   * until someone looks. Their rows are still acknowledged: sending them again changes nothing.
   */
  clashes: string[];
  /**
   * Rows whose id (`<store>:<seq>`) the ledger already holds with another payload: a store that
   * handed out a seq again (its ledger file went back in time). Kept out like any copy, and
   * acknowledged; counted so that someone looks.
   */
  rowClashes: string[];
  /** Rows registering a villager under an id the ledger holds in another village (reportForeignAdds): also in `unapplied`. */
  foreignAdds: string[];
  /**
   * Entry rows held (and acknowledged: sending them again changes nothing) but not applied: a
   * payload that is not an entry the protocol carries or the stores would refuse (`invalid`: 0
   * points without a floor deduction's debt, debts.ts `floorDebtOf`; a sign its kind cannot carry), an entry whose text holds a
   * NUL character (`nul`: PostgreSQL's TEXT cannot store it, so neither database applies it and
   * the rest of the batch is not lost with it), or an entry for a villager of another village
   * (`other-village`). That store's balance and the ledger's disagree. Also a store's status
   * row for another village's villager (`other-village`) or a block or unblock of a villager who
   * left the village (`left`: only the village's registry brings one back).
   */
  unapplied: { id: string; why: 'invalid' | 'nul' | 'other-village' | 'left' }[];
}

/**
 * An entry whose free text (reference, reason) holds U+0000: SQLite would store it, PostgreSQL's
 * TEXT cannot, and the whole batch would fail there for ever. Its other fields have patterns.
 */
const holdsNul = (e: EntryBody): boolean => (e.reference ?? '').includes('\u0000') || (e.reason ?? '').includes('\u0000');

/** Rows per multi-row statement: well under SQLite's 32,766 parameters at 10 a row. */
const CHUNK = 1000;

/** `(CAST($1 AS TEXT), …), (…)` for `rows` tuples of these SQL types (both dialects name the columns column1, column2, …). */
function typedValues(rows: number, types: readonly string[]): string {
  const w = types.length;
  return Array.from({ length: rows }, (_, r) => `(${types.map((t, c) => `CAST($${r * w + c + 1} AS ${t})`).join(', ')})`).join(', ');
}

/** `($1, $2, …), ($n, …)` for `rows` tuples of `width` parameters each. */
function valuesList(rows: number, width: number): string {
  return Array.from({ length: rows }, (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`).join(', ');
}

/** Runs `stmt` over `items` in chunks of CHUNK, concatenating what each returns. */
async function chunked<I, T>(items: I[], stmt: (part: I[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(...(await stmt(items.slice(i, i + CHUNK))));
  return out;
}

const key = (village: string, store: string): string => `${village}\u0000${store}`;

/** A table's columns for `insertRows`, each with its SQL type (both dialects' names). */
type Columns = readonly (readonly [name: string, type: 'TEXT' | 'BIGINT'])[];

/**
 * `tuples` inserted into `table` (`tail`: an ON CONFLICT … DO NOTHING); which of them were
 * inserted, by index. Both dialects run a statement whose text is the same however many rows:
 * - SQLite: one single-row statement, prepared once, run per tuple (sql.ts `runEach`). A
 *   multi-row statement's text (built, rewritten and prepared again for each row count) cost
 *   the ledger more than the inserts themselves.
 * - PostgreSQL: one statement over `unnest` of one array per column, whatever the row count,
 *   one round trip. A multi-row VALUES of thousands of parameters was parsed and planned by the
 *   server for every group. What was new comes back by `returning.cols`, matched to the tuples
 *   by `returning.keyOf`/`tupleKey` (equal keys: the first tuple counts, as it is the one inserted).
 */
async function insertRows(tx: SqlDb, table: string, cols: Columns, tuples: unknown[][], tail = '', returning?: { cols: string; keyOf: (r: Record<string, unknown>) => string; tupleKey: (t: unknown[]) => string }): Promise<boolean[]> {
  if (tuples.length === 0) return [];
  const names = cols.map(([n]) => n).join(', ');
  if (tx.dialect === 'sqlite') return (await tx.runEach(`INSERT INTO ${table} (${names}) VALUES ${valuesList(1, cols.length)} ${tail}`, tuples)).map((n) => n > 0);
  const sql = `INSERT INTO ${table} (${names}) SELECT * FROM unnest(${cols.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')}) ${tail}`;
  const arrays = cols.map((_, c) => tuples.map((t) => t[c]));
  if (!returning) {
    await tx.run(sql, arrays);
    return tuples.map(() => true);
  }
  const fresh = new Set((await tx.query<Record<string, unknown>>(`${sql} RETURNING ${returning.cols}`, arrays)).map(returning.keyOf));
  return tuples.map((t) => fresh.delete(returning.tupleKey(t)));
}

/** One batch, in a transaction of its own. */
export async function applyStoreRows(db: SqlDb, village: string, store: string, rows: Row[], signer: Signer, now: Date, skewMs = DEFAULT_SKEW_MS): Promise<RowsResult> {
  return (await applyRowBatches(db, [{ village, store, rows }], signer, now, skewMs))[0]!;
}

/** The allowed clock skew (../protocol/clock.ts), with the rule it is used by (./store-time.ts). */
export { DEFAULT_SKEW_MS };

/** `batches` in one transaction; results in their order. `skewMs`: a store row's time beyond `now` by more is not trusted (./store-status.ts). */
export async function applyRowBatches(db: SqlDb, batches: CheckedRows[], signer: Signer, now: Date, skewMs = DEFAULT_SKEW_MS): Promise<RowsResult[]> {
  const at = now.toISOString();
  return db.transaction(async (tx) => {
    const addrs = [...new Map(batches.map((b) => [key(b.village, b.store), { village: b.village, store: b.store }])).values()];
    const where = `JOIN (VALUES ${typedValues(addrs.length, ['TEXT', 'TEXT'])}) AS w ON s.village = w.column1 AND s.id = w.column2`;
    const addrParams = addrs.flatMap((a) => [a.village, a.store]);
    const contiguous = new Map((await tx.query<{ village: string; id: string; contiguous_seq: number | string }>(
      `SELECT s.village, s.id, s.contiguous_seq FROM stores s ${where}`, addrParams,
    )).map((r) => [key(r.village, r.id), Number(r.contiguous_seq)]));
    // Rows a store sent out of order earlier, held above its contiguous seq: the batches may close the gap.
    const held = new Map<string, Set<number>>();
    for (const r of await tx.query<{ village: string; store: string; seq: number | string }>(
      `SELECT a.village, a.store, a.seq FROM acked_ids a JOIN stores s ON s.village = a.village AND s.id = a.store AND a.seq > s.contiguous_seq ${where} LIMIT 100000`, addrParams,
    )) {
      const k = key(r.village, r.store);
      if (!held.has(k)) held.set(k, new Set());
      held.get(k)!.add(Number(r.seq));
    }
    const all = batches.flatMap((b) => b.rows.map((r) => ({ b, r })));
    // A row id (`<store>:<seq>`) is unique within its village only: held by (village, id).
    // Each row's own time beside its receipt (a store offline for days sends rows made days ago), beyond the skew its receipt (./store-time.ts).
    const insertedRow = await insertRows(tx, 'acked_ids', [['id', 'TEXT'], ['village', 'TEXT'], ['store', 'TEXT'], ['seq', 'BIGINT'], ['topic', 'TEXT'], ['payload', 'TEXT'], ['received_at', 'TEXT'], ['created_at', 'TEXT']],
      all.map(({ b, r }) => [r.id, b.village, b.store, r.seq, r.topic, JSON.stringify(r.payload), at, storeTime(r.created_at, now, skewMs)]), 'ON CONFLICT DO NOTHING',
      { cols: 'village, id', keyOf: (r) => key(String(r.village), String(r.id)), tupleKey: (t) => key(String(t[1]), String(t[0])) });
    const freshIds = new Set(all.filter((_, i) => insertedRow[i]).map(({ b, r }) => key(b.village, r.id)));
    const heldPayloads = await payloadsHeld(tx, all.filter((_, i) => !insertedRow[i]).map(({ b, r }) => ({ village: b.village, id: r.id })));

    // The batches in order, as if one after another: duplicates, gaps, the contiguous seq, new entries.
    const results: RowsResult[] = [];
    /** Each batch's entries by id, the first of each (with what the later ones in the batch must match: village, store, villager, kind, points). */
    const entriesOf: Map<string, { entry: EntryBody; seq: number; content: string; debt?: number | undefined }>[] = [];
    /** What the stores' debts grew or were repaid by (./debts.ts): settled sessions here, entries once known applied. */
    const debts: DebtRow[] = [];
    /** Status changes made at the stores (./store-status.ts), in the batches' order. */
    const statusRows: StatusRow[] = [];
    /** Villagers registered at the stores (`add` rows): kept only, but an id another village holds is reported (`again`: a copy, named to the store again, its ack may have been lost). */
    const addRows: AddRow[] = [];
    for (const b of batches) {
      const k = key(b.village, b.store);
      const res: RowsResult = { ackIds: b.rows.map((r) => r.id), duplicates: 0, events: [], contiguousSeq: 0, gaps: 0, clashes: [], rowClashes: [], unapplied: [], foreignAdds: [] };
      let c = contiguous.get(k) ?? 0;
      const h = held.get(k) ?? new Set<number>();
      held.set(k, h);
      const entries = new Map<string, { entry: EntryBody; seq: number; content: string; debt?: number | undefined }>();
      for (const row of b.rows) {
        // A row id twice (in one batch or two) is new once: the first copy.
        if (!freshIds.delete(key(b.village, row.id))) {
          res.duplicates++;
          if (heldPayloads.get(key(b.village, row.id)) !== JSON.stringify(row.payload)) res.rowClashes.push(row.id);
          else if (row.topic === 'villager' && isAdd(row.payload)) addRows.push({ batch: results.length, village: b.village, row: row.id, id: row.payload.id, again: true });
          continue;
        }
        if (row.seq > c + 1) res.gaps++;
        else if (row.seq === c + 1) c++;
        h.add(row.seq);
        // The sign too, as every store checks it: an entry the stores refuse (a 0-point deduction an
        // older store sent) would stop the village's stream at each of them, and every snapshot.
        // A deduction at the floor (0 points and its debt) is taken for its debt only, below.
        if (row.topic === 'entry' && checkers.wireEntry.Check(row.payload) && (entrySignRefusal(row.payload.kind, row.payload.points) === undefined || floorDebtOf(row.payload) !== undefined)) {
          const w = row.payload;
          if (holdsNul(w)) {
            res.unapplied.push({ id: row.id, why: 'nul' });
            continue;
          }
          // An entry id twice in one batch is one entry; with other content the later is a clash.
          // Across batches it is decided below, once it is known which entries are applied; a
          // deduction at the floor and an entry of its id, in any batches, in ./floor-debts.ts.
          const content = `${b.village}\u0000${b.store}\u0000${w.villager}\u0000${w.kind}\u0000${w.points}`;
          const at0 = w.points === 0 ? `\u0000${w.id}` : w.id;
          const first = entries.get(at0);
          if (first === undefined) {
            entries.set(at0, { entry: { id: w.id, villager: w.villager, kind: w.kind, points: w.points, reference: w.reference ?? null, reason: w.reason ?? null, created_at: w.created_at }, seq: row.seq, content, debt: debtOf(w) });
          } else if (first.content !== content) res.clashes.push(w.id);
        } else if (row.topic === 'entry') res.unapplied.push({ id: row.id, why: 'invalid' });
        else if (row.topic === 'villager' && checkers.wireStatus.Check(row.payload)) {
          statusRows.push({ ...row.payload, batch: results.length, village: b.village, store: b.store, seq: row.seq, createdAt: row.created_at });
        } else if (row.topic === 'villager' && isAdd(row.payload)) addRows.push({ batch: results.length, village: b.village, row: row.id, id: row.payload.id, name: nameOfAdd(row.payload) });
        else if (row.topic === 'session') debts.push(...[sessionDebt(b.village, b.store, row.seq, row.payload)].filter((d) => d !== undefined));
      }
      while (h.has(c + 1)) c++;
      contiguous.set(k, c);
      res.contiguousSeq = c;
      entriesOf.push(entries);
      results.push(res);
    }

    // Villagers: a villager registered at a store is known here from its registration (`add`
    // row, under the name given there) or, when an entry or a status row comes first, from that
    // (named by id until the registration brings the name: never a name the village gave), in the
    // village of the batch that brings them first; another village's villager never moves a
    // balance here (the row is kept in acked_ids all the same). A name by id used to stay: the
    // events and snapshots then carried the id as the name back to the stores, renaming the
    // villager there (tests/sync/store-registered-name.test.ts).
    // (The ids of villagers registered at the stores, `add` rows, are looked up with them: reportForeignAdds.)
    const names = [...new Set([...entriesOf.flatMap((m) => [...m.values()].map((e) => e.entry.villager)), ...addRows.map((a) => a.id)])];
    const known = await chunked(names, (part) => tx.query<{ id: string; village: string; name: string }>(
      `SELECT id, village, name FROM villagers WHERE id IN (${part.map((_, i) => `$${i + 1}`).join(', ')})`, part,
    ));
    const villageOf = new Map(known.map((v) => [v.id, v.village]));
    const byId = new Set(known.filter((v) => v.name === v.id).map((v) => v.id));
    const unknown: { id: string; village: string; name: string }[] = [];
    const renamed: { id: string; village: string; name: string }[] = [];
    /** Villagers this turn first knows from an entry, named by id until a later batch's registration names them. */
    const fromEntry = new Map<string, { id: string; village: string; name: string }>();
    batches.forEach((b, i) => {
      // a store registers a villager before it writes their first entry
      for (const a of addRows) {
        if (a.batch !== i || a.again || a.name === undefined) continue;
        const village = villageOf.get(a.id);
        const pending = fromEntry.get(a.id);
        if (village === undefined) {
          villageOf.set(a.id, b.village);
          unknown.push({ id: a.id, village: b.village, name: a.name });
        } else if (pending !== undefined && pending.village === b.village) {
          // known from an earlier batch's entry of this turn, not yet written: named here
          pending.name = a.name;
          fromEntry.delete(a.id);
        } else if (village === b.village && byId.delete(a.id) && a.name !== a.id) renamed.push({ id: a.id, village, name: a.name });
      }
      for (const { entry } of entriesOf[i]!.values()) {
        if (villageOf.has(entry.villager)) continue;
        villageOf.set(entry.villager, b.village);
        const v = { id: entry.villager, village: b.village, name: entry.villager };
        unknown.push(v);
        fromEntry.set(v.id, v);
      }
    });
    await insertRows(tx, 'villagers', [['id', 'TEXT'], ['village', 'TEXT'], ['name', 'TEXT'], ['status', 'TEXT'], ['created_at', 'TEXT'], ['updated_at', 'TEXT']], unknown.map((v) => [v.id, v.village, v.name, 'active', at, at]));
    for (const r of renamed) await tx.run('UPDATE villagers SET name = $1, updated_at = $2 WHERE id = $3 AND village = $4 AND name = id', [r.name, at, r.id, r.village]);
    // The batches' entries in order, as one after another would take them: another village's
    // villager's is not applied (and claims nothing); the first of an id is inserted; a later one
    // of the same id is compared, like one the table held before, with what the table holds then.
    const ours: { b: CheckedRows; entry: EntryBody }[] = [];
    const inOrder: { b: CheckedRows; entry: EntryBody; first: boolean }[] = [];
    const moves: Deduction<EntryBody>[] = [];
    batches.forEach((b, i) => {
      for (const { entry, seq, debt } of entriesOf[i]!.values()) {
        if (villageOf.get(entry.villager) !== b.village) results[i]!.unapplied.push({ id: `${b.store}:${seq}`, why: 'other-village' });
        else moves.push({ batch: i, village: b.village, store: b.store, id: entry.id, villager: entry.villager, seq, points: entry.points, floor: entry.points === 0 ? debt : undefined, of: entry });
      }
    });
    // Deductions at a store's floor (0 points): their debt only, never an entry nor an event; an entry of such an id is paid or a clash (./floor-debts.ts).
    const fl = await floorOutcome(tx, moves);
    const clashing = new Set(fl.clashes);
    for (const m of fl.clashes) results[m.batch]!.clashes.push(m.id);
    const taken = new Set<string>();
    for (const m of moves) {
      if (m.floor !== undefined || clashing.has(m)) continue;
      const first = !taken.has(m.id);
      inOrder.push({ b: batches[m.batch]!, entry: m.of, first });
      if (!first) continue;
      taken.add(m.id);
      ours.push({ b: batches[m.batch]!, entry: m.of });
    }
    const insertedEntry = await insertRows(tx, 'entries', [['id', 'TEXT'], ['village', 'TEXT'], ['villager_id', 'TEXT'], ['kind', 'TEXT'], ['points', 'BIGINT'], ['reference', 'TEXT'], ['reason', 'TEXT'], ['origin_store', 'TEXT'], ['created_at', 'TEXT'], ['received_at', 'TEXT']],
      ours.map(({ b, entry: e }) => [e.id, b.village, e.villager, e.kind, e.points, e.reference ?? null, e.reason ?? null, b.store, e.created_at, at]), 'ON CONFLICT (id) DO NOTHING',
      { cols: 'id', keyOf: (r) => String(r.id), tupleKey: (t) => String(t[0]) });
    const added = new Set(ours.filter((_, i) => insertedEntry[i]).map(({ entry }) => entry));
    batches.forEach((b, i) => {
      for (const { entry: e, seq, debt } of entriesOf[i]!.values()) {
        const points = !added.has(e) || e.points >= 0 ? undefined : isRepayment(e) ? e.points : debt;
        const paid = added.has(e) ? fl.paid.get(e) : undefined;
        if (paid) debts.push(paid);
        if (points !== undefined) debts.push({ village: b.village, store: b.store, source: `${paid ? 'charged' : 'entry'}:${e.id}`, villager: e.villager, seq, points });
      }
    });
    await recordDebts(tx, [...debts, ...fl.rows]);
    await findClashes(tx, inOrder.filter(({ entry, first }) => !first || !added.has(entry)), batches, results);

    // One `entries` event per batch with new entries, numbered in the batches' order on each
    // village's stream: the seqs of each village taken in one statement for all villages.
    const wanted = batches.map((b, i) => {
      const fresh = [...entriesOf[i]!.values()].filter(({ entry }) => added.has(entry));
      return fresh.length === 0 ? undefined : { b, fresh };
    });
    const perVillage = new Map<string, number>();
    for (const w of wanted) if (w) perVillage.set(w.b.village, (perVillage.get(w.b.village) ?? 0) + 1);
    if (perVillage.size > 0) {
      const counts = [...perVillage];
      const next = new Map((await tx.query<{ id: string; next_seq: number | string }>(
        `UPDATE villages SET next_seq = villages.next_seq + w.column2 FROM (VALUES ${typedValues(counts.length, ['TEXT', 'BIGINT'])}) AS w
         WHERE villages.id = w.column1 RETURNING villages.id, villages.next_seq`,
        counts.flat(),
      )).map((r) => [r.id, Number(r.next_seq)]));
      // The first seq each village hands out: its next_seq before the update.
      const seqOf = new Map(counts.map(([v, n]) => [v, next.get(v)! - n]));
      const events: { village: string; env: Envelope }[] = [];
      wanted.forEach((w, i) => {
        if (!w) return;
        const seq = seqOf.get(w.b.village)!;
        seqOf.set(w.b.village, seq + 1);
        const env = signEnvelope({
          v: 1, id: `entries:${w.b.store}:${w.fresh[0]!.seq}`, kind: 'entries', village: w.b.village, seq, issued_at: at,
          // each entry at the time the ledger counts it from (./store-time.ts): a stamp from a
          // store's clock run fast is its receipt, as the pages and snapshots show it too
          expires_at: new Date(now.getTime() + signer.lifetimeMs).toISOString(), body: { entries: w.fresh.map(({ entry }) => ({ ...entry, created_at: storeTime(entry.created_at, now, skewMs) })) },
        }, signer.key);
        results[i]!.events.push(env);
        events.push({ village: w.b.village, env });
      });
      await insertRows(tx, 'events', [['village', 'TEXT'], ['seq', 'BIGINT'], ['id', 'TEXT'], ['kind', 'TEXT'], ['envelope', 'TEXT']], events.map(({ village, env }) => [village, env.seq, env.id, env.kind, envelopeText(env)]));
    }

    reportForeignAdds(addRows, villageOf, results);

    // After the entries events: they go out with the last batch's, so each village's stream stays in seq order on the wire.
    if (statusRows.length > 0) {
      const st = await applyStoreStatus(tx, statusRows, signer, now, skewMs);
      results[results.length - 1]!.events.push(...st.events);
      for (const r of st.otherVillage) results[r.batch]!.unapplied.push({ id: `${r.store}:${r.seq}`, why: 'other-village' });
      for (const r of st.left) results[r.batch]!.unapplied.push({ id: `${r.store}:${r.seq}`, why: 'left' });
    }

    const gapsOf = new Map<string, number>();
    batches.forEach((b, i) => gapsOf.set(key(b.village, b.store), (gapsOf.get(key(b.village, b.store)) ?? 0) + results[i]!.gaps));
    await tx.run(
      `UPDATE stores SET contiguous_seq = w.column3, gaps = gaps + w.column4 FROM (VALUES ${typedValues(addrs.length, ['TEXT', 'TEXT', 'BIGINT', 'BIGINT'])}) AS w
       WHERE stores.village = w.column1 AND stores.id = w.column2`,
      addrs.flatMap((a) => [a.village, a.store, contiguous.get(key(a.village, a.store)) ?? 0, gapsOf.get(key(a.village, a.store)) ?? 0]),
    );
    return results;
  }, { queue: batches.map((b) => b.village) });
}


/**
 * The payloads held under the ids of rows not inserted (copies, or a store's seq handed out
 * again), by (village, id): the first copy of an id this transaction inserted is among them.
 */
async function payloadsHeld(tx: SqlDb, ids: { village: string; id: string }[]): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  const byVillage = new Map<string, string[]>();
  for (const { village, id } of ids) {
    const list = byVillage.get(village) ?? [];
    list.push(id);
    byVillage.set(village, list);
  }
  for (const [village, list] of byVillage) {
    for (const r of await chunked([...new Set(list)], (part) => tx.query<{ id: string; payload: string }>(
      `SELECT id, payload FROM acked_ids WHERE village = $1 AND id IN (${part.map((_, i) => `$${i + 2}`).join(', ')})`, [village, ...part],
    ))) held.set(key(village, r.id), r.payload);
  }
  return held;
}

/**
 * Of the entries not inserted (their id was held already), those held with other content: an
 * id two stores both made, not the same entry sent again. Looked up only for what was not
 * inserted, which is rare (rows sent again are found by their row id before this).
 */
async function findClashes(tx: SqlDb, held: { b: CheckedRows; entry: EntryBody }[], batches: CheckedRows[], results: RowsResult[]): Promise<void> {
  if (held.length === 0) return;
  const ids = [...new Set(held.map(({ entry }) => entry.id))];
  const rows = new Map((await chunked(ids, (part) => tx.query<{ id: string; village: string; villager_id: string; kind: string; points: number | string; origin_store: string | null }>(
    `SELECT id, village, villager_id, kind, points, origin_store FROM entries WHERE id IN (${part.map((_, i) => `$${i + 1}`).join(', ')})`, part,
  ))).map((r) => [r.id, r]));
  for (const { b, entry } of held) {
    const r = rows.get(entry.id);
    const same = r !== undefined && r.village === b.village && r.villager_id === entry.villager && r.kind === entry.kind && Number(r.points) === entry.points && r.origin_store === b.store;
    if (!same) results[batches.indexOf(b)]!.clashes.push(entry.id);
  }
}
