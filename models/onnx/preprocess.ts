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

/** Mirrors a [size, size, 3] buffer left to right in place (the crop's mirror image). */
export function mirrorRows(buf: Float32Array, size: number): void {
  for (let y = 0; y < size; y++) {
    const row = y * size * 3;
    for (let l = 0, r = size - 1; l < r; l++, r--) {
      for (let c = 0; c < 3; c++) {
        const a = row + l * 3 + c, b = row + r * 3 + c;
        const t = buf[a] as number;
        buf[a] = buf[b] as number;
        buf[b] = t;
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

/**
 * tfjs's `image.cropAndResize` (bilinear, extrapolation 0) of one box given as
 * [y1, x1, y2, x2] relative to the frame, into `out` ([size, size, 3] floats, 0..255).
 */
export function cropAndResize(frame: RgbFrame, box: readonly [number, number, number, number], size: number, out: Float32Array): void {
  const [y1, x1, y2, x2] = box;
  const { width, height, data } = frame;
  const hs = size > 1 ? ((y2 - y1) * (height - 1)) / (size - 1) : 0;
  const ws = size > 1 ? ((x2 - x1) * (width - 1)) / (size - 1) : 0;
  let o = 0;
  for (let y = 0; y < size; y++) {
    const fy = size > 1 ? y1 * (height - 1) + y * hs : 0.5 * (y1 + y2) * (height - 1);
    if (fy < 0 || fy > height - 1) {
      out.fill(0, o, o + size * 3);
      o += size * 3;
      continue;
    }
    const top = Math.floor(fy);
    const bottom = Math.ceil(fy);
    const ly = fy - top;
    for (let x = 0; x < size; x++) {
      const fx = size > 1 ? x1 * (width - 1) + x * ws : 0.5 * (x1 + x2) * (width - 1);
      if (fx < 0 || fx > width - 1) {
        out[o++] = 0; out[o++] = 0; out[o++] = 0;
        continue;
      }
      const left = Math.floor(fx);
      const right = Math.ceil(fx);
      const lx = fx - left;
      for (let c = 0; c < 3; c++) {
        const tl = data[(top * width + left) * 3 + c] as number;
        const tr = data[(top * width + right) * 3 + c] as number;
        const bl = data[(bottom * width + left) * 3 + c] as number;
        const br = data[(bottom * width + right) * 3 + c] as number;
        const t = tl + (tr - tl) * lx;
        const b = bl + (br - bl) * lx;
        out[o++] = t + (b - t) * ly;
      }
    }
  }
}
