/**
 * Synthetic landmarks for the liveness tests: a rough 3D face in the 68-point layout, seeded
 * jitter, and a perspective camera.
 */
/** A rough 3D face (mm, x right, y down, z towards the camera) in the 68-point layout. */
export function head(): Array<[number, number, number]> {
  const p: Array<[number, number, number]> = [];
  for (let i = 0; i < 17; i++) { const t = Math.PI * (i / 16); p.push([-70 * Math.cos(t), 10 + 75 * Math.sin(t) * (i > 3 && i < 13 ? 1 : 0.8), -45 * Math.abs(Math.cos(t))]); }
  for (let i = 0; i < 10; i++) p.push([-55 + i * 12.2, -45 + 4 * Math.abs(i - 4.5), 12]);
  for (let i = 0; i < 4; i++) p.push([0, -30 + i * 10, 18 + 8 * i]);
  for (let i = 0; i < 5; i++) p.push([-14 + i * 7, 12, 22 - 3 * Math.abs(i - 2)]);
  for (const cx of [-32, 32]) for (let i = 0; i < 6; i++) { const t = (2 * Math.PI * i) / 6; p.push([cx + 12 * Math.cos(t), -25 + 5 * Math.sin(t), 4]); }
  for (let i = 0; i < 12; i++) { const t = (2 * Math.PI * i) / 12; p.push([25 * Math.cos(t), 40 + 10 * Math.sin(t), 12 - 6 * Math.abs(Math.cos(t))]); }
  for (let i = 0; i < 8; i++) { const t = (2 * Math.PI * i) / 8; p.push([15 * Math.cos(t), 40 + 4 * Math.sin(t), 13]); }
  return p;
}

/** Seeded Gaussian noise (the landmark net's jitter). */
export function noise(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Projects the points rotated by yaw/pitch/roll (degrees) and shifted (mm), 600 mm from a 640×480 camera. */
export function project(pts: ReadonlyArray<readonly [number, number, number]>, pose: { yaw: number; pitch: number; roll?: number; dx?: number; dy?: number }, jitter: () => number, sigma = 0.5): Float32Array {
  const [a, b, c] = [pose.yaw, pose.pitch, pose.roll ?? 0].map((d) => (d * Math.PI) / 180) as [number, number, number];
  const out = new Float32Array(136);
  pts.forEach(([x, y, z], i) => {
    // yaw about y, pitch about x, roll about z
    const x1 = x * Math.cos(a) + z * Math.sin(a);
    const z1 = -x * Math.sin(a) + z * Math.cos(a);
    const y2 = y * Math.cos(b) - z1 * Math.sin(b);
    const z2 = y * Math.sin(b) + z1 * Math.cos(b);
    const x3 = x1 * Math.cos(c) - y2 * Math.sin(c);
    const y3 = x1 * Math.sin(c) + y2 * Math.cos(c);
    const depth = 600 - z2;
    out[2 * i] = 320 + (600 * (x3 + (pose.dx ?? 0))) / depth + sigma * jitter();
    out[2 * i + 1] = 240 + (600 * (y3 + (pose.dy ?? 0))) / depth + sigma * jitter();
  });
  return out;
}

/** The same face with the eyelids closed by `closed` (0 open … 1 shut). */
export function blinking(pts: ReadonlyArray<readonly [number, number, number]>, closed: number): Array<[number, number, number]> {
  return pts.map(([x, y, z], i) => {
    const eye = i >= 36 && i < 48 ? (i < 42 ? 36 : 42) : -1;
    if (eye < 0) return [x, y, z];
    // lids: points 1, 2 (upper) and 4, 5 (lower) of each eye move to the eye's centre line
    return [x, y + (-25 - y) * closed, z];
  });
}
