/**
 * Face quality measures computed from the raw frame and the 68 landmarks, cheaply, so a bad
 * frame is rejected before the descriptor is computed. Pure functions, no tfjs.
 */

export interface Box { x: number; y: number; width: number; height: number }
export interface Point { x: number; y: number }

export interface FaceQuality {
  /** Smaller side of the detection box, in frame pixels. */
  faceSize: number;
  /** Variance of the Laplacian over intensity variance on a 64×64 grey crop: contrast-invariant. */
  sharpness: number;
  /** Head turn left/right in degrees, from the nose's position between the jaw's ends. */
  yaw: number;
  /** Head nod in degrees, from the nose's height between the eye line and the chin. */
  pitch: number;
  /** Head tilt in degrees, from the line through both eyes. */
  roll: number;
}

const CROP = 64;
const crop = new Float32Array(CROP * CROP);

/** Grey 64×64 area-averaged crop of `box` from packed RGB; reuses one buffer (hot loop). */
function greyCrop(rgb: Uint8Array, width: number, height: number, box: Box): Float32Array {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(width, Math.ceil(box.x + box.width));
  const y1 = Math.min(height, Math.ceil(box.y + box.height));
  const w = Math.max(1, x1 - x0);
  const h = Math.max(1, y1 - y0);
  for (let cy = 0; cy < CROP; cy++) {
    const sy0 = y0 + Math.floor((cy * h) / CROP);
    const sy1 = Math.max(sy0 + 1, y0 + Math.floor(((cy + 1) * h) / CROP));
    for (let cx = 0; cx < CROP; cx++) {
      const sx0 = x0 + Math.floor((cx * w) / CROP);
      const sx1 = Math.max(sx0 + 1, x0 + Math.floor(((cx + 1) * w) / CROP));
      let sum = 0;
      let n = 0;
      for (let y = sy0; y < sy1 && y < height; y++) {
        let o = (y * width + sx0) * 3;
        for (let x = sx0; x < sx1 && x < width; x++, o += 3) {
          sum += 0.299 * (rgb[o] ?? 0) + 0.587 * (rgb[o + 1] ?? 0) + 0.114 * (rgb[o + 2] ?? 0);
          n++;
        }
      }
      crop[cy * CROP + cx] = n > 0 ? sum / n : 0;
    }
  }
  return crop;
}

export function sharpness(rgb: Uint8Array, width: number, height: number, box: Box): number {
  const g = greyCrop(rgb, width, height, box);
  let mean = 0;
  for (let i = 0; i < g.length; i++) mean += g[i] ?? 0;
  mean /= g.length;
  let varI = 0;
  let lapSum = 0;
  let lapSq = 0;
  let n = 0;
  for (let y = 1; y < CROP - 1; y++) {
    for (let x = 1; x < CROP - 1; x++) {
      const i = y * CROP + x;
      const c = g[i] ?? 0;
      const lap = (g[i - 1] ?? 0) + (g[i + 1] ?? 0) + (g[i - CROP] ?? 0) + (g[i + CROP] ?? 0) - 4 * c;
      lapSum += lap;
      lapSq += lap * lap;
      varI += (c - mean) * (c - mean);
      n++;
    }
  }
  if (varI <= 1e-6 * n) return 0; // a flat patch has no detail at all
  const lapVar = lapSq / n - (lapSum / n) ** 2;
  return lapVar / (varI / n);
}

const deg = (rad: number): number => (rad * 180) / Math.PI;
const clamp1 = (v: number): number => Math.max(-1, Math.min(1, v));

/** Pose from the 68-point layout: 0–16 jaw, 30 nose tip, 36–41 and 42–47 the eyes, 8 chin. */
export function poseFromLandmarks(p: readonly Point[]): { yaw: number; pitch: number; roll: number } {
  const at = (i: number): Point => p[i] ?? { x: 0, y: 0 };
  const centre = (from: number, to: number): Point => {
    let x = 0;
    let y = 0;
    for (let i = from; i <= to; i++) { x += at(i).x; y += at(i).y; }
    const n = to - from + 1;
    return { x: x / n, y: y / n };
  };
  const eyeL = centre(36, 41);
  const eyeR = centre(42, 47);
  const nose = at(30);
  const jawL = at(0);
  const jawR = at(16);
  const chin = at(8);
  const jawW = Math.hypot(jawR.x - jawL.x, jawR.y - jawL.y) || 1;
  // 0.5 when the nose sits midway between the jaw's ends; sin(yaw) ≈ 2·(ratio − 0.5)
  const ratio = ((nose.x - jawL.x) * (jawR.x - jawL.x) + (nose.y - jawL.y) * (jawR.y - jawL.y)) / (jawW * jawW);
  const yaw = deg(Math.asin(clamp1(2 * (ratio - 0.5))));
  const roll = deg(Math.atan2(eyeR.y - eyeL.y, eyeR.x - eyeL.x));
  const eyeMid = { x: (eyeL.x + eyeR.x) / 2, y: (eyeL.y + eyeR.y) / 2 };
  const faceH = Math.hypot(chin.x - eyeMid.x, chin.y - eyeMid.y) || 1;
  const noseH = Math.hypot(nose.x - eyeMid.x, nose.y - eyeMid.y);
  // a frontal face has the nose tip about 0.45 of the way from the eye line to the chin
  const pitch = deg(Math.asin(clamp1((noseH / faceH - 0.45) * 2.5)));
  return { yaw, pitch, roll };
}

export interface QualityGate {
  minFaceSize: number;
  minSharpness: number;
  maxYaw: number;
  maxPitch: number;
  maxRoll: number;
}

export type QualityFailure = 'too_small' | 'blurred' | 'turned' | 'nodding' | 'tilted';

/** The first gate the face fails, or null. */
export function checkQuality(q: FaceQuality, gate: QualityGate): QualityFailure | null {
  if (q.faceSize < gate.minFaceSize) return 'too_small';
  if (q.sharpness < gate.minSharpness) return 'blurred';
  if (Math.abs(q.yaw) > gate.maxYaw) return 'turned';
  if (Math.abs(q.pitch) > gate.maxPitch) return 'nodding';
  if (Math.abs(q.roll) > gate.maxRoll) return 'tilted';
  return null;
}

/**
 * A face whose box side is at least this share of the largest face's stands beside the person
 * at the door; a smaller one is someone farther back (a passer-by, a colleague at a desk).
 */
export const NEAR_FACE_RATIO = 0.5;

/**
 * How many of the detected faces (box sides given, any order) are near the camera: the largest
 * and those at least NEAR_FACE_RATIO of its side. Enrolment refuses a frame only when this is
 * above one: people behind the villager are real faces, but not a second person being enrolled.
 */
export function nearFaceCount(sides: readonly number[]): number {
  const largest = Math.max(0, ...sides);
  return largest > 0 ? sides.filter((s) => s >= NEAR_FACE_RATIO * largest).length : 0;
}
