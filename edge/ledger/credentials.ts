/**
 * Passbook cards and used QR tokens: the rows behind the door's alternatives to a face.
 * Plain functions over the ledger; the token format, masking and throttling live in
 * edge/entry/credentials.ts.
 */
import { inTransaction, type Db } from './db.ts';
import { enqueueOutbox } from './outbox.ts';
import { requireVillager } from './villagers.ts';
import { EdgeError, ErrorCode } from '../errors.ts';

/** What a scanner line must look like to be taken for a card number. */
export const CARD_RE = /^[0-9A-Za-z-]{4,64}$/;

export interface Card { cardNo: string; villagerId: string; createdAt: string; revokedAt: string | null }

/** The claims of a verified QR token that the ledger keeps to refuse a replay. */
export interface UsedToken { tid: string; vid: string; exp: number }

export function checkCardNumber(cardNo: string): string {
  if (!CARD_RE.test(cardNo)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `card number ${JSON.stringify(cardNo)} must be 4–64 letters, digits or dashes`, { zh: '卡号须为 4–64 位字母、数字或短横线' });
  }
  return cardNo;
}

/** Issue a passbook card to a villager (one transaction with its outbox row). */
export function addCard(db: Db, cardNo: string, villagerId: string, at: string): Card {
  checkCardNumber(cardNo);
  return inTransaction(db, 'issuing a card', () => {
    requireVillager(db, villagerId);
    const existing = getCard(db, cardNo);
    if (existing) {
      // the number is not echoed back to whoever tries it: it may belong to someone else
      throw new EdgeError(ErrorCode.DUPLICATE_ID, `this card number is already issued${existing.revokedAt ? ' (revoked)' : ''}`, { zh: '该卡号已被使用' });
    }
    db.prepare('INSERT INTO cards (card_no, villager_id, created_at) VALUES (?, ?, ?)').run(cardNo, villagerId, at);
    enqueueOutbox(db, 'card', { op: 'issue', card: cardNo, villager: villagerId }, at);
    return getCard(db, cardNo)!;
  });
}

/** The card a card form's one-time `request` id issued, and who sent it (schema version 11). */
export function cardOfRequest(db: Db, request: string): { card: Card; actor: string } | undefined {
  const r = db.prepare('SELECT card_no, actor FROM card_requests WHERE request = ?').get(request) as { card_no: string; actor: string } | undefined;
  return r && { card: getCard(db, r.card_no)!, actor: r.actor };
}

/** Keeps the card a form's `request` issued (in the caller's transaction with the card). */
export function rememberCardRequest(db: Db, request: string, cardNo: string, actor: string, at: string): void {
  db.prepare('INSERT INTO card_requests (request, card_no, actor, created_at) VALUES (?, ?, ?, ?)').run(request, cardNo, actor, at);
}

/** Revoke a lost card; false when there is no such card or it was revoked already. */
export function revokeCard(db: Db, cardNo: string, at: string): boolean {
  return inTransaction(db, 'revoking a card', () => {
    const changed = db.prepare('UPDATE cards SET revoked_at = ? WHERE card_no = ? AND revoked_at IS NULL').run(at, cardNo).changes === 1;
    if (changed) enqueueOutbox(db, 'card', { op: 'revoke', card: cardNo }, at);
    return changed;
  });
}

export function getCard(db: Db, cardNo: string): Card | undefined {
  const r = db.prepare('SELECT card_no, villager_id, created_at, revoked_at FROM cards WHERE card_no = ?').get(cardNo) as
    { card_no: string; villager_id: string; created_at: string; revoked_at: string | null } | undefined;
  return r && { cardNo: r.card_no, villagerId: r.villager_id, createdAt: r.created_at, revokedAt: r.revoked_at };
}

/**
 * Marks a token used, for the visit it lets in (`sessionId`; null without a store session); a
 * second use is a replay (TOKEN_INVALID). Also prunes tokens long expired.
 */
export function consumeQrToken(db: Db, claims: UsedToken, nowMs = Date.now(), sessionId: string | null = null): void {
  const at = new Date(nowMs).toISOString();
  const expires = new Date(claims.exp * 1000).toISOString();
  inTransaction(db, 'using a QR token', () => {
    const r = db.prepare('INSERT INTO qr_tokens_used (token_id, villager_id, expires_at, used_at, session_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT (token_id) DO NOTHING').run(claims.tid, claims.vid, expires, at, sessionId);
    if (r.changes === 0) throw new EdgeError(ErrorCode.TOKEN_INVALID, 'QR token refused: already used', { zh: '二维码已使用过', details: { why: 'already used' } });
    // keep a day past expiry: later than that the token is refused as expired anyway
    db.prepare('DELETE FROM qr_tokens_used WHERE expires_at < ?').run(new Date(nowMs - 86_400_000).toISOString());
  });
}
