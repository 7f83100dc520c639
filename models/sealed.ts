/**
 * Descriptors sealed at rest: AES-256-GCM under a 32-byte key, a fresh 12-byte nonce each, the
 * owner's id (UTF-8) as additional data, so a sealed descriptor moved to another owner does not
 * open. The store keeps its templates so (edge/entry/templates.ts holds the key and the rows).
 *
 * Opening a whole gallery is CPU work (9,000 templates: ~0.1 s of one core) that must not run on
 * the door's main thread, which also runs the sessions and polls the scales: the sealed rows go
 * to the inference worker in one buffer (`SealedBatch`, transferred, not cloned row by row) and
 * are opened there (`gallerySealed`, `nearestSealed`), where the gallery lives.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ModelError } from './errors.ts';
import { Gallery, type GalleryHit } from './gallery.ts';

export interface Sealed { nonce: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array }

const NONCE = 12;
const TAG = 16;

export function sealDescriptor(key: Uint8Array, owner: string, descriptor: Float32Array): { nonce: Buffer; ciphertext: Buffer; tag: Buffer } {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(owner, 'utf8'));
  const plain = Buffer.from(descriptor.buffer, descriptor.byteOffset, descriptor.byteLength);
  const ciphertext = Buffer.concat([c.update(plain), c.final()]);
  return { nonce, ciphertext, tag: c.getAuthTag() };
}

/**
 * The descriptor of one sealed row; `TEMPLATE_UNREADABLE` (details: the owner) when it does not
 * open (another key, an altered row, a row moved to another owner) or is not whole float32s.
 */
export function openSealed(key: Uint8Array, owner: string, t: Sealed): Float32Array {
  try {
    const d = createDecipheriv('aes-256-gcm', key, t.nonce);
    d.setAAD(Buffer.from(owner, 'utf8'));
    d.setAuthTag(t.tag);
    const plain = Buffer.concat([d.update(t.ciphertext), d.final()]);
    if (plain.length === 0 || plain.length % 4 !== 0) throw new Error(`descriptor of ${plain.length} bytes`);
    // copy into an aligned buffer: Buffer pools are not 4-byte aligned
    return new Float32Array(new Uint8Array(plain).buffer);
  } catch (err) {
    throw new ModelError('TEMPLATE_UNREADABLE', `sealed descriptor of ${owner} does not open (wrong key or altered row)`, { cause: err, details: { owner } });
  }
}

/**
 * Sealed rows in one buffer: row i is `bytes[ends[i-1] .. ends[i]]` (nonce, tag, ciphertext),
 * owned by `owners[i]`. One postMessage carries it; `bytes` can be transferred.
 */
export interface SealedBatch { owners: string[]; ends: Uint32Array; bytes: Uint8Array }

export function packSealed(rows: ReadonlyArray<Sealed & { owner: string }>): SealedBatch {
  let total = 0;
  for (const r of rows) total += NONCE + TAG + r.ciphertext.length;
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(rows.length);
  const owners = new Array<string>(rows.length);
  let at = 0;
  rows.forEach((r, i) => {
    if (r.nonce.length !== NONCE || r.tag.length !== TAG) throw new ModelError('TEMPLATE_UNREADABLE', `sealed descriptor of ${r.owner} has a ${r.nonce.length}-byte nonce and a ${r.tag.length}-byte tag`, { details: { owner: r.owner } });
    bytes.set(r.nonce, at);
    bytes.set(r.tag, at + NONCE);
    bytes.set(r.ciphertext, at + NONCE + TAG);
    at += NONCE + TAG + r.ciphertext.length;
    ends[i] = at;
    owners[i] = r.owner;
  });
  return { owners, ends, bytes };
}

/** Rows already joined as nonce ‖ tag ‖ ciphertext (as the ledger can read them: one buffer a row) into one batch. */
export function packJoined(owners: string[], joined: readonly Uint8Array[]): SealedBatch {
  let total = 0;
  for (const j of joined) total += j.length;
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(joined.length);
  let at = 0;
  joined.forEach((j, i) => {
    if (j.length <= NONCE + TAG) throw new ModelError('TEMPLATE_UNREADABLE', `sealed descriptor of ${owners[i]} has ${j.length} bytes`, { details: { owner: owners[i] } });
    bytes.set(j, at);
    at += j.length;
    ends[i] = at;
  });
  return { owners, ends, bytes };
}

/** Batches one after another as one batch (one copy of each part's bytes); a single part as it is. */
export function concatBatches(parts: readonly SealedBatch[]): SealedBatch {
  if (parts.length === 1) return parts[0] as SealedBatch;
  let total = 0;
  let rows = 0;
  for (const p of parts) { total += p.bytes.length; rows += p.owners.length; }
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(rows);
  const owners: string[] = [];
  let at = 0;
  for (const p of parts) {
    bytes.set(p.bytes, at);
    for (let i = 0; i < p.owners.length; i++) {
      ends[owners.length] = at + (p.ends[i] as number);
      owners.push(p.owners[i] as string);
    }
    at += p.bytes.length;
  }
  return { owners, ends, bytes };
}

/** The descriptor length (values) of a joined row, without opening it: AES-GCM keeps the plaintext's length. */
export const joinedLength = (joined: Uint8Array): number => (joined.length - NONCE - TAG) / 4;

/** Every row of the batch opened, grouped by owner (in the batch's order). */
export function openBatch(key: Uint8Array, batch: SealedBatch): Map<string, Float32Array[]> {
  const out = new Map<string, Float32Array[]>();
  const { bytes, ends, owners } = batch;
  let start = 0;
  for (let i = 0; i < owners.length; i++) {
    const end = ends[i] as number;
    const owner = owners[i] as string;
    const d = openSealed(key, owner, { nonce: bytes.subarray(start, start + NONCE), tag: bytes.subarray(start + NONCE, start + NONCE + TAG), ciphertext: bytes.subarray(start + NONCE + TAG, end) });
    const list = out.get(owner);
    if (list) list.push(d);
    else out.set(owner, [d]);
    start = end;
  }
  return out;
}

/** The batch opened into `into` (cleared first), or into a new gallery of `dimension`. */
export function gallerySealed(key: Uint8Array, batch: SealedBatch, dimension: number, into?: Gallery): Gallery {
  const opened = openBatch(key, batch);
  const g = into ?? new Gallery(Math.max(16, batch.owners.length), dimension);
  g.clear();
  for (const [owner, descriptors] of opened) g.add(owner, descriptors);
  return g;
}

/**
 * For each query, the nearest owner of the batch and the distance (null: an empty batch): the
 * look-alike check of an enrolment, against everyone else's templates.
 */
export function nearestSealed(key: Uint8Array, batch: SealedBatch, queries: readonly Float32Array[]): Array<GalleryHit | null> {
  if (batch.owners.length === 0 || queries.length === 0) return queries.map(() => null);
  const g = gallerySealed(key, batch, (queries[0] as Float32Array).length);
  return queries.map((q) => g.search(q).best);
}
