/**
 * Gathering a snapshot sent in parts. A village's snapshot grows with every entry it ever had;
 * past what one message may carry (`MAX_PAYLOAD_BYTES`), the ledger sends it in parts under one
 * seq (cloud-sync/ledger/catchup.ts), each part a signed envelope checked on arrival like any
 * other. Here they wait, by the snapshot they belong to (`part.of`), until all have come; the
 * whole is then applied as one snapshot, with every check a snapshot has (its seq against the
 * store's, whether the store asked). A part of a snapshot that never completes (the broker lost
 * one) is dropped when newer snapshots push it out; the store's own timer asks again.
 */
import type { Envelope, SnapshotBody } from '../protocol/payloads.ts';

/** Snapshots gathered at once: the one being answered, and one more that overtook it. */
const GATHERING = 2;

type Part = NonNullable<SnapshotBody['part']>;

export type PartResult =
  /** The last missing part came: the snapshot, whole, in one envelope without `part`. */
  | { kind: 'whole'; envelope: Envelope }
  /** Held: more parts to come (`duplicate` when this part was held already). */
  | { kind: 'held'; duplicate: boolean }
  /** Does not fit the parts held for the same snapshot (another seq or count). */
  | { kind: 'invalid'; why: string };

export class SnapshotParts {
  private readonly gathering = new Map<string, { seq: number; count: number; parts: (Envelope | undefined)[]; have: number }>();

  get holding(): number {
    return this.gathering.size;
  }

  /** One part, already checked (signature, expiry, schema, store). */
  add(e: Envelope): PartResult {
    const part = (e.body as SnapshotBody).part as Part;
    let g = this.gathering.get(part.of);
    if (!g) {
      g = { seq: e.seq, count: part.count, parts: new Array<Envelope | undefined>(part.count).fill(undefined), have: 0 };
      this.gathering.set(part.of, g);
      // The oldest gathering goes first (a Map keeps insertion order).
      for (const key of this.gathering.keys()) if (this.gathering.size > GATHERING) this.gathering.delete(key);
    }
    if (g.seq !== e.seq || g.count !== part.count || part.index >= part.count) {
      return { kind: 'invalid', why: `snapshot part ${part.index}/${part.count} at seq ${e.seq} does not fit ${part.of} (${g.count} parts at seq ${g.seq})` };
    }
    if (g.parts[part.index]) return { kind: 'held', duplicate: true };
    g.parts[part.index] = e;
    g.have++;
    if (g.have < g.count) return { kind: 'held', duplicate: false };
    this.gathering.delete(part.of);
    return { kind: 'whole', envelope: join(g.parts as Envelope[]) };
  }
}

function join(parts: readonly Envelope[]): Envelope {
  const bodies = parts.map((p) => p.body as SnapshotBody);
  // One concat of the parts' arrays, not flatMap: a whole village's 200,000 entries in one turn of
  // the event loop took 56-195 ms with flatMap (bench:snapshot-apply's `last_receive_ms`, load 11-14).
  const villagers = ([] as SnapshotBody['villagers']).concat(...bodies.map((b) => b.villagers));
  const entries = ([] as SnapshotBody['entries']).concat(...bodies.map((b) => b.entries));
  const products = ([] as NonNullable<SnapshotBody['products']>).concat(...bodies.map((b) => b.products ?? []));
  const body: SnapshotBody = { villagers, entries, ...(products.length > 0 ? { products } : {}) };
  const first = parts[0]!;
  return { ...first, id: (first.body as SnapshotBody).part!.of, body };
}
