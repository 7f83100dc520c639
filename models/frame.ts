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

/** The frame centred on a black canvas `k` times its size, and where it was placed. */
export function padFrame(f: RgbFrame, k: number): { frame: RgbFrame; ox: number; oy: number } {
  const width = Math.round(f.width * k), height = Math.round(f.height * k);
  const data = new Uint8Array(width * height * 3);
  const ox = Math.round((width - f.width) / 2), oy = Math.round((height - f.height) / 2);
  for (let y = 0; y < f.height; y++) data.set(f.data.subarray(y * f.width * 3, (y + 1) * f.width * 3), ((y + oy) * width + ox) * 3);
  return { frame: { width, height, data }, ox, oy };
}
