/**
 * Seeded unit descriptors for galleries made up for tests and benchmarks (no model runs): the
 * same seed gives the same vectors on every run. `near` moves one a given Euclidean distance
 * along the unit sphere, toward a random direction, for a template or a face at the door at a
 * chosen distance from a villager.
 */
export class SyntheticDescriptors {
  private state: number;

  constructor(seed: number, readonly length = 128) {
    this.state = seed >>> 0;
  }

  /** mulberry32: small and seeded; Math.random cannot be. */
  random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  unit(): Float32Array {
    const v = new Float32Array(this.length).map(() => this.random() - 0.5);
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  }

  /** `a` moved `dist` away (Euclidean, on the unit sphere) toward a random direction. */
  near(a: Float32Array, dist: number): Float32Array {
    const r = this.unit();
    const dot = a.reduce((s, x, i) => s + x * (r[i] as number), 0);
    const ortho = r.map((x, i) => x - dot * (a[i] as number));
    const on = Math.hypot(...ortho);
    const angle = 2 * Math.asin(dist / 2);
    return a.map((x, i) => Math.cos(angle) * x + Math.sin(angle) * ((ortho[i] as number) / on));
  }
}
