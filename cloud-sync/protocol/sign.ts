/**
 * Ed25519 signatures over a canonical JSON form, with Node's `crypto` (as the QR tokens in
 * edge/entry/credentials.ts), and the rules every signed message passes on receipt:
 * signature, expiry, then sequence.
 *
 * The canonical form is in lib/canonical-json.ts.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, hash, sign, verify, type KeyObject } from 'node:crypto';
import type { Envelope, RefusalReason, UnsignedEnvelope } from './payloads.ts';
import { canonicalJson, memberTexts } from '../../lib/canonical-json.ts';
import { SIG_FIRST, takeArrivedText } from './arrived.ts';

export { CanonicalText, canonicalJson } from '../../lib/canonical-json.ts';

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
 * another row that took the same seq after a restore (docs/sync-outbox.md, the outbox drain).
 */
export function rowDigest(payload: unknown): string {
  return digestOfCanonical(canonicalJson(payload));
}

/**
 * rowDigest of a payload whose canonical text is known already. crypto.hash (Node 20.12), not
 * createHash: one call, a third of the CPU for a row's short text (0.6 against 1.9 us), and every
 * acknowledged row is digested at the ledger and again at its store.
 */
export function digestOfCanonical(text: string): string {
  return hash('sha256', text, 'base64url').slice(0, 16);
}

/** A fresh key pair as PEM (for `ledger keygen`, tests and the demo). */
export function newKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The wire text of each envelope signEnvelope made (see envelopeText). */
const wireTexts = new WeakMap<Envelope, string>();

export function signEnvelope(e: Omit<UnsignedEnvelope, 'key_id'>, key: SigningKey): Envelope {
  const unsigned: UnsignedEnvelope = { ...e, key_id: key.id };
  const { sig, wire } = signCanonical(unsigned, key);
  const env = { ...unsigned, sig };
  wireTexts.set(env, wire);
  return env;
}

/**
 * An envelope as JSON text: for one signEnvelope made, the canonical text it signed with `sig`
 * put in front, so the ledger writes its events table and the wire without serialising each
 * event twice more (bench:sync); for any other, JSON.stringify. Either parses to the envelope.
 */
export function envelopeText(e: Envelope): string {
  return wireTexts.get(e) ?? JSON.stringify(e);
}

/** The signature over `unsigned`'s canonical form, and that form with `sig` put in front (JSON that parses to the signed envelope). */
function signCanonical(unsigned: unknown, key: SigningKey): { sig: string; wire: string } {
  const text = canonicalJson(unsigned);
  const sig = sign(null, Buffer.from(text), key.key).toString('base64url');
  return { sig, wire: `{"sig":"${sig}",${text.slice(1)}` };
}

/**
 * The signed envelope as the text that goes on the wire: its canonical form with `sig` put in
 * front, which is JSON that parses to the signed envelope (receivers check it as any other).
 * One serialisation instead of two (the canonical form to sign, then JSON.stringify to send),
 * and the only way to send an envelope holding CanonicalText.
 */
export function signedEnvelopeText(e: Omit<UnsignedEnvelope, 'key_id'>, key: SigningKey): string {
  return signCanonical({ ...e, key_id: key.id }, key).wire;
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

/**
 * The text an envelope in signedEnvelopeText's form was signed over: `{"sig":"…",` taken off and
 * `{` put back. Undefined for any other text, or when the `sig` there is not the envelope's.
 */
function signedPart(text: string, sig: string): string | undefined {
  const end = SIG_FIRST.length + sig.length;
  if (text.charCodeAt(end) !== 0x22 || text.charCodeAt(end + 1) !== 0x2c || text.slice(SIG_FIRST.length, end) !== sig) return undefined;
  return `{${text.slice(end + 2)}`;
}

/**
 * Signature only: `unsigned` without one, `forged` when it does not verify or the key is unknown.
 * `keep`: as canonicalJson's (the texts are whole only when the signature was checked).
 *
 * An envelope that arrived as signedEnvelopeText wrote it (its canonical form, `sig` in front) is
 * checked over the text it came in, not over its canonical form written again: writing it was
 * the larger half of the check (a 100-row batch at the ledger, each stream event at a store;
 * bench:sync). A key holder signed exactly those bytes, and they parse to this envelope (`sig`
 * aside, which must be the one in front). Only a text that does not verify so (one written by
 * JSON.stringify, as older versions sent, or a forgery) is written canonically and checked again.
 * Of `keep`, only the payloads of a rows message's rows get their text that way (the rows'
 * `payload` members, in order); any other key is left for the caller to write (ackDigests does).
 */
export function checkSignature(e: Envelope, keys: KeyRing, keep?: Map<unknown, string>): RefusalReason | undefined {
  const arrived = takeArrivedText(e);
  if (e.sig === undefined || e.sig === '') return 'unsigned';
  const key = keys.get(e.key_id);
  if (!key) return 'forged';
  const { sig, ...unsigned } = e;
  try {
    const sigBytes = Buffer.from(sig, 'base64url');
    const part = arrived === undefined ? undefined : signedPart(arrived, sig);
    if (part !== undefined && verify(null, Buffer.from(part), key, sigBytes)) {
      if (keep && keep.size > 0) keepRowPayloads(e, part, keep);
      return undefined;
    }
    return verify(null, Buffer.from(canonicalJson(unsigned, keep)), key, sigBytes) ? undefined : 'forged';
  } catch {
    return 'forged';
  }
}

/** The text of each row's payload in a rows message's signed text (`{…,"body":{"rows":[{…,"payload":…}]}}`), for `keep`'s payloads. */
function keepRowPayloads(e: Envelope, signed: string, keep: Map<unknown, string>): void {
  const rows = (e.body as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows)) return;
  const texts = memberTexts(signed, 'payload', 4);
  if (texts.length !== rows.length) return;
  rows.forEach((r: unknown, i) => {
    const p = (r as { payload?: unknown } | null)?.payload;
    if (keep.has(p)) keep.set(p, texts[i]!);
  });
}

/**
 * Signature, then time: a message past `expires_at` (with `skewMs` of grace for the two
 * clocks) is `expired`; one issued further in the future than the skew is `invalid`.
 */
export function checkEnvelope(e: Envelope, keys: KeyRing, nowMs: number, skewMs: number, keep?: Map<unknown, string>): RefusalReason | undefined {
  const bad = checkSignature(e, keys, keep);
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
