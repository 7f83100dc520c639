/**
 * The face gallery: one contiguous Float32Array of unit descriptors (128 or 512 values, as the
 * recognizer gives them; inside the wasm kernel's memory), several templates per villager, top-2 search by identity. Add and remove at run
 * time without a rebuild: removal moves the last row into the hole, so rows stay dense.
 *
 * Search is exact but reads little memory: a first pass over an int8 copy of the rows (a
 * quarter of the bytes; the scan is memory-bound) with a proven error bound ε, then the rows
 * that could still be among the true top-2 identities (approximate score ≥ second-best − 2ε)
 * are re-scored in float32. 100,000 rows take ~1.5 ms instead of ~3 ms.
 */
import { createDotKernel, type DotKernel } from './dot-wasm.ts';
import { ModelError } from './errors.ts';
import { DESCRIPTOR_LENGTH } from './face-types.ts';
import { normalise } from './frame.ts';

const PAGE = 65536;
const Q16_OFFSET = 0;

export interface GalleryHit {
  villagerId: string;
  /** Euclidean distance between unit descriptors: 0 identical, 2 opposite. */
  distance: number;
}

export interface GallerySearch {
  best: GalleryHit | null;
  /** Best hit of a different villager than `best`. */
  second: GalleryHit | null;
  /**
   * The query's cohort distance: the mean over every villager of the distance to their nearest
   * template (from the int8 pass, within ε of exact). `match.cohort_scale` divides the door's
   * distances by it (`cohortScaled`); only when the search asked for it, and not on an empty gallery.
   */
  cohort?: number;
}

/** What `cohortScaled` multiplies the search's distances by: scale / cohort, or 1 when it leaves them as they are. */
export function cohortFactor(s: GallerySearch, scale: number | undefined): number {
  return scale === undefined || !s.cohort || !(s.cohort > 0) ? 1 : scale / s.cohort;
}

/**
 * The query of probe-side pooling (`entry.match.pool`): the sum of the unit descriptors pooled
 * so far (empty: none yet) plus this frame's; `search` scales it to unit length, so the pool's
 * mean is searched. A new array: the caller keeps it as the pool's new sum.
 */
export function pooledQuery(sum: Float32Array | null | undefined, descriptor: Float32Array): Float32Array {
  const q = new Float32Array(descriptor);
  // an empty sum (nothing pooled yet) adds nothing
  if (sum && sum.length === q.length) for (let i = 0; i < q.length; i++) (q[i] as number) += sum[i] as number;
  return q;
}

/**
 * Cohort normalisation of a search (`entry.match.cohort_scale`): every distance × scale / cohort.
 * A face near everyone (a crowded region of descriptor space, a poor frame) has a large cohort
 * distance and is pushed away; a face near one villager only is pulled in. `scale` keeps the
 * result in the range of distances (the thresholds stay of the same order). Unchanged when
 * scale is unset or the search has no cohort.
 */
export function cohortScaled(s: GallerySearch, scale: number | undefined): GallerySearch {
  const f = cohortFactor(s, scale);
  if (f === 1) return s;
  const hit = (h: GalleryHit | null): GalleryHit | null => (h ? { villagerId: h.villagerId, distance: h.distance * f } : null);
  return { best: hit(s.best), second: hit(s.second), cohort: s.cohort };
}

export class Gallery {
  private readonly kernel: DotKernel;
  /** Values per descriptor: 128 for face-api's recognizer, 512 for ArcFace (the recognizer decides). */
  readonly dimension: number;
  private capacity = 0;
  private rows = 0;
  /** Owner ordinal per row. */
  private owner = new Int32Array(0);
  /** Dequantisation scale of each int8 row. */
  private rowScale = new Float32Array(0);
  private maxRowScale = 0;
  private ordinalOf = new Map<string, number>();
  private idOf: string[] = [];
  private rowsOf = new Map<number, number>();
  // memory layout: [query int16][int32 dots, capacity][int8 rows, capacity×D][float32 rows, capacity×4D bytes]
  private q16!: Int16Array;
  private dots!: Int32Array;
  private data8!: Int8Array;
  private data!: Float32Array;
  /** Scratch for the normalised query: search allocates nothing per call. */
  private readonly unitQuery: Float32Array;
  /** Scratch: each villager ordinal's best approximate score of the query (the cohort distance). */
  private nearestOf = new Float64Array(0);

  constructor(initialCapacity = 1024, dimension = DESCRIPTOR_LENGTH) {
    this.dimension = dimension;
    this.kernel = createDotKernel(dimension);
    this.unitQuery = new Float32Array(dimension);
    this.grow(Math.max(16, initialCapacity));
  }

  get size(): number { return this.rows; }
  get villagers(): number { return this.rowsOf.size; }

  private offsets(capacity: number) {
    const D = this.dimension;
    const dots = Q16_OFFSET + D * 2;
    const int8 = dots + capacity * 4;
    const f32 = int8 + capacity * D;
    return { dots, int8, f32, end: f32 + capacity * D * 4 };
  }

  private grow(capacity: number): void {
    const D = this.dimension;
    const old = this.rows > 0 ? { f: this.data.slice(0, this.rows * D), i: this.data8.slice(0, this.rows * D) } : null;
    const o = this.offsets(capacity);
    const have = this.kernel.memory.buffer.byteLength;
    if (o.end > have) this.kernel.memory.grow(Math.ceil((o.end - have) / PAGE));
    const buf = this.kernel.memory.buffer; // views must be re-made after a grow detaches the old buffer
    this.q16 = new Int16Array(buf, Q16_OFFSET, D);
    this.dots = new Int32Array(buf, o.dots, capacity);
    this.data8 = new Int8Array(buf, o.int8, capacity * D);
    this.data = new Float32Array(buf, o.f32, capacity * D);
    if (old) { this.data.set(old.f); this.data8.set(old.i); }
    const owner = new Int32Array(capacity);
    owner.set(this.owner.subarray(0, this.rows));
    this.owner = owner;
    const scale = new Float32Array(capacity);
    scale.set(this.rowScale.subarray(0, this.rows));
    this.rowScale = scale;
    this.capacity = capacity;
  }

  private writeRow(r: number, d: Float32Array, ord: number): void {
    const D = this.dimension;
    this.data.set(d, r * D);
    let max = 0;
    for (let i = 0; i < D; i++) max = Math.max(max, Math.abs(d[i] as number));
    const scale = max / 127;
    const base = r * D;
    for (let i = 0; i < D; i++) this.data8[base + i] = Math.round((d[i] as number) / scale);
    this.rowScale[r] = scale;
    this.maxRowScale = Math.max(this.maxRowScale, scale);
    this.owner[r] = ord;
  }

  /** Adds templates for a villager (normalised here). */
  add(villagerId: string, descriptors: readonly Float32Array[]): void {
    const D = this.dimension;
    const unit = descriptors.map((d) => {
      if (d.length !== D) throw new ModelError('GALLERY_INVALID', `descriptor has ${d.length} values, expected ${D}`);
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
    for (const d of unit) this.writeRow(this.rows++, d, ord);
    this.rowsOf.set(ord, (this.rowsOf.get(ord) ?? 0) + unit.length);
  }

  /** Removes all of a villager's templates; returns how many rows went. */
  remove(villagerId: string): number {
    const D = this.dimension;
    const ord = this.ordinalOf.get(villagerId);
    if (ord === undefined) return 0;
    let removed = 0;
    for (let r = this.rows - 1; r >= 0; r--) {
      if (this.owner[r] !== ord) continue;
      const last = this.rows - 1;
      if (r !== last) {
        this.data.copyWithin(r * D, last * D, (last + 1) * D);
        this.data8.copyWithin(r * D, last * D, (last + 1) * D);
        this.owner[r] = this.owner[last] as number;
        this.rowScale[r] = this.rowScale[last] as number;
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
    this.maxRowScale = 0;
    this.ordinalOf.clear();
    this.rowsOf.clear();
    this.idOf = [];
  }

  has(villagerId: string): boolean { return this.ordinalOf.has(villagerId); }

  /** Top-2 by identity, exact. `query` need not be normalised. `cohort`: also the query's cohort distance (match.cohort_scale). */
  search(query: Float32Array, opts: { cohort?: boolean } = {}): GallerySearch {
    const D = this.dimension;
    if (query.length !== D) throw new ModelError('GALLERY_INVALID', `query has ${query.length} values, expected ${D}`);
    if (this.rows === 0) return { best: null, second: null };
    const q = this.unitQuery;
    let norm = 0;
    for (let i = 0; i < D; i++) norm += (query[i] as number) ** 2;
    norm = Math.sqrt(norm);
    if (!(norm > 1e-6)) throw new ModelError('GALLERY_INVALID', 'query descriptor has zero length');
    for (let i = 0; i < D; i++) q[i] = (query[i] as number) / norm;
    let qMax = 0;
    let qL1 = 0;
    for (let i = 0; i < D; i++) { const a = Math.abs(q[i] as number); qMax = Math.max(qMax, a); qL1 += a; }
    const qScale = qMax / 32767;
    for (let i = 0; i < D; i++) this.q16[i] = Math.round((q[i] as number) / qScale);
    const o = this.offsets(this.capacity);
    this.kernel.scoresInt8(o.int8, Q16_OFFSET, o.dots, this.rows);

    // pass 1: approximate top-2 identities, and each villager's nearest row for the cohort
    const dots = this.dots;
    const rowScale = this.rowScale;
    const owner = this.owner;
    const n = this.rows;
    if (opts.cohort && this.nearestOf.length < this.idOf.length) this.nearestOf = new Float64Array(Math.max(this.idOf.length, 2 * this.nearestOf.length));
    const nearestOf = this.nearestOf;
    if (opts.cohort) {
      // a pass of its own (≈ 1 ms per 100,000 rows), only when asked: the plain search skips most rows
      nearestOf.fill(-Infinity, 0, this.idOf.length);
      for (let r = 0; r < n; r++) {
        const s = (dots[r] as number) * (rowScale[r] as number);
        const ow = owner[r] as number;
        if (s > (nearestOf[ow] as number)) nearestOf[ow] = s;
      }
    }
    let a1 = -Infinity, o1 = -1, a2 = -Infinity;
    for (let r = 0; r < n; r++) {
      const s = (dots[r] as number) * (rowScale[r] as number);
      if (s <= a2) continue;
      const ow = owner[r] as number;
      if (s > a1) {
        if (ow !== o1) a2 = a1;
        a1 = s; o1 = ow;
      } else if (ow !== o1) {
        a2 = s;
      }
    }
    // |approx − exact| ≤ ε: row rounding against |q|₁, query rounding against |row|₁ ≤ √D + D·s/2
    const sg = this.maxRowScale;
    const eps = (qL1 * sg) / 2 + ((Math.sqrt(D) + (D * sg) / 2) * qScale) / 2;
    const floor = (Number.isFinite(a2) ? a2 : a1) * qScale - 2 * eps;

    // pass 2: exact float32 scores for the rows that can still be in the true top-2
    const data = this.data;
    let b1 = -Infinity, p1 = -1, b2 = -Infinity, p2 = -1;
    for (let r = 0; r < n; r++) {
      if ((dots[r] as number) * (rowScale[r] as number) * qScale < floor) continue;
      const base = r * D;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < D; i += 4) {
        s0 += (data[base + i] as number) * (q[i] as number);
        s1 += (data[base + i + 1] as number) * (q[i + 1] as number);
        s2 += (data[base + i + 2] as number) * (q[i + 2] as number);
        s3 += (data[base + i + 3] as number) * (q[i + 3] as number);
      }
      const s = s0 + s1 + s2 + s3;
      const ow = owner[r] as number;
      if (s > b1) {
        if (ow !== p1) { b2 = b1; p2 = p1; }
        b1 = s; p1 = ow;
      } else if (ow !== p1 && s > b2) {
        b2 = s; p2 = ow;
      }
    }
    const hit = (score: number, ord: number): GalleryHit | null =>
      ord < 0 ? null : { villagerId: this.idOf[ord] as string, distance: Math.sqrt(Math.max(0, 2 - 2 * score)) };
    if (!opts.cohort) return { best: hit(b1, p1), second: hit(b2, p2) };
    let cohort = 0;
    for (const ord of this.rowsOf.keys()) cohort += Math.sqrt(Math.max(0, 2 - 2 * Math.min(1, (nearestOf[ord] as number) * qScale)));
    return { best: hit(b1, p1), second: hit(b2, p2), cohort: cohort / this.rowsOf.size };
  }
}
