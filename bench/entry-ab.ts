/**
 * `bench:entry -- --ab`: the passive check's cost on the hot loop, interleaved frame by frame so
 * that a shared machine's drifting load weighs on both sides alike. Every frame goes through the
 * pipeline without the check and the one with it, in alternating order (off→passive, then
 * passive→off, …); the paired difference of each frame's unlock latency is the check's cost on it.
 */
import type { EntryDecision, EntryPipeline, FrameReport } from '../edge/entry/pipeline.ts';

/** Frame `i` through pipeline `p`, timed (with the check: after the frames it judges with). */
type OneFrame = (i: number, p: EntryPipeline) => Promise<{ d: EntryDecision | null; fr: FrameReport | null }>;

const q = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round((s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number) * 100) / 100 : NaN;
};
const pp = (xs: readonly number[]) => ({ p50: q(xs, 50), p99: q(xs, 99), n: xs.length });

export async function passiveAB(frameCount: number, pipelines: { off: EntryPipeline; passive: EntryPipeline }, oneFrame: OneFrame) {
  const lat = { off: [] as number[], passive: [] as number[] };
  // the stage after the frame: the check (with it), the policy, the unlock
  const after = { off: [] as number[], passive: [] as number[] };
  const diffs: number[] = [];
  let missed = 0;
  for (let i = 0; i < frameCount; i++) {
    const order = i % 2 === 0 ? (['off', 'passive'] as const) : (['passive', 'off'] as const);
    const got: Partial<Record<'off' | 'passive', number>> = {};
    for (const mode of order) {
      const { d, fr } = await oneFrame(i, pipelines[mode]);
      if (!d || !d.unlocked || d.latencyMs === null || !fr) { missed++; continue; }
      got[mode] = d.latencyMs;
      lat[mode].push(d.latencyMs);
      after[mode].push(d.latencyMs - fr.totalMs);
    }
    if (got.off !== undefined && got.passive !== undefined) diffs.push(got.passive - got.off);
  }
  return {
    off: pp(lat.off), passive: pp(lat.passive),
    p99_difference_ms: Math.round((q(lat.passive, 99) - q(lat.off, 99)) * 100) / 100,
    paired_difference_ms: { median: q(diffs, 50), p10: q(diffs, 10), p90: q(diffs, 90) },
    stage_after_frame: { off: pp(after.off), passive: pp(after.passive) },
    missed,
  };
}
