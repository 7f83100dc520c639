/**
 * docs/face-thresholds.md's safety rule over saved `faces evaluate --json` outputs (one file per set and
 * seed, as the recognizer and config made them): the threshold and margin with zero false
 * accepts on every run even at threshold + 0.02 and margin − 0.02, then the most presentations
 * on the door-like runs, the best mean TAR per frame, the smallest threshold (`safePoint`).
 * The probes' distances are taken as the door decided on them (with `match.cohort_scale`, the
 * scaled ones), so any configuration is calibrated the same way:
 *
 *   npx tsx scripts/safe-point.ts [--door nuaa-client] [--margins 0.02,0.30] [--apply T:M] FILE.json …
 *
 * --apply: the per-run figures at one point instead (held-out sets, a shipped point).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveEntryConfig } from '../edge/entry/config.ts';
import type { Evaluation } from '../edge/entry/evaluate.ts';
import { marginGrid, pointAt, presentations, safePoint, type Probe } from '../edge/entry/evaluate-metrics.ts';

const { values: o, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { door: { type: 'string', default: 'nuaa-client' }, margins: { type: 'string', default: '0.02,0.30' }, apply: { type: 'string' } },
});
if (!files.length) {
  console.error('usage: safe-point.ts [--door SET] [--margins FROM,TO] [--apply T:M] EVALUATION.json … / 用法：safe-point.ts 评估结果.json …');
  process.exit(2);
}
const out = (line = ''): void => { process.stdout.write(`${line}\n`); };
const runs: { key: string; door: boolean; probes: Probe[]; k: number; n: number }[] = [];
for (const f of files) {
  let e: Evaluation;
  try {
    e = JSON.parse(await readFile(f, 'utf8')) as Evaluation;
    if (e.version !== 1 || !Array.isArray(e.probes)) throw new Error('not a faces evaluate --json object');
  } catch (err) {
    console.error(`${f}: ${(err as Error).message} / 不是 faces evaluate --json 的输出`);
    process.exit(2);
  }
  const set = path.basename(e.dir);
  runs.push({ key: `${set}#${e.seed} ${e.recognizer}`, door: set === o.door, probes: e.probes as Probe[], k: e.config.k, n: e.config.n });
}
const match = { ...resolveEntryConfig({}).match, k: runs[0]!.k, n: runs[0]!.n };
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const row = (r: (typeof runs)[number], t: number, m: number): string => {
  const at = pointAt(r.probes, t, m);
  const pr = presentations(r.probes, { ...match, threshold: t, margin: m, uncertain_threshold: t });
  return `  ${r.key.padEnd(44)} frames ${pct(at.tar).padStart(7)} FA ${at.falseAccepts}  presentations ${pr.accepted}/${pr.genuine} FA ${pr.falseAccepts}/${pr.impostor}  FA at +0.02/−0.02: ${pointAt(r.probes, t + 0.02, m - 0.02).falseAccepts}`;
};
let t: number, m: number;
if (o.apply) {
  [t, m] = o.apply.split(':').map(Number) as [number, number];
  out(`at threshold ${t} margin ${m}`);
} else {
  const [from, to] = o.margins.split(',').map(Number) as [number, number];
  const sp = safePoint(runs, match, marginGrid(from, to));
  if (!sp) { out('no safe point / 无安全工作点'); process.exit(1); }
  ({ threshold: t, margin: m } = sp);
  out(`safe point ${t} / ${m}: ${o.door} presentations ${sp.doorAccepted}/${sp.doorGenuine}, mean TAR per frame ${pct(sp.meanFrameTar)} over ${runs.length} runs`);
}
for (const r of runs) out(row(r, t, m));
