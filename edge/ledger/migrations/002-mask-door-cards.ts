/**
 * Schema version 2: door decisions written before card numbers were masked keep the full
 * number in `entry_events.detail.card`, and a card's number is its only credential. Every such
 * row is rewritten to the masked form the entry pipeline stores now (`PB-****01`); nothing else
 * in the row changes. Rows already masked are left as they are (masking is idempotent).
 */
import type { Database } from 'better-sqlite3';
import { maskCard } from '../card-mask.ts';

export const version = 2;

export const sql = '';

export function up(db: Database): void {
  const rows = db
    .prepare("SELECT id, json_extract(detail, '$.card') AS card FROM entry_events WHERE json_valid(detail) AND json_type(detail, '$.card') = 'text'")
    .all() as { id: number; card: string }[];
  const update = db.prepare("UPDATE entry_events SET detail = json_set(detail, '$.card', ?) WHERE id = ?");
  for (const r of rows) {
    const masked = maskCard(r.card);
    if (masked !== r.card) update.run(masked, r.id);
  }
}
