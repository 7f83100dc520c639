/**
 * The alternatives to a face: a signed QR token from the villager's phone or a printed slip,
 * and a passbook card number. Both arrive as a line from the serial scanner.
 *
 * QR token: `VSQ1.<payload>.<signature>`, both base64url; payload is JSON
 * `{"tid":"…","vid":"…","vil":"…","iat":secs,"exp":secs}` signed with Ed25519 by the village
 * ledger (docs/faces.md). Verified offline with the configured public key; a token is usable
 * once, and only at a store of its village (`vil`, required: one town ledger signs every village's codes).
 *
 * A card number is a bearer credential: whoever knows it gets in. So it is never shown or
 * logged in full (`maskCard`), unknown numbers are throttled (`CardThrottle`), and new cards
 * get random numbers (`proposeCardNumber`). The rows live in edge/ledger/credentials.ts.
 */
import { createPrivateKey, createPublicKey, randomInt, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CARD_RE } from '../ledger/credentials.ts';
import { EdgeError } from '../errors.ts';

// The card rows and the card mask are reached through here too, by the code that deals in credentials.
export { maskCard } from '../ledger/card-mask.ts';
export { addCard, consumeQrToken, getCard, revokeCard, type Card } from '../ledger/credentials.ts';

export const QR_PREFIX = 'VSQ1.';

/** The claims of a token. Extra fields are allowed (a newer ledger may add some) and dropped. */
export const QrClaimsSchema = Type.Object({
  tid: Type.String({ minLength: 8, maxLength: 64 }),
  /** A villager id as the store and the sync protocol spell it (edge/ledger/villagers.ts): no ':', which no villager can have. */
  vid: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
  /**
   * The village the code was issued for. Villager ids are unique only within what one ledger
   * registered, so a code of another village would open this store as its villager of that id.
   * Absent in codes of a ledger older than this claim: such a code is refused (`qrVillageRefusal`),
   * since nothing in it tells this village's villager from another's of the same id. Optional
   * here so that the refusal can say so, rather than 'payload fields'.
   */
  vil: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
  iat: Type.Integer({ minimum: 0 }),
  exp: Type.Integer({ minimum: 0 }),
});
export type QrClaims = Static<typeof QrClaimsSchema>;

export type ScannedCode = { kind: 'qr'; token: string } | { kind: 'card'; cardNo: string } | { kind: 'garbage'; text: string };

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

/** Issues a token (the village ledger's side; here for tests, the demo and the CLI). `village`: the villager's, signed in as `vil`. */
export function issueQrToken(privateKeyPem: string | KeyObject, villagerId: string, lifetimeS: number, nowMs = Date.now(), village?: string): string {
  const key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  const iat = Math.floor(nowMs / 1000);
  const claims: QrClaims = { tid: randomUUID(), vid: villagerId, ...(village === undefined ? {} : { vil: village }), iat, exp: iat + lifetimeS };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const sig = sign(null, Buffer.from(payload), key).toString('base64url');
  return `${QR_PREFIX}${payload}.${sig}`;
}

/** The refusal of a code without `vil` (`qrVillageRefusal`). */
export const QR_NO_VILLAGE = 'code names no village';

const refuse = (why: string, zh: string): never => {
  throw new EdgeError('TOKEN_INVALID', `QR token refused: ${why}`, { zh, details: { why } });
};

const B64URL_RE = /^[A-Za-z0-9_-]+$/;
const SIGNATURE_BYTES = 64;

/**
 * Canonical base64url only. Node's decoder skips characters outside the alphabet and ignores
 * the unused low bits of the last character, so many strings decode to the same signature;
 * re-encoding and comparing leaves exactly one spelling of each byte string.
 */
function strictBase64url(text: string, what: string): Buffer {
  if (!B64URL_RE.test(text) || text.length % 4 === 1) refuse(`${what} is not base64url`, '二维码无效');
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) refuse(`${what} is not in canonical base64url`, '二维码无效');
  return bytes;
}

/** Checks form, signature, claims and time; does not consume the token (see `consumeQrToken`). */
export function verifyQrToken(token: string, publicKey: KeyObject, opts: { maxLifetimeS: number; clockSkewS: number }, nowMs = Date.now()): QrClaims {
  if (token.length > 1024) refuse('too long', '二维码无效');
  const parts = token.slice(QR_PREFIX.length).split('.');
  if (!token.startsWith(QR_PREFIX) || parts.length !== 2) refuse('malformed', '二维码无效');
  const [payload, sigText] = parts as [string, string];
  const payloadBytes = strictBase64url(payload, 'payload');
  const sig = strictBase64url(sigText, 'signature');
  if (sig.length !== SIGNATURE_BYTES) refuse('signature length', '二维码无效');
  let ok: boolean;
  try {
    ok = verify(null, Buffer.from(payload), publicKey, sig);
  } catch {
    ok = false;
  }
  if (!ok) refuse('bad signature', '二维码无效（签名不符）');
  let parsed: unknown;
  try {
    parsed = JSON.parse(payloadBytes.toString('utf8'));
  } catch {
    return refuse('payload is not JSON', '二维码无效');
  }
  // signed by the ledger, yet still checked: a ledger bug must refuse at the door, not throw
  if (!Value.Check(QrClaimsSchema, parsed)) refuse('payload fields', '二维码无效');
  const { tid, vid, vil, iat, exp } = parsed as QrClaims;
  const now = nowMs / 1000;
  if (exp <= iat || exp - iat > opts.maxLifetimeS) refuse('lifetime too long', '二维码有效期不合规');
  if (iat > now + opts.clockSkewS) refuse('issued in the future', '二维码时间不对');
  if (exp < now - opts.clockSkewS) refuse('expired', '二维码已过期');
  return { tid, vid, ...(vil === undefined ? {} : { vil }), iat, exp };
}

/**
 * Why a verified code may not open this store, or null: it was issued for another village than
 * the store's (`storeVillage`, from store.village) or than that of the store's villager of its id
 * (`villagerVillage`), or it names no village at all. Only a ledger older than the `vil` claim
 * issues such a code; a town's ledger signs every village's codes with one key, so the store's
 * own villager of that id may be someone else, and the code is refused. The ledger's codes live
 * 90 s and its phone page fetches a new one every minute, so after the ledger's update a
 * villager meets this only on a page that stopped refreshing (docs/governance-villagers.md, "The store-door QR code").
 */
export function qrVillageRefusal(claims: QrClaims, storeVillage: string | undefined, villagerVillage: string | undefined): string | null {
  if (claims.vil === undefined) return QR_NO_VILLAGE;
  if (storeVillage !== undefined && claims.vil !== storeVillage) return 'code of another village';
  if (villagerVillage !== undefined && claims.vil !== villagerVillage) return 'code of another village';
  return null;
}

/** No 0/O, 1/I/L: a villager reads the number off the card to a maintainer on the phone. */
export const CARD_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** A fresh random card number `PB-XXXX-XXXX` (8 characters of 31, about 40 bits). */
export function proposeCardNumber(): string {
  const pick = (n: number): string => Array.from({ length: n }, () => CARD_ALPHABET[randomInt(CARD_ALPHABET.length)]).join('');
  return `PB-${pick(4)}-${pick(4)}`;
}

export interface CardThrottleOptions {
  /** Unknown card numbers tolerated within `windowMs` before card scans pause. */
  maxUnknown: number;
  windowMs: number;
  /** The first pause; each further pause doubles, up to `maxPauseMs`. */
  firstPauseMs: number;
  maxPauseMs: number;
  /** After this long without a pause, the doubling starts again from `firstPauseMs`. */
  forgetMs: number;
}

export const CARD_THROTTLE_DEFAULTS: CardThrottleOptions = {
  maxUnknown: 5,
  windowMs: 60_000,
  firstPauseMs: 30_000,
  maxPauseMs: 15 * 60_000,
  forgetMs: 60 * 60_000,
};

export type CardGate = { open: true } | { open: false; retryAfterMs: number };

/**
 * Stalls a brute force of card numbers at the scanner: after `maxUnknown` unknown numbers in
 * `windowMs`, every card scan is refused, unlooked-up, for a pause that doubles with each
 * repeat. During a pause even a valid card is refused (otherwise the pause would still tell
 * which numbers exist), but QR codes and faces keep working, and the pause is bounded, so a
 * prankster cannot lock a villager out for good. In memory: a scanner is one per store.
 */
export class CardThrottle {
  private unknownAt: number[] = [];
  private pausedUntil = 0;
  private pauses = 0;
  private lastPauseAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: CardThrottleOptions = CARD_THROTTLE_DEFAULTS) {}

  /** Before looking a card number up. */
  gate(nowMs: number): CardGate {
    return nowMs < this.pausedUntil ? { open: false, retryAfterMs: this.pausedUntil - nowMs } : { open: true };
  }

  /** After an unknown number; returns the pause when this one started one. */
  unknown(nowMs: number): { pauseMs: number; unknownCards: number } | null {
    this.unknownAt = this.unknownAt.filter((t) => nowMs - t < this.opts.windowMs);
    this.unknownAt.push(nowMs);
    if (this.unknownAt.length < this.opts.maxUnknown) return null;
    const unknownCards = this.unknownAt.length;
    if (nowMs - this.lastPauseAt > this.opts.forgetMs) this.pauses = 0;
    this.pauses++;
    const pauseMs = Math.min(this.opts.maxPauseMs, this.opts.firstPauseMs * 2 ** Math.min(30, this.pauses - 1));
    this.pausedUntil = nowMs + pauseMs;
    this.lastPauseAt = nowMs;
    this.unknownAt = [];
    return { pauseMs, unknownCards };
  }
}
