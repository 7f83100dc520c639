/**
 * face-api's weight files as plain float32 arrays: the manifest (a tfjs weights manifest)
 * names each tensor with its shape and dtype, and the shard holds them back to back. Tensors
 * the manifest quantises (uint8 or uint16 with a scale and a minimum, or float16) are
 * dequantised exactly as tfjs does (`q × scale + min`; half floats widened exactly), so the
 * converted graph computes with the same numbers. Human's graph models use the same manifest.
 */
export interface WeightTensor {
  shape: number[];
  /** float32 tensors (dequantised when quantised); int32 tensors as read. */
  data: Float32Array | Int32Array;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number };
}

export interface ManifestGroup { paths: string[]; weights: ManifestEntry[] }

/** IEEE 754 half → float, exactly (subnormals, infinities and NaN included). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Decodes every tensor of one face-api net; throws naming the tensor when the shard does not fit. */
export function decodeWeights(manifestJson: Buffer | string, shard: Buffer): Map<string, WeightTensor> {
  return decodeWeightGroups(JSON.parse(manifestJson.toString()) as ManifestGroup[], shard);
}

/** The same, from the manifest's groups (a tfjs graph model's `weightsManifest`). */
export function decodeWeightGroups(groups: ManifestGroup[], shard: Buffer): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  let offset = 0;
  const take = (bytes: number, name: string): Buffer => {
    if (offset + bytes > shard.length) throw new Error(`weights: ${name} needs ${bytes} bytes at ${offset}, the shard has ${shard.length}`);
    const b = shard.subarray(offset, offset + bytes);
    offset += bytes;
    return b;
  };
  for (const w of groups.flatMap((g) => g.weights)) {
    const n = count(w.shape);
    const q = w.quantization;
    if (q?.dtype === 'float16') {
      const raw = take(n * 2, w.name);
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = halfToFloat(raw.readUInt16LE(i * 2));
      out.set(w.name, { shape: w.shape, data: values });
    } else if (q) {
      const size = q.dtype === 'uint8' ? 1 : q.dtype === 'uint16' ? 2 : 0;
      if (!size) throw new Error(`weights: ${w.name} is quantised as ${String(q.dtype)}, which the converter does not read`);
      const raw = take(n * size, w.name);
      const values = w.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = size === 1 ? (raw[i] as number) : raw.readUInt16LE(i * 2);
        values[i] = v * (q.scale ?? 1) + (q.min ?? 0);
      }
      out.set(w.name, { shape: w.shape, data: values });
    } else {
      const raw = take(n * 4, w.name);
      const copy = new Uint8Array(raw); // aligned copy
      out.set(w.name, { shape: w.shape, data: w.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer) });
    }
  }
  if (offset !== shard.length) throw new Error(`weights: ${shard.length - offset} bytes of the shard are left after the manifest's last tensor`);
  return out;
}

/** One float32 tensor by name, with its shape checked. */
export function tensorOf(weights: ReadonlyMap<string, WeightTensor>, name: string, rank: number): WeightTensor & { data: Float32Array } {
  const t = weights.get(name);
  if (!t) throw new Error(`weights: the manifest has no tensor ${name}`);
  if (!(t.data instanceof Float32Array) || t.shape.length !== rank) {
    throw new Error(`weights: ${name} has shape [${t.shape.join(', ')}], expected a float32 tensor of rank ${rank}`);
  }
  return t as WeightTensor & { data: Float32Array };
}
