/**
 * Ed25519 signatures over a canonical JSON form, with Node's `crypto` (as the QR tokens in
 * edge/entry/credentials.ts), and the rules every signed message passes on receipt:
 * signature, expiry, then sequence.
 *
 * The canonical form is written here rather than taken from a library because our payloads
 * hold only strings, integers, booleans, null, arrays and objects: sorting object keys and
 * using JSON.stringify for the leaves is the whole of RFC 8785 for that subset.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import type { Envelope, RefusalReason, UnsignedEnvelope } from './payloads.ts';

/** `"key":` for the keys seen so far (our payloads use a few dozen; bounded against odd input). */
const quotedKeys = new Map<string, string>();

/**
 * A string JSON.stringify would write as it is between quotes: no quote, backslash, control
 * character or surrogate (a lone one is escaped by JSON.stringify; pairs take that path too).
 */
// eslint-disable-next-line no-control-regex -- the control characters are what must be escaped
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

export function canonicalJson(value: unknown): string {
  // Written with loops, string appends and a cache of quoted keys rather than map/filter/join:
  // every message is signed or verified over this form, and batches of 100 rows made it the
  // hottest code of the sync (bench:sync). Strings without anything to escape are quoted here
  // rather than by JSON.stringify, and keys are sorted only when they are not in order already
  // (objects we build are, mostly): together 30 % less time for a 100-row batch (measured
  // 2026-12-02, 462 -> 325 us, JSON.stringify alone 154 us). JSON.stringify with the sorted keys
  // as its property list was slower still (488 us): V8 leaves its fast path for a replacer.
  switch (typeof value) {
    case 'string':
      return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no NaN or Infinity');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return JSON.stringify(value) ?? 'null';
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  // The same order as keys.sort() (UTF-16 code units), checked before sorting.
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = obj[k];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    let q = quotedKeys.get(k);
    if (q === undefined) {
      q = `${JSON.stringify(k)}:`;
      if (quotedKeys.size < 1000) quotedKeys.set(k, q);
    }
    out += q + canonicalJson(v);
  }
  return `${out}}`;
}

export interface SigningKey {
  id: string;
  key: KeyObject;
}

/** Public keys by id. Several ids at once is how a key is rotated (docs/sync-protocol.md). */
export type KeyRing = ReadonlyMap<string, KeyObject>;

export function keyRing(keys: ReadonlyArray<{ id: string; pem: string }>): KeyRing {
  return new Map(keys.map((k) => [k.id, publicEd25519(k.pem)]));
}

/**
 * Public keys by their PEM. Parsing a PEM costs more than verifying a signature, and the ledger
 * checks every heartbeat and row batch against its store's registered PEM: each is parsed once
 * (a KeyObject is immutable, so one may serve every caller). Bounded against a flood of keys.
 */
const publicKeys = new Map<string, KeyObject>();

export function publicEd25519(pem: string): KeyObject {
  const cached = publicKeys.get(pem);
  if (cached) return cached;
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`key is ${key.asymmetricKeyType}, expected ed25519`);
  if (publicKeys.size >= 10_000) publicKeys.clear();
  publicKeys.set(pem, key);
  return key;
}

export function privateEd25519(id: string, pem: string): SigningKey {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`key ${id} is ${key.asymmetricKeyType}, expected ed25519`);
  return { id, key };
}

/**
 * A short digest of an outbox row's payload (SHA-256 of its canonical JSON, 96 bits, base64url):
 * the ledger's ack names each row with it, so an ack can only mark the row it was for, not
 * another row that took the same seq after a restore (docs/sync-protocol.md, the outbox drain).
 */
export function rowDigest(payload: unknown): string {
  return createHash('sha256').update(canonicalJson(payload)).digest('base64url').slice(0, 16);
}

/** A fresh key pair as PEM (for `ledger keygen`, tests and the demo). */
export function newKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function signEnvelope(e: Omit<UnsignedEnvelope, 'key_id'>, key: SigningKey): Envelope {
  const unsigned: UnsignedEnvelope = { ...e, key_id: key.id };
  const sig = sign(null, Buffer.from(canonicalJson(unsigned)), key.key).toString('base64url');
  return { ...unsigned, sig };
}

/**
 * The ledger's control messages to one store (`down/ack`, `down/beat`) are not envelopes, but
 * they decide which outbox rows a store stops sending: a forged ack or beat would lose them.
 * They are signed over their fields plus the store's address, so one store's ack cannot be
 * replayed to another. (A replay to the same store only repeats what it already knows.)
 */
export interface ControlScope {
  village: string;
  store: string;
}
type Signed = { key_id?: string | undefined; sig?: string | undefined };

export function signControl<T extends object>(msg: T, scope: ControlScope, key: SigningKey): T & { key_id: string; sig: string } {
  const unsigned = { ...msg, key_id: key.id, sig: undefined };
  const sig = sign(null, Buffer.from(canonicalJson({ ...unsigned, scope })), key.key).toString('base64url');
  return { ...unsigned, sig };
}

export function checkControl(msg: Signed, scope: ControlScope, keys: KeyRing): RefusalReason | undefined {
  if (msg.sig === undefined || msg.sig === '' || msg.key_id === undefined) return 'unsigned';
  const key = keys.get(msg.key_id);
  if (!key) return 'forged';
  const { sig, ...unsigned } = msg;
  try {
    return verify(null, Buffer.from(canonicalJson({ ...unsigned, scope })), key, Buffer.from(sig, 'base64url')) ? undefined : 'forged';
  } catch {
    return 'forged';
  }
}

/** Signature only: `unsigned` without one, `forged` when it does not verify or the key is unknown. */
export function checkSignature(e: Envelope, keys: KeyRing): RefusalReason | undefined {
  if (e.sig === undefined || e.sig === '') return 'unsigned';
  const key = keys.get(e.key_id);
  if (!key) return 'forged';
  const { sig, ...unsigned } = e;
  try {
    return verify(null, Buffer.from(canonicalJson(unsigned)), key, Buffer.from(sig, 'base64url')) ? undefined : 'forged';
  } catch {
    return 'forged';
  }
}

/**
 * Signature, then time: a message past `expires_at` (with `skewMs` of grace for the two
 * clocks) is `expired`; one issued further in the future than the skew is `invalid`.
 */
export function checkEnvelope(e: Envelope, keys: KeyRing, nowMs: number, skewMs: number): RefusalReason | undefined {
  const bad = checkSignature(e, keys);
  if (bad) return bad;
  const issued = Date.parse(e.issued_at);
  const expires = Date.parse(e.expires_at);
  if (!Number.isFinite(issued) || !Number.isFinite(expires) || expires < issued) return 'invalid';
  if (issued > nowMs + skewMs) return 'invalid';
  if (expires < nowMs - skewMs) return 'expired';
  return undefined;
}

export type SeqVerdict = 'next' | 'replayed' | 'gap';

/**
 * The per-village stream's rule: exactly the next seq applies; an old one is a replay (or a
 * redelivery, harmless either way since applying is idempotent by id); a jump is a gap, after
 * which the store asks for a snapshot.
 */
export function classifySeq(last: number, seq: number): SeqVerdict {
  if (seq <= last) return 'replayed';
  return seq === last + 1 ? 'next' : 'gap';
}
