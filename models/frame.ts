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
