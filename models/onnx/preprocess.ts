/**
 * The converted nets' input, as face-api's `NetInput.toBatchTensor` makes it, written straight
 * from the packed RGB frame into a reused NHWC float buffer (one pass, no intermediate image):
 * the region is padded with black to a square (centred for the landmark and recognition nets,
 * at the right or bottom for the detector) and resized bilinearly like tfjs's
 * `resizeBilinear(alignCorners = false, halfPixelCenters = false)`.
 */
import type { RgbFrame } from '../frame.ts';

export interface Region { x: number; y: number; width: number; height: number }

/** Where the region sits in its padded square: the square's side and the region's offset in it. */
export function paddedSquare(width: number, height: number, centred: boolean): { side: number; offX: number; offY: number } {
  const side = Math.max(width, height);
  const diff = side - Math.min(width, height);
  // face-api appends round(diff / 2) after and prepends the rest when centred
  const before = centred ? diff - Math.round(diff * 0.5) : 0;
  return { side, offX: width < height ? before : 0, offY: height < width ? before : 0 };
}

/** Fills `out` ([size, size, 3] floats, 0..255) from the integer region of the frame. */
export function squareInput(frame: RgbFrame, region: Region, centred: boolean, size: number, out: Float32Array): void {
  const { x: rx, y: ry, width: rw, height: rh } = region;
  if (out.length !== size * size * 3) throw new Error(`preprocess: buffer of ${out.length} values for ${size}×${size}×3`);
  const { side, offX, offY } = paddedSquare(rw, rh, centred);
  const scale = side / size;
  const src = frame.data;
  const stride = frame.width * 3;
  // per output column and row: the two source offsets (-1 = black padding) and the weight
  const cols = axis(size, scale, side, offX, rw, rx * 3, 3);
  const rows = axis(size, scale, side, offY, rh, ry * stride, stride);
  const px = (rowOff: number, colOff: number, c: number): number => (rowOff < 0 || colOff < 0 ? 0 : (src[rowOff + colOff + c] as number));
  let o = 0;
  for (let oy = 0; oy < size; oy++) {
    const r0 = rows.a[oy] as number;
    const r1 = rows.b[oy] as number;
    const ly = rows.t[oy] as number;
    for (let ox = 0; ox < size; ox++) {
      const c0 = cols.a[ox] as number;
      const c1 = cols.b[ox] as number;
      const lx = cols.t[ox] as number;
      for (let c = 0; c < 3; c++) {
        const tl = px(r0, c0, c);
        const tr = px(r0, c1, c);
        const bl = px(r1, c0, c);
        const br = px(r1, c1, c);
        const top = tl + (tr - tl) * lx;
        const bottom = bl + (br - bl) * lx;
        out[o++] = top + (bottom - top) * ly;
      }
    }
  }
}

/** Source offsets along one axis: floor and ceil of `i × scale` in the square, shifted into the frame. */
function axis(size: number, scale: number, side: number, off: number, extent: number, base: number, step: number): { a: Int32Array; b: Int32Array; t: Float64Array } {
  const a = new Int32Array(size);
  const b = new Int32Array(size);
  const t = new Float64Array(size);
  const offset = (s: number): number => (s - off < 0 || s - off >= extent ? -1 : base + (s - off) * step);
  for (let i = 0; i < size; i++) {
    const f = i * scale;
    const lo = Math.floor(f);
    a[i] = offset(lo);
    b[i] = offset(Math.min(side - 1, Math.ceil(f)));
    t[i] = f - lo;
  }
  return { a, b, t };
}
