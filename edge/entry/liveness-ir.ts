/**
 * The infrared check (a binocular door camera: RGB plus near-infrared, `entry.camera_ir`).
 * Before a face opens the door, the IR frame taken at the same moment must show a face where
 * the RGB frame's 68 landmarks say it is (mapped by `entry.ir.offset_x/offset_y/scale`), with
 * the response of skin under the camera's IR illuminator. What is tested, and why:
 *
 * 1. **Skin is lit** (`min_skin_level`): the cheeks, nose and forehead under the landmarks are
 *    bright in IR (skin reflects ~50 % at 850 nm and the illuminator is close). A phone or
 *    tablet screen emits no IR and its glass reflects the illuminator only as a spot: the face
 *    region is dark → `ir_dark`.
 * 2. **A face is there** (`min_eye_contrast`): the eyes (and brows) are darker than the skin
 *    around them by a share of the skin's level. A dye-ink print (most colour inks are
 *    transparent in IR) shows almost blank paper; a screen shows nothing; a face at another
 *    position shows no eyes under the mapped landmarks → `ir_no_face`.
 * 3. **Skin-like texture** (`max_skin_texture`): skin scatters IR under its surface and looks
 *    smooth; a print whose black (carbon) ink is visible in IR shows its halftone dots or the
 *    paper's grain on the cheeks: the mean absolute Laplacian of the cheek patches over their
 *    level is high → `ir_texture`.
 * A missing or stale IR frame (older than `max_skew_ms` against the RGB frame) is not a pass:
 * the face is `uncertain` (card or QR code). Nor is a face whose eye or skin regions fall partly
 * outside the IR frame (the IR lens sees a little less than the RGB lens, or the face is at the
 * edge): what the IR lens did not see is missing evidence, not dark eyes → `ir_out_of_view`,
 * which the door also takes as `uncertain`.
 *
 * Not caught here: a print in carbon ink fine enough that the camera does not resolve its dots
 * (that is what the passive check and the challenge are for), a 3D mask. The default thresholds
 * come from synthetic frames (tests/entry/liveness-ir.test.ts), not from a real IR camera:
 * calibrate them on the door's own camera (docs/liveness.md).
 */
import type { RgbFrame } from '../../models/face-engine.ts';

export interface IrParams {
  /** IR pixel = RGB pixel × scale + offset (the two lenses' mapping, measured once at installation). */
  offsetX: number;
  offsetY: number;
  scale: number;
  minSkinLevel: number;
  minEyeContrast: number;
  maxSkinTexture: number;
}

export type IrVerdict = 'ok' | 'ir_dark' | 'ir_no_face' | 'ir_texture' | 'ir_out_of_view';

export interface IrJudgement {
  verdict: IrVerdict;
  /** Mean IR level (0–255) of the skin patches. */
  skin: number;
  /** (skin − eyes) / skin. */
  eyeContrast: number;
  /** Mean |Laplacian| over the cheek patches / their level. */
  texture: number;
}

type Rect = { x0: number; y0: number; x1: number; y1: number };

/** Whether the whole rectangle (as rounded to pixels) lies inside the frame and holds pixels. */
function inView(f: RgbFrame, r: Rect): boolean {
  const x0 = Math.round(r.x0), y0 = Math.round(r.y0), x1 = Math.round(r.x1), y1 = Math.round(r.y1);
  return x0 >= 0 && y0 >= 0 && x1 <= f.width && y1 <= f.height && x1 > x0 && y1 > y0;
}

/** Mean grey level (the average of the three channels; an IR camera sends grey) over a rectangle. */
function mean(f: RgbFrame, r: Rect): number {
  let sum = 0;
  let n = 0;
  for (let y = Math.max(0, Math.round(r.y0)); y < Math.min(f.height, Math.round(r.y1)); y++) {
    for (let x = Math.max(0, Math.round(r.x0)); x < Math.min(f.width, Math.round(r.x1)); x++) {
      const i = (y * f.width + x) * 3;
      sum += ((f.data[i] as number) + (f.data[i + 1] as number) + (f.data[i + 2] as number)) / 3;
      n++;
    }
  }
  return n > 0 ? sum / n : 0;
}

/** Mean absolute 4-neighbour Laplacian over a rectangle. */
function laplacian(f: RgbFrame, r: Rect): number {
  const g = (x: number, y: number): number => {
    const i = (y * f.width + x) * 3;
    return ((f.data[i] as number) + (f.data[i + 1] as number) + (f.data[i + 2] as number)) / 3;
  };
  let sum = 0;
  let n = 0;
  for (let y = Math.max(1, Math.round(r.y0)); y < Math.min(f.height - 1, Math.round(r.y1)); y++) {
    for (let x = Math.max(1, Math.round(r.x0)); x < Math.min(f.width - 1, Math.round(r.x1)); x++) {
      sum += Math.abs(4 * g(x, y) - g(x - 1, y) - g(x + 1, y) - g(x, y - 1) - g(x, y + 1));
      n++;
    }
  }
  return n > 0 ? sum / n : 0;
}

/** The regions of the face in IR pixels, from the RGB landmarks. */
export function irRegions(landmarks: ArrayLike<number>, p: Pick<IrParams, 'offsetX' | 'offsetY' | 'scale'>): { eyes: Rect[]; skin: Rect[]; cheeks: Rect[] } {
  const px = (i: number): [number, number] => [(landmarks[2 * i] as number) * p.scale + p.offsetX, (landmarks[2 * i + 1] as number) * p.scale + p.offsetY];
  const box = (idx: number[]): Rect => {
    const pts = idx.map(px);
    return { x0: Math.min(...pts.map((q) => q[0])), y0: Math.min(...pts.map((q) => q[1])), x1: Math.max(...pts.map((q) => q[0])), y1: Math.max(...pts.map((q) => q[1])) };
  };
  const [lx, ly] = px(36);
  const [rx, ry] = px(45);
  const iod = Math.max(4, Math.hypot(rx - lx, ry - ly));
  const eye = (idx: number[]): Rect => {
    const b = box(idx);
    // the eye opening is thin: take its box, at least a tenth of the inter-ocular distance high
    const h = Math.max(b.y1 - b.y0, iod * 0.1);
    const cy = (b.y0 + b.y1) / 2;
    return { x0: b.x0 + (b.x1 - b.x0) * 0.15, x1: b.x1 - (b.x1 - b.x0) * 0.15, y0: cy - h / 2, y1: cy + h / 2 };
  };
  const eyes = [eye([36, 37, 38, 39, 40, 41]), eye([42, 43, 44, 45, 46, 47])];
  // cheeks: under each eye, above the nose tip's level
  const [, noseY] = px(33);
  const cheek = (e: Rect): Rect => {
    const top = e.y1 + iod * 0.12;
    return { x0: e.x0, x1: e.x1, y0: top, y1: Math.max(top + iod * 0.15, Math.min(noseY, top + iod * 0.35)) };
  };
  const cheeks = [cheek(eyes[0] as Rect), cheek(eyes[1] as Rect)];
  const [nx, ny] = px(29);
  const nose: Rect = { x0: nx - iod * 0.08, x1: nx + iod * 0.08, y0: ny - iod * 0.1, y1: ny + iod * 0.1 };
  return { eyes, skin: [...cheeks, nose], cheeks };
}

export function judgeIr(ir: RgbFrame, landmarks: ArrayLike<number>, p: IrParams): IrJudgement {
  const r = irRegions(landmarks, p);
  // a region the IR lens did not see is no evidence: never read it as dark eyes (or dark skin)
  if (![...r.eyes, ...r.skin].every((q) => inView(ir, q))) return { verdict: 'ir_out_of_view', skin: 0, eyeContrast: 0, texture: 0 };
  const skin = r.skin.reduce((s, q) => s + mean(ir, q), 0) / r.skin.length;
  const eyes = r.eyes.reduce((s, q) => s + mean(ir, q), 0) / r.eyes.length;
  const eyeContrast = skin > 0 ? (skin - eyes) / skin : 0;
  const texture = skin > 0 ? r.cheeks.reduce((s, q) => s + laplacian(ir, q), 0) / r.cheeks.length / skin : 0;
  const verdict: IrVerdict = skin < p.minSkinLevel ? 'ir_dark' : eyeContrast < p.minEyeContrast ? 'ir_no_face' : texture > p.maxSkinTexture ? 'ir_texture' : 'ok';
  return { verdict, skin, eyeContrast, texture };
}

/** The newest IR frame, kept as it arrives (its arrival time decides whether it pairs with an RGB frame). */
export class IrFrames {
  private latest: { frame: RgbFrame; at: number } | null = null;
  put(frame: RgbFrame, at: number): void { this.latest = { frame, at }; }
  /** The IR frame taken within `maxSkewMs` of `at`, or null. */
  near(at: number, maxSkewMs: number): RgbFrame | null {
    const l = this.latest;
    return l && Math.abs(l.at - at) <= maxSkewMs ? l.frame : null;
  }
}
