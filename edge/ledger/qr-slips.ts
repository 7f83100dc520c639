/**
 * Giving back a QR slip: the admission it was used for never opened the door (the unlock
 * failed), so the villager may use the same printed slip again.
 */
import type { Db } from './db.ts';

export function releaseQrToken(db: Db, tokenId: string): void {
  db.prepare('DELETE FROM qr_tokens_used WHERE token_id = ?').run(tokenId);
}
