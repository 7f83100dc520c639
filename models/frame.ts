/**
 * A camera frame and the descriptor arithmetic every stage shares; apart from the engine so that
 * the recognizers and the alignment can use them without importing the engine that loads them.
 */
import { ModelError } from './errors.ts';

export interface RgbFrame {
  width: number;
  height: number;
  /** Packed RGB, width × height × 3 bytes. */
  data: Uint8Array;
}

/** The descriptor scaled to unit length (distances then run 0…2). */
export function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] ?? 0) ** 2;
  const n = Math.sqrt(s);
  if (!(n > 1e-6)) throw new ModelError('GALLERY_INVALID', 'descriptor has zero length');
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] ?? 0) / n;
  return out;
}

/** The mean of two unit descriptors, scaled to unit length again (test-time augmentation). */
export function averaged(a: Float32Array, b: Float32Array): Float32Array {
  const sum = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) sum[i] = (a[i] as number) + (b[i] as number);
  return normalise(sum);
}

/** The frame centred on a black canvas `k` times its size, and where it was placed. */
export function padFrame(f: RgbFrame, k: number): { frame: RgbFrame; ox: number; oy: number } {
  const width = Math.round(f.width * k), height = Math.round(f.height * k);
  const data = new Uint8Array(width * height * 3);
  const ox = Math.round((width - f.width) / 2), oy = Math.round((height - f.height) / 2);
  for (let y = 0; y < f.height; y++) data.set(f.data.subarray(y * f.width * 3, (y + 1) * f.width * 3), ((y + oy) * width + ox) * 3);
  return { frame: { width, height, data }, ox, oy };
}

/** A frame whose brightest 1 % stays below this value is dim. */
export const DIM_BELOW = 140;

/**
 * The frame as the detector should see it in dim light: when the 99th percentile of its values
 * (sampled every 7th value) is below DIM_BELOW, a copy stretched so that its 1st–99th percentile
 * spans 0..255; otherwise the frame itself. SSD at score 0.4 found no face in 45 of 300 darkened
 * door frames, 5 once stretched (docs/face-engine.md, Detectors). Brighter frames are left alone:
 * stretching a photo that is only a little dark cost the tiny detector a face.
 */
export function stretchContrast(f: RgbFrame): RgbFrame {
  const hist = new Uint32Array(256);
  const d = f.data;
  let n = 0;
  for (let i = 0; i < d.length; i += 7) { const v = d[i] as number; hist[v] = (hist[v] as number) + 1; n++; }
  const cut = n * 0.01;
  let lo = 0, hi = 255, c = 0;
  for (let v = 0; v < 256; v++) { c += hist[v] as number; if (c > cut) { lo = v; break; } }
  c = 0;
  for (let v = 255; v >= 0; v--) { c += hist[v] as number; if (c > cut) { hi = v; break; } }
  // only dim frames: a dark photo or a doorway at dusk, not one merely low in contrast
  if (hi >= DIM_BELOW) return f;
  const k = 255 / Math.max(1, hi - lo);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.max(0, Math.min(255, Math.round((v - lo) * k)));
  const out = new Uint8Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = lut[d[i] as number] as number;
  return { width: f.width, height: f.height, data: out };
}
