/**
 * Schema version 14: outbox payloads in the canonical JSON form (lib/canonical-json.ts). The sync
 * agent signs a batch of rows and digests each row (the ledger's ack names rows by digest) over
 * that form; with every stored payload already in it, it splices the stored text instead of
 * parsing each payload and writing it out again (bench:sync). Rows written before this version
 * were written by JSON.stringify, keys in the order the code built them: each is rewritten,
 * acknowledged ones too (a ledger that lost rows gets them sent again). The rewrite changes no
 * value, only the order of keys and the spelling of escapes, so a row's meaning and digest stay.
 */
import type { Database } from 'better-sqlite3';
import { canonicalJson } from '../../../lib/canonical-json.ts';

export const version = 14;

export const sql = '';

export function up(db: Database): void {
  const rows = db.prepare('SELECT seq, payload FROM outbox').iterate() as IterableIterator<{ seq: number; payload: string }>;
  const update = db.prepare('UPDATE outbox SET payload = ? WHERE seq = ?');
  const changed: Array<[string, number]> = [];
  for (const r of rows) {
    // A payload that is not JSON (never written so; a damaged file) stays as it is: the store
    // must open and sell, and its sync already fails on that row as before this version.
    let value: unknown;
    try {
      value = JSON.parse(r.payload);
    } catch {
      continue;
    }
    const text = canonicalJson(value);
    if (text !== r.payload) changed.push([text, r.seq]);
  }
  for (const [text, seq] of changed) update.run(text, seq);
}
