/**
 * Door-camera sequences made from one portrait of a demo photo (node_modules, never committed):
 *
 * - `live`: the stand-in for the villager in person. The face is mapped on a head-like surface
 *   (a vertical elliptic cylinder, half-width 1.3 inter-ocular distances, the nose 1.5 times that in
 *   front of its axis: LIVE_SHAPE; the background
 *   stays where it is, as a wall does) that stands nearly still, then turns slowly to about 25°
 *   to one side and the other: the turn a villager makes when the door asks 请慢慢转头. It cannot blink (the
 *   landmark net does not follow eyelids painted over a photo), so scenarios with it ask for a
 *   turn.
 * - `print`: the portrait printed (CMYK-like halftone dots on paper with a white margin) and
 *   held up by hand: a plane, tilted and turned in perspective, with hand jitter and drift.
 * - `screen`: the portrait on a phone screen: black bezel, screen gamma and blue cast, moiré
 *   (the camera resampling the pixel grid), a glare band, held by hand like the print.
 *
 * Each frame is 640×480 packed RGB with sensor noise. Deterministic for a seed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { RgbFrame } from '../../models/face-engine.ts';
import { fitHomography } from '../../models/liveness/planar.ts';

export type PresentationKind = 'live' | 'print' | 'screen';
export const PRESENTATION_KINDS: readonly PresentationKind[] = ['live', 'print', 'screen'];

export const FRAME_W = 640;
export const FRAME_H = 480;

/** Where the face is in the portrait (from its 68 landmarks). */
export interface FaceGeometry { noseX: number; interOcular: number }

export function faceGeometry(landmarks: ArrayLike<number>): FaceGeometry {
  const x = (i: number) => landmarks[2 * i] as number;
  const y = (i: number) => landmarks[2 * i + 1] as number;
  return { noseX: x(30), interOcular: Math.hypot(x(45) - x(36), y(45) - y(36)) };
}

/** A small seeded generator (mulberry32) and a normal deviate from it. */
function rng(seed: number): { u: () => number; n: () => number } {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { u, n: () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u()) };
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function sample(src: RgbFrame, u: number, v: number, c: number): number {
  const u0 = Math.floor(u);
  const v0 = Math.floor(v);
  const fu = u - u0;
  const fv = v - v0;
  const d = src.data;
  const i = (v0 * src.width + u0) * 3 + c;
  const j = i + src.width * 3;
  return (1 - fv) * ((1 - fu) * (d[i] as number) + fu * (d[i + 3] as number)) + fv * ((1 - fu) * (d[j] as number) + fu * (d[j + 3] as number));
}

/** Box blur of radius r, twice (close to a Gaussian): the camera's optics over fine print dots. */
function blurred(f: RgbFrame, r: number): RgbFrame {
  const { width: W, height: H } = f;
  let a = Float32Array.from(f.data);
  for (let pass = 0; pass < 4; pass++) {
    const horizontal = pass % 2 === 0;
    const b = new Float32Array(a.length);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          let n = 0;
          for (let k = -r; k <= r; k++) {
            const xx = horizontal ? x + k : x;
            const yy = horizontal ? y : y + k;
            if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
            sum += a[(yy * W + xx) * 3 + c] as number;
            n++;
          }
          b[(y * W + x) * 3 + c] = sum / n;
        }
      }
    }
    a = b;
  }
  return { width: W, height: H, data: Uint8Array.from(a, clamp) };
}

/** The portrait scaled to `side` px and centred in a frame over a plain wall, as the door sees a villager. */
function placed(src: RgbFrame, side: number, dx: number, dy: number): { frame: RgbFrame; scale: number; left: number; top: number } {
  const scale = side / src.width;
  const left = (FRAME_W - side) / 2 + dx;
  const top = (FRAME_H - side * (src.height / src.width)) / 2 + dy;
  const out = wall();
  for (let y = 0; y < FRAME_H; y++) {
    for (let x = 0; x < FRAME_W; x++) {
      const u = (x - left) / scale;
      const v = (y - top) / scale;
      if (u < 0 || v < 0 || u >= src.width - 1 || v >= src.height - 1) continue;
      for (let c = 0; c < 3; c++) out.data[(y * FRAME_W + x) * 3 + c] = clamp(sample(src, u, v, c));
    }
  }
  return { frame: out, scale, left, top };
}

/** The store's entrance behind the person: a grey wall with a soft vertical gradient. */
function wall(): RgbFrame {
  const data = new Uint8Array(FRAME_W * FRAME_H * 3);
  for (let y = 0; y < FRAME_H; y++) {
    const g = 150 - (40 * y) / FRAME_H;
    for (let x = 0; x < FRAME_W; x++) {
      const i = (y * FRAME_W + x) * 3;
      data[i] = g + 6;
      data[i + 1] = g + 2;
      data[i + 2] = g - 4;
    }
  }
  return { width: FRAME_W, height: FRAME_H, data };
}

/**
 * The face on a head-like surface turned by `yawDeg`; outside it the portrait as it is. The
 * surface is a vertical elliptic cylinder whose axis lies behind the nose: a half-width of
 * `radius` inter-ocular distances and `depth` times that from the axis to the nose,
 * so the nose stands out from the cheeks as on a head (depth 1: a round cylinder).
 */
function turned(src: RgbFrame, g: FaceGeometry, yawDeg: number, radius: number, depth: number): RgbFrame {
  const out = { width: src.width, height: src.height, data: src.data.slice() };
  const a = g.interOcular * radius;
  const b = a * depth;
  const yaw = (yawDeg * Math.PI) / 180;
  // a surface point at angle φ (x = a·sin φ, z = b·cos φ) turned by the yaw is seen at R·sin(φ + ψ)
  const R = Math.hypot(a * Math.cos(yaw), b * Math.sin(yaw));
  const psi = Math.atan2(b * Math.sin(yaw), a * Math.cos(yaw));
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const X = (x - g.noseX) / R;
      if (Math.abs(X) >= 1) continue;
      const phi = Math.asin(X) - psi;
      // the far side of the head turns out of view: the background shows there
      if (Math.abs(phi) >= Math.PI / 2 - 0.05) continue;
      const u = g.noseX + a * Math.sin(phi);
      if (u < 0 || u >= src.width - 1) continue;
      for (let c = 0; c < 3; c++) out.data[(y * src.width + x) * 3 + c] = clamp(sample(src, u, y, c));
    }
  }
  return out;
}

/** Sensor noise on every pixel (σ in grey levels): deviates drawn from a table at a random offset (a normal deviate per value would take most of the making's time). */
const NOISE = ((): Float32Array => {
  const r = rng(12_345);
  return Float32Array.from({ length: 1 << 16 }, () => r.n());
})();
function noisy(f: RgbFrame, sigma: number, u: () => number): RgbFrame {
  let k = Math.floor(u() * NOISE.length);
  const step = 1 + 2 * Math.floor(u() * 1000); // odd: visits the whole table
  for (let i = 0; i < f.data.length; i++) {
    k = (k + step) & (NOISE.length - 1);
    f.data[i] = clamp((f.data[i] as number) + sigma * (NOISE[k] as number));
  }
  return f;
}

/** The portrait resampled to `side` px across (the frames need no more; keeps the making fast). */
function resized(src: RgbFrame, side: number): { frame: RgbFrame; k: number } {
  const k = side / src.width;
  if (k >= 1) return { frame: src, k: 1 };
  const w = Math.round(src.width * k);
  const h = Math.round(src.height * k);
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = clamp(sample(src, Math.min(x / k, src.width - 1.001), Math.min(y / k, src.height - 1.001), c));
    }
  }
  return { frame: { width: w, height: h, data }, k };
}

/**
 * The head stand-in: a half-width of 1.3 inter-ocular distances, the nose 1.5 times that in front of the
 * axis of the turn, turning to 25° each way. The depth matters: the door measures the yaw from
 * where the nose sits between the jaw's ends, and on a round cylinder (depth 1) a 25° turn
 * measured only ≈ 13° from straight ahead, less than the challenge asks (`min_yaw_change` 15):
 * only an attempt that began mid-turn could pass. With depth 1.5 it measures ≈ 20–25°.
 */
export const LIVE_SHAPE = { radius: 1.3, depth: 1.5, amplitude: 25 } as const;
/** Frames of the live sequence at rest before the turn; the turn is the rest of it. */
export const LIVE_REST_FRAMES = 8;

/** The villager in person: nearly still (slight sway), then a slow turn to ~25° one way, the other way, and back (LIVE_SHAPE). */
export function liveFrames(full: RgbFrame, g0: FaceGeometry, seed = 1, shape: { radius: number; depth: number; amplitude: number } = LIVE_SHAPE): RgbFrame[] {
  const r = rng(seed);
  const { frame: portrait, k } = resized(full, 400);
  const g = { noseX: g0.noseX * k, interOcular: g0.interOcular * k };
  const yaws: number[] = [];
  for (let i = 0; i < LIVE_REST_FRAMES; i++) yaws.push(1.5 * Math.sin(i / 2));
  // to one side and back, then to the other side and back
  for (let i = 1; i <= 24; i++) yaws.push(shape.amplitude * Math.sin((Math.PI * i) / 12));
  return yaws.map((yaw, i) => noisy(placed(turned(portrait, g, yaw, shape.radius, shape.depth), 400, Math.round(2 * Math.sin(i / 3)), 0).frame, 3, r.u));
}

/** A plane (photo or screen) `distMm` from the camera (focal length 700 px), turned by yaw/pitch/roll (degrees) and shifted (px). */
function held(sheet: RgbFrame, pose: { yaw: number; pitch: number; roll: number; dx: number; dy: number }, widthMm: number, distMm: number, bg: RgbFrame): RgbFrame {
  const [a, b, c] = [pose.yaw, pose.pitch, pose.roll].map((d) => (d * Math.PI) / 180) as [number, number, number];
  const corners = [[0, 0], [sheet.width, 0], [sheet.width, sheet.height], [0, sheet.height]] as const;
  const from: number[] = [];
  const to: number[] = [];
  for (const [u, v] of corners) {
    const x0 = (u / sheet.width - 0.5) * widthMm;
    const y0 = (v / sheet.height - 0.5) * widthMm * (sheet.height / sheet.width);
    const x = x0 * Math.cos(c) - y0 * Math.sin(c);
    const y = x0 * Math.sin(c) + y0 * Math.cos(c);
    const x1 = x * Math.cos(a);
    const z1 = -x * Math.sin(a);
    const y2 = y * Math.cos(b) - z1 * Math.sin(b);
    const z2 = y * Math.sin(b) + z1 * Math.cos(b);
    const d = distMm - z2;
    from.push(FRAME_W / 2 + (700 * x1) / d + pose.dx, FRAME_H / 2 + (700 * y2) / d + pose.dy);
    to.push(u, v);
  }
  // frame pixel → sheet pixel
  const m = fitHomography(from, to) as Float64Array;
  const out = { width: FRAME_W, height: FRAME_H, data: bg.data.slice() };
  for (let y = 0; y < FRAME_H; y++) {
    for (let x = 0; x < FRAME_W; x++) {
      const w = (m[6] as number) * x + (m[7] as number) * y + (m[8] as number);
      const u = ((m[0] as number) * x + (m[1] as number) * y + (m[2] as number)) / w;
      const v = ((m[3] as number) * x + (m[4] as number) * y + (m[5] as number)) / w;
      if (u < 0 || v < 0 || u >= sheet.width - 1 || v >= sheet.height - 1) continue;
      for (let ch = 0; ch < 3; ch++) out.data[(y * FRAME_W + x) * 3 + ch] = clamp(sample(sheet, u, v, ch));
    }
  }
  return out;
}

/** A hand holding the sheet: jitter and drift, and the tilts and turns an attacker tries when asked to turn. */
function handPoses(n: number, r: ReturnType<typeof rng>): Array<{ yaw: number; pitch: number; roll: number; dx: number; dy: number }> {
  return Array.from({ length: n }, (_, i) => {
    const t = i / n;
    const turn = i >= n / 2 ? 28 * Math.sin(2 * Math.PI * (2 * t - 1)) : 0;
    return { yaw: turn + 3 * Math.sin(i / 2.3) + r.n(), pitch: 6 * Math.sin(i / 3.1) + r.n(), roll: 2 * Math.sin(i / 4) + 0.5 * r.n(), dx: 8 * Math.sin(i / 5) + 2 * r.n(), dy: 5 * Math.cos(i / 4) + 2 * r.n() };
  });
}

/** Halftone print: each ink on its own rotated dot screen, on off-white paper with a margin. */
function printed(portrait: RgbFrame): RgbFrame {
  const margin = Math.round(portrait.width * 0.06);
  const W = portrait.width + 2 * margin;
  const H = portrait.height + 2 * margin;
  const data = new Uint8Array(W * H * 3);
  const paper = [246, 243, 232];
  // ~220 dots across: finer than the camera resolves, so the dots show as texture and colour shifts
  const pitch = Math.max(1.6, portrait.width / 220);
  const angles = [15, 75, 0].map((d) => (d * Math.PI) / 180); // cyan, magenta, yellow screens
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      const u = x - margin;
      const v = y - margin;
      for (let c = 0; c < 3; c++) {
        if (u < 0 || v < 0 || u >= portrait.width || v >= portrait.height) { data[i + c] = paper[c] as number; continue; }
        const ink = 1 - (portrait.data[(v * portrait.width + u) * 3 + c] as number) / 255;
        const a = angles[c] as number;
        const su = (x * Math.cos(a) + y * Math.sin(a)) / pitch;
        const sv = (-x * Math.sin(a) + y * Math.cos(a)) / pitch;
        const du = su - Math.round(su);
        const dv = sv - Math.round(sv);
        // a dot covers the share `ink` of its cell
        const covered = Math.PI * (du * du + dv * dv) < ink * 1.05;
        // the dots are not black and spread into the paper: most of the tone comes through as in the photo
        const tone = (paper[c] as number) * (1 - ink * 0.85);
        data[i + c] = clamp(0.7 * tone + 0.3 * (paper[c] as number) * (covered ? 0.3 : 1));
      }
    }
  }
  return blurred({ width: W, height: H, data }, 1);
}

/** A phone screen showing the portrait: bezel, gamma and blue cast, moiré, a glare band. */
function onScreen(portrait: RgbFrame): RgbFrame {
  const bezel = Math.round(portrait.width * 0.05);
  const W = portrait.width + 2 * bezel;
  const H = Math.round(portrait.height * 1.35) + 2 * bezel;
  const data = new Uint8Array(W * H * 3).fill(18);
  const top = bezel + Math.round((H - 2 * bezel - portrait.height) / 2);
  const f1 = (2 * Math.PI) / 3.1;
  const f2 = (2 * Math.PI) / 3.3;
  for (let y = bezel; y < H - bezel; y++) {
    for (let x = bezel; x < W - bezel; x++) {
      const i = (y * W + x) * 3;
      const u = x - bezel;
      const v = y - top;
      const inside = v >= 0 && v < portrait.height;
      // the camera resamples the screen's pixel grid: two close frequencies beat into moiré bands
      const moire = 0.82 + 0.18 * Math.cos(f1 * x + 0.3 * y) * Math.cos(f2 * y - 0.2 * x);
      const glare = 70 * Math.exp(-(((x - 0.3 * y - W * 0.2) / (W * 0.08)) ** 2));
      for (let c = 0; c < 3; c++) {
        const s = inside ? (portrait.data[(v * portrait.width + u) * 3 + c] as number) / 255 : 0.06;
        const lit = 255 * s ** 0.85 * (c === 2 ? 1.06 : c === 0 ? 0.94 : 1);
        data[i + c] = clamp(lit * moire + glare);
      }
    }
  }
  return { width: W, height: H, data };
}

/** An attack: the portrait printed or on a screen, held by hand in front of the camera. */
export function attackFrames(kind: 'print' | 'screen', full: RgbFrame, seed = 1, count = 24): RgbFrame[] {
  const r = rng(seed);
  const portrait = resized(full, 360).frame;
  const sheet = kind === 'print' ? printed(portrait) : onScreen(portrait);
  // held close enough for the face to look as large as a villager's at the door: a 150 mm
  // print at 260 mm, a phone (110 mm across) at 190 mm
  const [widthMm, distMm] = kind === 'print' ? [150, 260] : [110, 190];
  const bg = wall();
  return handPoses(count, r).map((p) => noisy(held(sheet, p, widthMm, distMm, bg), 3, r.u));
}

export function presentationFrames(kind: PresentationKind, portrait: RgbFrame, g: FaceGeometry, seed = 1): RgbFrame[] {
  return kind === 'live' ? liveFrames(portrait, g, seed) : attackFrames(kind, portrait, seed);
}

/**
 * A presentation and where in it the person answers the door's challenge (请慢慢转头): frames
 * before `answerFrom` are the person at rest (the villager standing still, the photo or phone
 * held up), from `answerFrom` on the turn (the head, or the sheet turned by hand). A replay
 * shows the rest until the door asks, then the turn from its start (harness/scenario/replay.ts).
 */
export function presentation(kind: PresentationKind, portrait: RgbFrame, g: FaceGeometry, seed = 1): { frames: RgbFrame[]; answerFrom: number } {
  const frames = presentationFrames(kind, portrait, g, seed);
  // handPoses turns the sheet in the second half of the sequence
  return { frames, answerFrom: kind === 'live' ? LIVE_REST_FRAMES : Math.ceil(frames.length / 2) };
}

/** Writes frames as JPEG files `0001.jpg`… (what `enter: {by: face, frames: DIR}` replays). */
export async function writeFrames(dir: string, frames: readonly RgbFrame[]): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (const [i, f] of frames.entries()) {
    const name = `${String(i + 1).padStart(4, '0')}.jpg`;
    writeFileSync(path.join(dir, name), await sharp(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.length), { raw: { width: f.width, height: f.height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    names.push(name);
  }
  return names;
}
