/**
 * Feature variants of the texture cue, for the cross-validation only (`cv-texture-variants.ts`):
 * the crop's features as the door computed them before (`v1`: raw light), on a grey-world crop
 * (`gw`: what texture.ts computes now, with `band`), on a crop standardised per channel (`std`),
 * and the band-energy numbers of texture-light.ts (`band`). Nothing here runs at the door.
 */
import type { RgbFrame } from '../../models/frame.ts';
import { alignedFace, cropFeatures, TEXTURE_SIZE } from '../../models/liveness/texture.ts';
import { bandFeatures, greyOf, greyWorld } from '../../models/liveness/texture-light.ts';

/** Means of the three channels over the central part of the square crop (no background at the corners). */
function channelStats(rgb: Float32Array, size: number): { mean: number[]; sd: number[] } {
  const m0 = Math.round(size * 0.2), m1 = Math.round(size * 0.8);
  const s = [0, 0, 0], s2 = [0, 0, 0];
  let n = 0;
  for (let y = m0; y < m1; y++) for (let x = m0; x < m1; x++) {
    const i = 3 * (y * size + x);
    for (let c = 0; c < 3; c++) { const v = rgb[i + c] as number; s[c] = (s[c] as number) + v; s2[c] = (s2[c] as number) + v * v; }
    n++;
  }
  const mean = s.map((v) => v / n);
  return { mean, sd: s2.map((v, c) => Math.sqrt(Math.max(0, v / n - (mean[c] as number) ** 2))) };
}

/** Each channel standardised over the face: mean 128, spread 40 (removes level, colour and contrast). */
export function standardise(rgb: Float32Array, size: number): Float32Array {
  const { mean, sd } = channelStats(rgb, size);
  return rgb.map((v, i) => Math.max(0, Math.min(255, 128 + (40 * (v - (mean[i % 3] as number))) / ((sd[i % 3] as number) + 1))));
}

/** Every variant of one frame, by name. */
export function variantFeatures(frame: RgbFrame, landmarks: ArrayLike<number>): Record<string, Float32Array> {
  const { grey, rgb } = alignedFace(frame, landmarks);
  const gw = greyWorld(rgb.slice(), TEXTURE_SIZE);
  const st = standardise(rgb, TEXTURE_SIZE);
  return {
    v1: cropFeatures(grey, rgb),
    gw: cropFeatures(greyOf(gw), gw),
    std: cropFeatures(greyOf(st), st),
    band: bandFeatures(frame, landmarks),
  };
}
