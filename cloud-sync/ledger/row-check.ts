/**
 * A store's `rows` message checked against the store's registered key: decoded, signature,
 * time, then its own shape. On PostgreSQL the ledger's turn waits on the database for most of
 * its time, and the next turn's messages arrive meanwhile: each is checked as it arrives
 * (`early`) against the key the ledger last read for its store, so its turn finds it checked
 * and only compares keys (the trace of bench:sync showed the turns strictly one after another,
 * each beginning with its messages' signatures). A key that changed since (a rotation), or a
 * store not read yet, is checked in the turn as before; on SQLite, where a turn never waits,
 * the same work only moves. A refusal is counted once, when the turn takes the message.
 */
import type { KeyObject } from 'node:crypto';
import { checkers, decode, ROWS_DIGESTS, ROWS_FOREIGN, type RefusalReason, type Row } from '../protocol/payloads.ts';
import { checkEnvelope, digestOfCanonical, publicEd25519, rowDigest } from '../protocol/sign.ts';
import type { StoreRecord } from './tables.ts';
import { addrKey } from './control.ts';

/** `digests`: the store reads an ack's `digests` (its envelope's id ends with ROWS_DIGESTS); `foreign`, its `foreign` (ROWS_FOREIGN before it). */
/** `texts`: each row's payload (object) with its canonical text, from the signature's check. */
type Verdict = { ok: true; rows: Row[]; digests: boolean; foreign: boolean; texts: ReadonlyMap<unknown, string> } | { ok: false; reason: RefusalReason };
interface Early { keyId: string; pem: string; verdict: Verdict }

export class RowChecker {
  /** The key each store had when the ledger last read it (bounded like `keys`). */
  private readonly known = new Map<string, { keyId: string; pem: string }>();
  /** Messages checked on arrival, by their payload (each message its own buffer). */
  private readonly early = new WeakMap<Buffer, Early>();

  constructor(private readonly nowMs: () => number, private readonly skewMs: number) {}

  /** The stores as a turn read them: the keys to check the next messages against. */
  remember(records: Iterable<StoreRecord>): void {
    for (const r of records) {
      if (this.known.size >= 10_000) this.known.clear();
      this.known.set(addrKey(r.village, r.id), { keyId: r.keyId, pem: r.publicKey });
    }
  }

  /** Checks a message as it arrives, when its store's key is known; the turn then only compares keys. */
  onArrival(village: string, store: string, payload: Buffer): void {
    const k = this.known.get(addrKey(village, store));
    if (k) this.early.set(payload, { ...k, verdict: this.verdict(village, store, payload, k) });
  }

  /** The message's rows, or why it is refused, against `rec` (the store as registered now; undefined: unknown). */
  check(village: string, store: string, payload: Buffer, rec: StoreRecord | undefined): Verdict {
    const e = this.early.get(payload);
    if (e && rec && e.keyId === rec.keyId && e.pem === rec.publicKey) return e.verdict;
    return this.verdict(village, store, payload, rec ? { keyId: rec.keyId, pem: rec.publicKey } : undefined);
  }

  private verdict(village: string, store: string, payload: Buffer, key: { keyId: string; pem: string } | undefined): Verdict {
    const env = decode(payload, checkers.envelope);
    if (!env.ok) return { ok: false, reason: 'invalid' };
    const e = env.value;
    // An unknown store is refused as forged: no key vouches for it.
    const ring = key ? new Map([[key.keyId, publicEd25519(key.pem)]]) : new Map<string, KeyObject>();
    // Each row's payload text is kept from the signature's check: the ack digests it (ackDigests).
    const body = e.body as { rows?: unknown } | null;
    const texts = new Map<unknown, string>();
    if (Array.isArray(body?.rows)) {
      for (const r of body.rows as unknown[]) {
        const p = (r as { payload?: unknown } | null)?.payload;
        if (typeof p === 'object' && p !== null) texts.set(p, '');
      }
    }
    const bad = checkEnvelope(e, ring, this.nowMs(), this.skewMs, texts);
    if (bad) return { ok: false, reason: bad };
    if (e.kind !== 'rows' || e.village !== village || e.store !== store || !checkers.rows.Check(e.body)) return { ok: false, reason: 'invalid' };
    const rows = e.body.rows;
    if (rows.some((r) => r.id !== `${store}:${r.seq}`)) return { ok: false, reason: 'invalid' };
    return { ok: true, rows, digests: e.id.endsWith(ROWS_DIGESTS), foreign: e.id.endsWith(ROWS_FOREIGN + ROWS_DIGESTS), texts };
  }
}

/**
 * The ack's `digests`: each acknowledged row's `rowDigest`, in the order of `ids` (rows of the
 * batch), of the payload texts the signature's check wrote (`texts`) where it has them.
 */
export function ackDigests(rows: readonly Row[], ids: readonly string[], texts?: ReadonlyMap<unknown, string>): string[] {
  const digest = (p: unknown): string => {
    const t = texts?.get(p);
    return t ? digestOfCanonical(t) : rowDigest(p);
  };
  const by = new Map(rows.map((r) => [r.id, digest(r.payload)]));
  return ids.map((id) => by.get(id) ?? rowDigest(null));
}
