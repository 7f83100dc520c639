/**
 * The face gallery: one contiguous Float32Array of unit descriptors (inside the wasm kernel's
 * memory, so the SIMD scan reads it in place), several templates per villager, top-2 search
 * by identity. Add and remove at run time without a rebuild: removal moves the last row into
 * the hole, so rows stay dense.
 */
import { createDotKernel, type DotKernel } from './dot-wasm.ts';
import { ModelError } from './errors.ts';
import { DESCRIPTOR_LENGTH, normalise } from './face-engine.ts';

const ROW_BYTES = DESCRIPTOR_LENGTH * 4;
const PAGE = 65536;

export interface GalleryHit {
  villagerId: string;
  /** Euclidean distance between unit descriptors: 0 identical, 2 opposite. */
  distance: number;
}

export interface GallerySearch {
  best: GalleryHit | null;
  /** Best hit of a different villager than `best`. */
  second: GalleryHit | null;
}

export class Gallery {
  private kernel: DotKernel = createDotKernel();
  private capacity = 0;
  private rows = 0;
  /** Owner ordinal per row. */
  private owner = new Int32Array(0);
  private ordinalOf = new Map<string, number>();
  private idOf: string[] = [];
  private rowsOf = new Map<number, number>();
  // memory layout: [query 512 B][scores capacity×4 B][descriptors capacity×512 B]
  private query!: Float32Array;
  private scores!: Float32Array;
  private data!: Float32Array;

  constructor(initialCapacity = 1024) {
    this.grow(Math.max(16, initialCapacity));
  }

  get size(): number { return this.rows; }
  get villagers(): number { return this.rowsOf.size; }

  private galleryOffset(capacity: number): number { return ROW_BYTES + capacity * 4; }

  private grow(capacity: number): void {
    const old = this.rows > 0 ? this.data.slice(0, this.rows * DESCRIPTOR_LENGTH) : null;
    const need = this.galleryOffset(capacity) + capacity * ROW_BYTES;
    const have = this.kernel.memory.buffer.byteLength;
    if (need > have) this.kernel.memory.grow(Math.ceil((need - have) / PAGE));
    const buf = this.kernel.memory.buffer; // views must be re-made after a grow detaches the old buffer
    this.query = new Float32Array(buf, 0, DESCRIPTOR_LENGTH);
    this.scores = new Float32Array(buf, ROW_BYTES, capacity);
    this.data = new Float32Array(buf, this.galleryOffset(capacity), capacity * DESCRIPTOR_LENGTH);
    if (old) this.data.set(old);
    const owner = new Int32Array(capacity);
    owner.set(this.owner.subarray(0, this.rows));
    this.owner = owner;
    this.capacity = capacity;
  }

  /** Adds templates for a villager (normalised here). */
  add(villagerId: string, descriptors: readonly Float32Array[]): void {
    const unit = descriptors.map((d) => {
      if (d.length !== DESCRIPTOR_LENGTH) throw new ModelError('GALLERY_INVALID', `descriptor has ${d.length} values, expected ${DESCRIPTOR_LENGTH}`);
      return normalise(d);
    });
    if (unit.length === 0) return;
    if (this.rows + unit.length > this.capacity) this.grow(Math.max(this.capacity * 2, this.rows + unit.length));
    let ord = this.ordinalOf.get(villagerId);
    if (ord === undefined) {
      ord = this.idOf.length;
      this.idOf.push(villagerId);
      this.ordinalOf.set(villagerId, ord);
    }
    for (const d of unit) {
      this.data.set(d, this.rows * DESCRIPTOR_LENGTH);
      this.owner[this.rows] = ord;
      this.rows++;
    }
    this.rowsOf.set(ord, (this.rowsOf.get(ord) ?? 0) + unit.length);
  }

  /** Removes all of a villager's templates; returns how many rows went. */
  remove(villagerId: string): number {
    const ord = this.ordinalOf.get(villagerId);
    if (ord === undefined) return 0;
    let removed = 0;
    for (let r = this.rows - 1; r >= 0; r--) {
      if (this.owner[r] !== ord) continue;
      const last = this.rows - 1;
      if (r !== last) {
        this.data.copyWithin(r * DESCRIPTOR_LENGTH, last * DESCRIPTOR_LENGTH, (last + 1) * DESCRIPTOR_LENGTH);
        this.owner[r] = this.owner[last] as number;
      }
      this.rows--;
      removed++;
    }
    this.rowsOf.delete(ord);
    this.ordinalOf.delete(villagerId);
    // the ordinal slot stays (ordinals of other rows must not move); a re-enrolment gets a new one
    return removed;
  }

  clear(): void {
    this.rows = 0;
    this.ordinalOf.clear();
    this.rowsOf.clear();
    this.idOf = [];
  }

  has(villagerId: string): boolean { return this.ordinalOf.has(villagerId); }

  /** Top-2 by identity. `query` need not be normalised. */
  search(query: Float32Array): GallerySearch {
    if (query.length !== DESCRIPTOR_LENGTH) throw new ModelError('GALLERY_INVALID', `query has ${query.length} values, expected ${DESCRIPTOR_LENGTH}`);
    if (this.rows === 0) return { best: null, second: null };
    this.query.set(normalise(query));
    this.kernel.scores(this.galleryOffset(this.capacity), 0, ROW_BYTES, this.rows);
    const scores = this.scores;
    const owner = this.owner;
    let b1 = -Infinity, o1 = -1, b2 = -Infinity, o2 = -1;
    for (let r = 0; r < this.rows; r++) {
      const s = scores[r] as number;
      if (s <= b2) continue;
      const o = owner[r] as number;
      if (s > b1) {
        if (o !== o1) { b2 = b1; o2 = o1; }
        b1 = s; o1 = o;
      } else if (o !== o1) {
        b2 = s; o2 = o;
      }
    }
    const hit = (score: number, ord: number): GalleryHit | null =>
      ord < 0 ? null : { villagerId: this.idOf[ord] as string, distance: Math.sqrt(Math.max(0, 2 - 2 * score)) };
    return { best: hit(b1, o1), second: hit(b2, o2) };
  }
}
