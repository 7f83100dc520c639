/**
 * A restore must not silently drop what the village ledger never received. Rows the ledger
 * being replaced still holds unsent in its outbox (sales, points, villagers written after the
 * copy was taken, while the store was offline) are not in an older copy; swapped in as it is,
 * the store would never send them. So before the swap they are looked for: a row of the
 * replaced ledger's outbox not acknowledged yet whose topic and payload the copy's outbox does
 * not hold. The restore is refused while there are such rows, unless the maintainer says to
 * discard them (`--discard-unsent`; they stay in the replaced ledger kept beside it). When the
 * ledger being replaced cannot be read (often why a restore is done), nothing can be told and
 * the caller says so.
 */
import Database from 'better-sqlite3';
import type { Db } from './db.ts';
import { canonicalJson } from '../../lib/canonical-json.ts';

export interface UnsentRows {
  /** Whether the ledger being replaced could be read; false: its unsent rows are unknown. */
  read: boolean;
  /** Its unsent rows that the copy does not hold, oldest first. */
  rows: Array<{ seq: number; topic: string }>;
}

function open(file: string): Db {
  return new Database(file, { readonly: true, fileMustExist: true });
}

/** The unsent outbox rows of `current` (the ledger being replaced) that `incoming` (the copy) lacks. */
export function unsentMissingFrom(current: string, incoming: string): UnsentRows {
  let unsent: Array<{ seq: number; topic: string; payload: string }>;
  try {
    const cur = open(current);
    try {
      unsent = cur.prepare('SELECT seq, topic, payload FROM outbox WHERE acked_at IS NULL ORDER BY seq').all() as typeof unsent;
    } finally {
      cur.close();
    }
  } catch {
    return { read: false, rows: [] };
  }
  if (unsent.length === 0) return { read: true, rows: [] };
  const copy = open(incoming);
  try {
    const has = copy.prepare('SELECT 1 FROM outbox WHERE topic = ? AND payload = ? LIMIT 1').pluck();
    // A copy taken before schema 14 holds payloads as JSON.stringify wrote them, the replaced
    // ledger in the canonical form: a row the exact text misses is looked for by its canonical
    // form, over the copy's whole outbox read once (only then).
    let canonical: Set<string> | undefined;
    const held = (r: { topic: string; payload: string }): boolean => {
      if (has.get(r.topic, r.payload) !== undefined) return true;
      canonical ??= new Set((copy.prepare('SELECT topic, payload FROM outbox').all() as Array<{ topic: string; payload: string }>)
        .map((c) => `${c.topic}\u0000${canonicalJson(JSON.parse(c.payload))}`));
      return canonical.has(`${r.topic}\u0000${canonicalJson(JSON.parse(r.payload))}`);
    };
    return { read: true, rows: unsent.filter((r) => !held(r)).map(({ seq, topic }) => ({ seq, topic })) };
  } finally {
    copy.close();
  }
}

/** "3 rows (session 2, entry 1), seq 41–57" for the messages. */
export function describeUnsent(rows: UnsentRows['rows']): { en: string; zh: string } {
  const byTopic = new Map<string, number>();
  for (const r of rows) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + 1);
  const topics = [...byTopic].map(([t, n]) => `${t} ${n}`).join(', ');
  const seqs = rows.length === 1 ? `seq ${rows[0]!.seq}` : `seq ${rows[0]!.seq}–${rows.at(-1)!.seq}`;
  return { en: `${rows.length} row(s) (${topics}), ${seqs}`, zh: `${rows.length} 条（${topics}），${seqs}` };
}
