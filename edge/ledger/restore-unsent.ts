/**
 * A restore must not silently drop what the village ledger never received. Rows the ledger
 * being replaced still holds unsent in its outbox (sales, points, villagers written after the
 * copy was taken, while the store was offline) are not in an older copy; swapped in as it is,
 * the store would never send them. So before the swap they are looked for: a row of the
 * replaced ledger's outbox not acknowledged yet that the copy's outbox does not hold as the same
 * row (its seq, topic and payload). The same text under another seq is not the row: payloads
 * without a time repeat (a villager let back in twice, a price set back), and an earlier row of
 * that text, acknowledged in the copy or by the time the restored store first hears from the
 * ledger, is never sent again (a row moved to a new seq since the copy, by the first beat after
 * an earlier restore, is counted too: refused, not lost). The restore is refused while there are
 * such rows, unless the maintainer says to discard them (`--discard-unsent`; they stay in the
 * replaced ledger kept beside it). When the ledger being replaced cannot be read (often why a
 * restore is done), nothing can be told and the caller says so.
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
    const same = copy.prepare('SELECT 1 FROM outbox WHERE seq = ? AND topic = ? AND payload = ?').pluck();
    // A copy taken before schema 14 holds payloads as JSON.stringify wrote them, the replaced
    // ledger in the canonical form: a row the exact text misses is compared by its canonical form.
    const atSeq = copy.prepare('SELECT topic, payload FROM outbox WHERE seq = ?');
    const held = (r: { seq: number; topic: string; payload: string }): boolean => {
      if (same.get(r.seq, r.topic, r.payload) !== undefined) return true;
      const c = atSeq.get(r.seq) as { topic: string; payload: string } | undefined;
      return c !== undefined && c.topic === r.topic && canonicalText(c.payload) === canonicalText(r.payload);
    };
    return { read: true, rows: unsent.filter((r) => !held(r)).map(({ seq, topic }) => ({ seq, topic })) };
  } finally {
    copy.close();
  }
}

/** A stored payload's canonical form; a damaged one (not JSON) is compared as it is. */
function canonicalText(payload: string): string {
  try {
    return canonicalJson(JSON.parse(payload));
  } catch {
    return payload;
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
