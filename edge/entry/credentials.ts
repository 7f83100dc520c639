/**
 * The alternatives to a face: a signed QR token from the villager's phone or a printed slip,
 * and a passbook card number. Both arrive as a line from the serial scanner.
 *
 * QR token: `VSQ1.<payload>.<signature>`, both base64url; payload is JSON
 * `{"tid":"…","vid":"…","iat":secs,"exp":secs}` signed with Ed25519 by the village ledger
 * (docs/faces.md). Verified offline with the configured public key; a token is usable once.
 */
import { createPrivateKey, createPublicKey, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { inTransaction, type Db } from '../ledger/db.ts';
import { enqueueOutbox } from '../ledger/outbox.ts';
import { requireVillager } from '../ledger/villagers.ts';
import { EdgeError } from '../errors.ts';

export const QR_PREFIX = 'VSQ1.';

export interface QrClaims { tid: string; vid: string; iat: number; exp: number }

export type ScannedCode = { kind: 'qr'; token: string } | { kind: 'card'; cardNo: string } | { kind: 'garbage'; text: string };

const CARD_RE = /^[0-9A-Za-z-]{4,64}$/;

export function classifyScan(line: string): ScannedCode {
  const text = line.trim();
  if (text.startsWith(QR_PREFIX)) return { kind: 'qr', token: text };
  if (CARD_RE.test(text)) return { kind: 'card', cardNo: text };
  return { kind: 'garbage', text: text.slice(0, 80) };
}

export function publicKeyFromPem(pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new EdgeError('CONFIG_INVALID', `QR public key is ${key.asymmetricKeyType}, expected ed25519`, { zh: '二维码公钥类型错误' });
  return key;
}

/** Issues a token (the village ledger's side; here for tests, the demo and the CLI). */
export function issueQrToken(privateKeyPem: string | KeyObject, villagerId: string, lifetimeS: number, nowMs = Date.now()): string {
  const key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  const iat = Math.floor(nowMs / 1000);
  const claims: QrClaims = { tid: randomUUID(), vid: villagerId, iat, exp: iat + lifetimeS };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const sig = sign(null, Buffer.from(payload), key).toString('base64url');
  return `${QR_PREFIX}${payload}.${sig}`;
}

const refuse = (why: string, zh: string): never => {
  throw new EdgeError('TOKEN_INVALID', `QR token refused: ${why}`, { zh, details: { why } });
};

/** Checks signature and time; does not consume the token (see `consumeQrToken`). */
export function verifyQrToken(token: string, publicKey: KeyObject, opts: { maxLifetimeS: number; clockSkewS: number }, nowMs = Date.now()): QrClaims {
  if (token.length > 1024) refuse('too long', '二维码无效');
  const parts = token.slice(QR_PREFIX.length).split('.');
  if (!token.startsWith(QR_PREFIX) || parts.length !== 2) refuse('malformed', '二维码无效');
  const [payload, sig] = parts as [string, string];
  let ok: boolean;
  try {
    ok = verify(null, Buffer.from(payload), publicKey, Buffer.from(sig, 'base64url'));
  } catch {
    ok = false;
  }
  if (!ok) refuse('bad signature', '二维码无效（签名不符）');
  let claims: QrClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as QrClaims;
  } catch {
    return refuse('payload is not JSON', '二维码无效');
  }
  const { tid, vid, iat, exp } = claims;
  if (typeof tid !== 'string' || tid.length < 8 || tid.length > 64 || typeof vid !== 'string' || vid.length < 1 || vid.length > 64 || !Number.isInteger(iat) || !Number.isInteger(exp)) {
    refuse('payload fields', '二维码无效');
  }
  const now = nowMs / 1000;
  if (exp <= iat || exp - iat > opts.maxLifetimeS) refuse('lifetime too long', '二维码有效期不合规');
  if (iat > now + opts.clockSkewS) refuse('issued in the future', '二维码时间不对');
  if (exp < now - opts.clockSkewS) refuse('expired', '二维码已过期');
  return { tid, vid, iat, exp };
}

/** Marks a token used; a second use is a replay. Also prunes tokens long expired. */
export function consumeQrToken(db: Db, claims: QrClaims, nowMs = Date.now()): void {
  const at = new Date(nowMs).toISOString();
  const expires = new Date(claims.exp * 1000).toISOString();
  db.transaction(() => {
    const r = db.prepare('INSERT INTO qr_tokens_used (token_id, villager_id, expires_at, used_at) VALUES (?, ?, ?, ?) ON CONFLICT (token_id) DO NOTHING').run(claims.tid, claims.vid, expires, at);
    if (r.changes === 0) refuse('already used', '二维码已使用过');
    // keep a day past expiry: later than that the token is refused as expired anyway
    db.prepare('DELETE FROM qr_tokens_used WHERE expires_at < ?').run(new Date(nowMs - 86_400_000).toISOString());
  })();
}

export interface Card { cardNo: string; villagerId: string; createdAt: string; revokedAt: string | null }

/** Issue a passbook card to a villager (one transaction with its outbox row). */
export function addCard(db: Db, cardNo: string, villagerId: string, at: string): void {
  if (!CARD_RE.test(cardNo)) throw new EdgeError('INVALID_ARGUMENT', `card number ${JSON.stringify(cardNo)} must be 4–64 letters, digits or dashes`, { zh: '卡号须为 4–64 位字母、数字或短横线' });
  inTransaction(db, 'issuing a card', () => {
    requireVillager(db, villagerId);
    const existing = getCard(db, cardNo);
    if (existing) {
      throw new EdgeError('DUPLICATE_ID', `card ${cardNo} is already issued to ${existing.villagerId}${existing.revokedAt ? ' (revoked)' : ''}`, { zh: `卡号 ${cardNo} 已被使用` });
    }
    db.prepare('INSERT INTO cards (card_no, villager_id, created_at) VALUES (?, ?, ?)').run(cardNo, villagerId, at);
    enqueueOutbox(db, 'card', { op: 'issue', card: cardNo, villager: villagerId }, at);
  });
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
