/**
 * A village's snapshot read a page of entries at a time. Held whole, a village of 5,000
 * villagers and 200,000 entries cost the ledger about 200 MB of heap and, on SQLite, stalled its
 * event loop for seconds (one query of every entry, then the split), while every store's acks
 * waited. Now a short transaction reads the head (the stream seq, the villagers, the catalogue and
 * the last entry of the village at that moment); the entries are then read in pages up to that
 * entry, twice: once to size the parts (every part carries their count, so it must be known before
 * the first goes), once per part as it is sent. Entries are append-only and a village's are
 * written one transaction after another in its turn (sql.ts `queue`), so the entries up to the
 * head's last one are the same on every read: what is written meanwhile comes after it, and
 * reaches the store by the stream after the snapshot's seq. Villagers (one row each, changed in
 * place) are read once, in the head, and kept.
 */
import type { SqlDb } from './sql.ts';
import { villageSeq } from './tables.ts';
import { villageCatalogue } from './catalogue.ts';
import { madeAtSql } from './store-time.ts';
import { MAX_SNAPSHOT_PARTS, type EntryBody, type SnapshotBody, type SnapshotProduct, type VillagerBody } from '../protocol/payloads.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';

/** Entries read by one query while a snapshot is sized or a part is built. */
export const SNAPSHOT_PAGE_ROWS = 2000;

export interface SnapshotHead {
  /** The stream seq the snapshot covers. */
  seq: number;
  villagers: VillagerBody[];
  products: SnapshotProduct[];
  /** The village's last entry (`entries.seq`) at that moment: nothing after it is read. */
  lastEntry: number;
}

/** The village at one moment, but its entries (read in pages up to `lastEntry`). */
export async function snapshotHead(db: SqlDb, village: string): Promise<SnapshotHead> {
  return db.transaction(async (tx) => {
    const seq = await villageSeq(tx, village);
    const villagers = await tx.query<VillagerBody>('SELECT id, name, village, status FROM villagers WHERE village = $1 ORDER BY id', [village]);
    const [last] = await tx.query<{ seq: number | string | null }>('SELECT MAX(seq) AS seq FROM entries WHERE village = $1', [village]);
    const products = await villageCatalogue(tx, village);
    return { seq, villagers, products, lastEntry: Number(last?.seq ?? 0) };
  });
}

/**
 * The village's entries after `after` up to `upTo` (entries.seq), oldest first, at most `limit`.
 * An entry of 0 points (a deduction at the floor that older stores sent up) moves no balance,
 * and stores of those versions refuse it: a snapshot that held it could never bring them level.
 */
async function entriesPage(db: SqlDb, village: string, after: number, upTo: number, limit: number): Promise<Array<{ seq: number; entry: EntryBody }>> {
  const rows = await db.query<EntryBody & { seq: number | string; points: number | string }>(
    `SELECT seq, id, villager_id AS villager, kind, points, reference, reason, ${madeAtSql(db, '')} AS created_at FROM entries WHERE village = $1 AND seq > $2 AND seq <= $3 AND points <> 0 ORDER BY seq LIMIT $4`,
    [village, after, upTo, limit],
  );
  return rows.map(({ seq, ...e }) => ({ seq: Number(seq), entry: { ...e, points: Number(e.points) } }));
}

/**
 * The entries after `after` up to `upTo`, page by page. Between pages the event loop gets a turn:
 * SQLite answers at once, and its pages would otherwise follow one another as promise callbacks
 * while the broker's messages and the timers waited.
 */
async function* entriesFrom(db: SqlDb, village: string, after: number, upTo: number, pageRows: number): AsyncGenerator<{ seq: number; entry: EntryBody }> {
  for (let from = after; from < upTo;) {
    const page = await entriesPage(db, village, from, upTo, pageRows);
    if (page.length === 0) return;
    yield* page;
    if (page.length < pageRows) return;
    from = page.at(-1)!.seq;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** What one item of a snapshot adds to a part: its JSON and a comma. */
export const itemBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v)) + 1;

/** Where parts of about `part` bytes end, items in order and each kept whole (catchup.ts `splitSnapshot` too). */
export class PartCutter {
  private used = 0;
  /** Parts so far (the one being filled counts). */
  count = 1;

  constructor(private readonly part: number) {}

  /** Whether an item of `bytes` starts a new part: the current one holds something and would grow past the size. */
  next(bytes: number): boolean {
    const cut = this.used > 0 && this.used + bytes > this.part;
    if (cut) {
      this.count++;
      this.used = 0;
    }
    this.used += bytes;
    if (this.count > MAX_SNAPSHOT_PARTS) {
      throw new EdgeError(ErrorCode.INTERNAL, `a snapshot of more than ${MAX_SNAPSHOT_PARTS} parts is more than a store takes`, { zh: `快照超过门店可接收的 ${MAX_SNAPSHOT_PARTS} 段` });
    }
    return cut;
  }
}

/** One part: slices of the head's villagers and products, and the entries in (`after`, `upTo`]. */
export interface PartPlan { villagers: [number, number]; products: [number, number]; after: number; upTo: number }

export interface PlanOptions {
  /** The store takes parts: past `wholeMax` bytes the snapshot goes in parts of about `part`. */
  parts?: { wholeMax: number; part: number };
  /** The store takes the catalogue. */
  catalogue: boolean;
  pageRows: number;
}

/**
 * The snapshot as it will go: `body` when it is held whole (it fits `wholeMax`, or the store
 * takes no parts), else the parts' bounds. Entries are kept only while they may still fit one
 * message; past that, only the bounds.
 */
export async function planSnapshot(db: SqlDb, village: string, head: SnapshotHead, opts: PlanOptions): Promise<{ body: SnapshotBody } | { parts: PartPlan[] }> {
  const products = opts.catalogue ? head.products : [];
  const whole = (entries: EntryBody[]): SnapshotBody => ({ villagers: head.villagers, entries, ...(products.length > 0 ? { products } : {}) });
  if (!opts.parts) {
    const entries: EntryBody[] = [];
    for await (const { entry } of entriesFrom(db, village, 0, head.lastEntry, opts.pageRows)) entries.push(entry);
    return { body: whole(entries) };
  }
  // The whole body's JSON is the items', their commas and under 64 bytes of names and brackets.
  const keepUpTo = opts.parts.wholeMax + 64;
  let held: EntryBody[] | undefined = [];
  let total = 0;
  const cutter = new PartCutter(opts.parts.part);
  const plans: PartPlan[] = [{ villagers: [0, 0], products: [0, 0], after: 0, upTo: 0 }];
  let cur = plans[0]!;
  let lastSeq = 0;
  const add = (bytes: number): void => {
    total += bytes;
    if (!cutter.next(bytes)) return;
    cur = { villagers: [cur.villagers[1], cur.villagers[1]], products: [cur.products[1], cur.products[1]], after: lastSeq, upTo: lastSeq };
    plans.push(cur);
  };
  for (const v of head.villagers) {
    add(itemBytes(v));
    cur.villagers[1]++;
  }
  for (const p of products) {
    add(itemBytes(p));
    cur.products[1]++;
  }
  for await (const { seq, entry } of entriesFrom(db, village, 0, head.lastEntry, opts.pageRows)) {
    add(itemBytes(entry));
    cur.upTo = lastSeq = seq;
    if (held && total <= keepUpTo) held.push(entry);
    else held = undefined;
  }
  if (held) return { body: whole(held) };
  return { parts: plans };
}

/** One part's body, its entries read in pages. */
export async function partBody(db: SqlDb, village: string, head: SnapshotHead, plan: PartPlan, pageRows: number): Promise<SnapshotBody> {
  const entries: EntryBody[] = [];
  for await (const { entry } of entriesFrom(db, village, plan.after, plan.upTo, pageRows)) entries.push(entry);
  const products = head.products.slice(...plan.products);
  return { villagers: head.villagers.slice(...plan.villagers), entries, ...(products.length > 0 ? { products } : {}) };
}
