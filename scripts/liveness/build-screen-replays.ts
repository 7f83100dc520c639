/**
 * Builds SYNTHETIC screen-replay attack presentations from bona fide ones: every frame of a
 * presentation is shown on a simulated phone screen held up to the door camera and recaptured.
 * No public screen-replay set could be used (Replay-Attack and OULU-NPU need a signed licence),
 * so these stand in for one; results on them are reported as synthetic (docs/liveness-cues.md).
 *
 *   npx tsx scripts/liveness/build-screen-replays.ts SRC_DIR OUT_DIR [--seed 1] [--every K]
 *
 * SRC_DIR/<presentation>/<frames> (e.g. NUAA real presentations) → OUT_DIR/<presentation>_screen/NN.jpg.
 * Output goes outside the repository: the frames show real people (never commit them).
 * `--every K` takes every K-th presentation in name order (the rendering is slow: ≈ 1 s a frame
 * on a busy machine). Each presentation's screen is drawn from the seed and its name, so a
 * subset or a resumed run (presentations already built are kept) gives the same frames.
 *
 * The screen model, per presentation (seeded, so a rebuild is identical):
 * - the frame is shown on an RGB-stripe LCD/OLED: each screen pixel is three vertical
 *   sub-pixel stripes with a dark gap (fill 65–85 %), 1.3–4.5 screen pixels per camera pixel
 *   (a phone at 20–40 cm), so the grid aliases against the camera's sensor into moiré;
 * - the screen's gamma (2.0–2.6 against the camera's 2.2) and brightness (70–100 %);
 * - a glare (a soft white reflection of a lamp, 8–35 %) somewhere on the glass;
 * - a perspective: the phone tilted by up to ±20° about both axes and rotated ±8°, with a black
 *   bezel, in front of a dim, blurred room; hand-held jitter moves it a little every frame;
 * - the camera: the sensor integrates 2×2 samples per pixel, then a slight defocus blur
 *   (σ 0.5–1.1 px) and JPEG (quality 80–92).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImage } from '../../models/image.ts';
import type { RgbFrame } from '../../models/frame.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { seed: { type: 'string', default: '1' }, every: { type: 'string', default: '1' } } });
const [src, out] = positionals;
const every = Number(values.every);
if (!src || !out || !Number.isInteger(Number(values.seed)) || !Number.isInteger(every) || every < 1) {
  process.stderr.write('用法 usage: build-screen-replays.ts SRC_DIR OUT_DIR [--seed N] [--every K]\n');
  process.exit(2);
}

/** mulberry32: a small seeded generator (reproducible sets). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type H = [number, number, number, number, number, number, number, number, number];

/** Homography taking 4 source points onto 4 destination points (DLT, exact; h33 = 1). */
function homography(s: [number, number][], d: [number, number][]): H {
  const A: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = s[i] as [number, number], [u, v] = d[i] as [number, number];
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  // Gauss-Jordan on the 8×9 augmented matrix
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs((A[r] as number[])[c] as number) > Math.abs((A[p] as number[])[c] as number)) p = r;
    [A[c], A[p]] = [A[p] as number[], A[c] as number[]];
    const row = A[c] as number[];
    const piv = row[c] as number;
    for (let k = c; k < 9; k++) row[k] = (row[k] as number) / piv;
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const rr = A[r] as number[];
      const f = rr[c] as number;
      for (let k = c; k < 9; k++) rr[k] = (rr[k] as number) - f * (row[k] as number);
    }
  }
  const h = A.map((r) => r[8] as number);
  return [...h, 1] as H;
}

const apply = (h: H, x: number, y: number): [number, number] => {
  const w = h[6] * x + h[7] * y + h[8];
  return [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w];
};

interface Screen {
  cols: number; rows: number; fill: number; gamma: number; bright: number;
  glare: { x: number; y: number; r: number; k: number }; blur: number; quality: number;
  /** Corners of the screen in the camera frame (before jitter). */
  corners: [number, number][];
}

function screenFor(r: () => number, w: number, h: number): Screen {
  const perPx = 1.3 + 3.2 * r(); // screen pixels per camera pixel
  const widthCam = w * (0.55 + 0.35 * r()); // the shown frame's width in the camera
  const heightCam = widthCam * (h / w);
  const cols = Math.round(widthCam * perPx), rows = Math.round(heightCam * perPx);
  const cx = w / 2 + (r() - 0.5) * (w - widthCam) * 0.6, cy = h / 2 + (r() - 0.5) * (h - heightCam) * 0.6;
  const rot = ((r() - 0.5) * 16 * Math.PI) / 180;
  const tx = (r() - 0.5) * 0.35, ty = (r() - 0.5) * 0.35; // perspective foreshortening (≈ ±20°)
  const corners = ([[-1, -1], [1, -1], [1, 1], [-1, 1]] as [number, number][]).map(([sx, sy]) => {
    const x0 = (sx * widthCam) / 2, y0 = (sy * heightCam) / 2;
    const k = 1 + tx * sx + ty * sy; // the nearer edge looks larger
    const x1 = x0 * k, y1 = y0 * k;
    return [cx + x1 * Math.cos(rot) - y1 * Math.sin(rot), cy + x1 * Math.sin(rot) + y1 * Math.cos(rot)] as [number, number];
  });
  return {
    cols, rows, fill: 0.65 + 0.2 * r(), gamma: 2.0 + 0.6 * r(), bright: 0.7 + 0.3 * r(),
    glare: { x: r(), y: r(), r: 0.15 + 0.3 * r(), k: 0.08 + 0.27 * r() }, blur: 0.5 + 0.6 * r(), quality: 80 + Math.floor(13 * r()), corners,
  };
}

/** One frame shown on the screen and recaptured. */
async function recapture(frame: RgbFrame, room: RgbFrame, s: Screen, jitter: [number, number][]): Promise<Buffer> {
  const { width: W, height: H } = frame;
  const corners = s.corners.map(([x, y], i) => [x + (jitter[i] as [number, number])[0], y + (jitter[i] as [number, number])[1]] as [number, number]);
  // camera pixel → screen coordinates (in screen pixels)
  const toScreen = homography(corners, [[0, 0], [s.cols, 0], [s.cols, s.rows], [0, s.rows]]);
  const bezel = 0.04 * s.cols;
  const lin = new Float32Array(256).map((_, v) => (v / 255) ** s.gamma);
  const out = new Uint8Array(W * H * 3);
  const SS = 2;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let r = 0, g = 0, b = 0, onScreen = 0, inBezel = 0;
      for (let j = 0; j < SS; j++) for (let i = 0; i < SS; i++) {
        const [u, v] = apply(toScreen, x + (i + 0.5) / SS, y + (j + 0.5) / SS);
        if (u >= 0 && v >= 0 && u < s.cols && v < s.rows) {
          onScreen++;
          const px = Math.floor(u), py = Math.floor(v);
          // which sub-pixel stripe the sample falls on, and whether in the gap between them
          const f = (u - px) * 3;
          const stripe = Math.floor(f);
          if (f - stripe > s.fill || v - py > 0.92) continue;
          const sx = Math.min(W - 1, Math.floor((px / s.cols) * W)), sy = Math.min(H - 1, Math.floor((py / s.rows) * H));
          const val = lin[frame.data[(sy * W + sx) * 3 + stripe] as number] as number;
          // a stripe covers a third of the pixel: three times the light to keep the mean
          if (stripe === 0) r += 3 * val; else if (stripe === 1) g += 3 * val; else b += 3 * val;
        } else if (u >= -bezel && v >= -bezel && u < s.cols + bezel && v < s.rows + bezel) inBezel++;
      }
      const o = (y * W + x) * 3;
      const n = SS * SS;
      const roomShare = (n - onScreen - inBezel) / n;
      const gx = x / W - s.glare.x, gy = y / H - s.glare.y;
      const glare = onScreen ? s.glare.k * Math.exp(-(gx * gx + gy * gy) / (2 * s.glare.r * s.glare.r)) * (onScreen / n) : 0;
      const c = [r, g, b].map((acc, k) => {
        const screenLight = (acc / n) * s.bright + glare;
        const roomLight = roomShare * 0.35 * ((room.data[o + k] as number) / 255) ** 2.2;
        return Math.round(255 * Math.min(1, screenLight + roomLight) ** (1 / 2.2));
      });
      out[o] = c[0] as number; out[o + 1] = c[1] as number; out[o + 2] = c[2] as number;
    }
  }
  return sharp(out, { raw: { width: W, height: H, channels: 3 } }).blur(s.blur).jpeg({ quality: s.quality }).toBuffer();
}

const seed = Number(values.seed);
/** FNV-1a of the name: the presentation's own stream of random numbers. */
const hash = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
};
const presentations = (await readdir(src, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort().filter((_, i) => i % every === 0);
let done = 0;
for (const p of presentations) {
  const r = rng((hash(p) ^ Math.imul(seed, 7919)) >>> 0);
  const files = (await readdir(path.join(src, p))).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  if (!files.length) continue;
  const first = await decodeImage(await readFile(path.join(src, p, files[0] as string)));
  // the room behind the phone: the scene itself, heavily blurred (same light, nothing sharp)
  const roomRaw = await sharp(Buffer.from(first.data), { raw: { width: first.width, height: first.height, channels: 3 } }).blur(25).raw().toBuffer();
  const room: RgbFrame = { width: first.width, height: first.height, data: new Uint8Array(roomRaw) };
  const screen = screenFor(r, first.width, first.height);
  const dir = path.join(out, `${p}_screen`);
  // built already (its last frame written): kept
  if (existsSync(path.join(dir, `${String(files.length - 1).padStart(2, '0')}.jpg`))) { done++; continue; }
  await mkdir(dir, { recursive: true });
  const drift: [number, number][] = screen.corners.map(() => [0, 0]);
  for (let i = 0; i < files.length; i++) {
    const frame = i === 0 ? first : await decodeImage(await readFile(path.join(src, p, files[i] as string)));
    if (frame.width !== first.width || frame.height !== first.height) continue;
    // hand-held: the whole phone shifts a little each frame, the corners a little more apart
    const shift: [number, number] = [(r() - 0.5) * 6, (r() - 0.5) * 6];
    for (const d of drift) { d[0] += shift[0] + (r() - 0.5) * 1.5; d[1] += shift[1] + (r() - 0.5) * 1.5; }
    await sharp(await recapture(frame, room, screen, drift)).toFile(path.join(dir, `${String(i).padStart(2, '0')}.jpg`));
  }
  if (++done % 20 === 0) process.stderr.write(`${done}/${presentations.length}\n`);
}
process.stdout.write(`${JSON.stringify({ src, out, presentations: done })}\n`);
