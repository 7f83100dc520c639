/**
 * Judges presentations nobody tuned on with a fusion rule chosen by scripts/liveness/cv-fusion.ts
 * (`--rule-out`), from the per-presentation scores of `faces evaluate-liveness --json` run with
 * the texture model and the net configured (the texture model trained on the same people as the
 * rule, by train-texture.ts with the same inner folds). Prints APCER/BPCER per presentation.
 *
 *   npx tsx scripts/liveness/apply-fusion.ts --rule RULE.json --evaluation EVAL.json [--min-frames 2]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fusedLive, type FusionRule } from '../../models/liveness/fusion-cv.ts';
import type { LivenessEvaluation, PresentationResult } from '../../edge/entry/liveness-evaluate.ts';

const { values } = parseArgs({ options: { rule: { type: 'string' }, evaluation: { type: 'string' }, 'min-frames': { type: 'string' } } });
if (!values.rule || !values.evaluation) {
  process.stderr.write('用法 usage: apply-fusion.ts --rule RULE.json --evaluation EVAL.json [--min-frames N]\n');
  process.exit(2);
}
const { rule, each } = JSON.parse(await readFile(values.rule, 'utf8')) as { rule: FusionRule; each: Record<string, { rule: FusionRule }> };
const e = JSON.parse(await readFile(values.evaluation, 'utf8')) as LivenessEvaluation;
const minFrames = values['min-frames'] ? Number(values['min-frames']) : e.config.min_frames;
if (!Number.isInteger(minFrames) || minFrames < 1) {
  process.stderr.write(`--min-frames must be a whole number ≥ 1, got ${values['min-frames']} / --min-frames 须为 ≥ 1 的整数\n`);
  process.exit(2);
}
const ok = (p: PresentationResult) => p.geometry !== 'flat' && p.frames - p.noFace >= minFrames;
const live = (r: FusionRule, p: PresentationResult, real: boolean) => fusedLive(r, { real, texture: ok(p) ? p.texture : null, net: ok(p) ? p.net : null });
const out: Record<string, unknown> = {};
for (const [name, r] of [['chosen', rule], ...Object.entries(each).map(([k, v]) => [k, v.rule] as const)] as const) {
  const al = e.presentations.attack.filter((p) => live(r, p, false)).length;
  const rn = e.presentations.real.filter((p) => !live(r, p, true)).length;
  const res = { rule: r, apcer: al / e.presentations.attack.length, attacksLive: al, attacks: e.presentations.attack.length, bpcer: rn / e.presentations.real.length, realNotLive: rn, real: e.presentations.real.length };
  out[name] = res;
  process.stderr.write(`${name} ${JSON.stringify(r)}: APCER ${(100 * res.apcer).toFixed(1)} % (${al}/${res.attacks}), BPCER ${(100 * res.bpcer).toFixed(1)} % (${rn}/${res.real})\n`);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
