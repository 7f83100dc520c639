/**
 * QR slips given back, and the visit a slip was used up for. A slip is used up only when the door
 * opens for it: an admission whose unlock failed gives its slip back, and so does a visit
 * cancelled because its door never opened.
 */
import type { Db } from './db.ts';

export function releaseQrToken(db: Db, tokenId: string): void {
  db.prepare('DELETE FROM qr_tokens_used WHERE token_id = ?').run(tokenId);
}

/** The slips used up for a visit whose door never opened (cancelled): usable again. */
export function releaseVisitQrTokens(db: Db, sessionId: string): number {
  return db.prepare('DELETE FROM qr_tokens_used WHERE session_id = ?').run(sessionId).changes;
}

/** The visit a used slip let in: its session id, null if used without one, undefined if not used. */
export function qrTokenVisit(db: Db, tokenId: string): string | null | undefined {
  const row = db.prepare('SELECT session_id FROM qr_tokens_used WHERE token_id = ?').get(tokenId) as { session_id: string | null } | undefined;
  return row ? row.session_id : undefined;
}
