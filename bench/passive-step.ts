/**
 * `npx tsx bench/passive-step.ts [--steps 3000] [--json]`: what the passive liveness check adds to
 * the door's main thread per frame (edge/entry/liveness-passive.ts `PassiveGate.step`), in its
 * worst case as `bench:entry -- --passive` sets it: every frame a candidate, judged over the last
 * 12 frames (66 pairs, 11 new homography fits a frame). Reports, after 100 warm-up steps, the wall
 * time and the thread's CPU time per step (p50/p99/max: wall includes waiting for a core on a
 * busy machine, CPU does not), and the garbage collections during the run (count, total ms).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { resolveEntryConfig } from '../edge/entry/config.ts';
import { initialWindow, type FrameVerdict } from '../edge/entry/decision.ts';
import { PassiveGate } from '../edge/entry/liveness-passive.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const steps = Number(args[args.indexOf('--steps') + 1]) || 3000;
const WARM = 100;

const cfg = resolveEntryConfig({ match: { k: 1, n: 1, cooldown_ms: 0 }, liveness: { passive: { enabled: true, min_frames: 2, max_frames: 12, min_motion: 0, min_pairs: 1, live_ratio: 0, flat_ratio: 0, noise_ratio: 10 } } });
const gate = new PassiveGate(cfg.liveness.passive);
// a face's 68 landmarks near the frame's centre, moving a little from frame to frame as a head does
const base = new Float32Array(136);
for (let i = 0; i < 68; i++) { base[2 * i] = 320 + 60 * Math.cos(i * 0.37); base[2 * i + 1] = 240 + 70 * Math.sin(i * 0.53); }
const v: FrameVerdict = { kind: 'candidate', villagerId: 'known', distance: 0.1, margin: 0.5 };
// the landmarks arrive from the worker, a new array each frame: made before the run
const frames = Array.from({ length: steps + WARM }, (_, f) => {
  const lm = new Float32Array(136);
  for (let i = 0; i < 136; i++) lm[i] = (base[i] as number) + Math.sin(f * 0.7 + i) * 2 + Math.cos(f * 1.3 + 2 * i) * 0.5;
  return lm;
});

let gcCount = 0;
let gcMs = 0;
const gc = new PerformanceObserver((list) => { for (const e of list.getEntries()) { gcCount++; gcMs += e.duration; } });
let state = initialWindow();
const wall: number[] = [];
const cpu: number[] = [];
for (let f = 0; f < frames.length; f++) {
  if (f === WARM) gc.observe({ entryTypes: ['gc'] });
  const c0 = process.cpuUsage();
  const t = performance.now();
  state = gate.step(state, v, frames[f], f * 100, cfg.match).state;
  const dt = performance.now() - t;
  const c = process.cpuUsage(c0);
  if (f >= WARM) { wall.push(dt); cpu.push((c.user + c.system) / 1000); }
}
// the observer reports on a later turn of the event loop
await new Promise((resolve) => setTimeout(resolve, 200));
gc.disconnect();

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const q = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return r3(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] as number); };
const result = {
  steps, pairs: gate.last?.pairs ?? 0, verdict: gate.last?.verdict ?? null,
  wall_ms: { p50: q(wall, 0.5), p99: q(wall, 0.99), max: q(wall, 1) },
  cpu_ms: { p50: q(cpu, 0.5), p99: q(cpu, 0.99), max: q(cpu, 1), mean: r3(cpu.reduce((a, b) => a + b, 0) / cpu.length) },
  gc: { count: gcCount, ms: r3(gcMs) },
};
if (!json) console.log(`PassiveGate.step over ${result.pairs} pairs: CPU p50 ${result.cpu_ms.p50} ms p99 ${result.cpu_ms.p99} ms; wall p99 ${result.wall_ms.p99} ms; ${gcCount} GCs (${result.gc.ms} ms) in ${steps} steps`);
console.log(JSON.stringify(result));
