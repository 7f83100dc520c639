/**
 * Fusion of the texture cue and an operator-supplied liveness net, chosen on training people
 * only, for `scripts/liveness/cv-fusion.ts`; never at the door (the door's fusion is `judgePassive`:
 * every configured cue at or above its own threshold). Two rules, fixed before any run:
 * - `and`: texture ≥ t₁ and net ≥ t₂ (what the door does with both configured), the pair of least
 *   BPCER that lets no training attack through;
 * - `sum`: w·z(texture) + (1 − w)·z(logit net) ≥ t, z standardised on the training presentations,
 *   w in 0, 0.1 … 1, t just above the highest training attack, the w of least BPCER.
 * Scores are a presentation's texture log-odds and mean probability of "live" from the net; a
 * presentation either cue cannot judge (too few frames with a face, flat geometry) is never live.
 */

export interface FusionScore {
  real: boolean;
  /** Texture log-odds (out of fold on training people); null: cannot judge. */
  texture: number | null;
  /** Mean probability of "live" from the net; null: cannot judge. */
  net: number | null;
}

export type FusionRule =
  | { kind: 'and'; texture: number; net: number }
  | { kind: 'sum'; w: number; threshold: number; mt: number; st: number; mn: number; sn: number };

export interface FusionChoice { rule: FusionRule; trainBpcer: number }

const EPS = 1e-6;
const logit = (p: number): number => { const q = Math.min(1 - 1e-6, Math.max(1e-6, p)); return Math.log(q / (1 - q)); };
const judgeable = (s: FusionScore): s is FusionScore & { texture: number; net: number } => s.texture !== null && s.net !== null;

/** Whether the rule judges the presentation live. */
export function fusedLive(r: FusionRule, s: FusionScore): boolean {
  if (!judgeable(s)) return false;
  if (r.kind === 'and') return s.texture >= r.texture && s.net >= r.net;
  return fusedValue(r, s.texture, s.net) >= r.threshold;
}

function fusedValue(r: Extract<FusionRule, { kind: 'sum' }>, texture: number, net: number): number {
  return r.w * ((texture - r.mt) / r.st) + (1 - r.w) * ((logit(net) - r.mn) / r.sn);
}

const bpcerOf = (ps: readonly FusionScore[], r: FusionRule): number => {
  const real = ps.filter((p) => p.real);
  return real.length ? real.filter((p) => !fusedLive(r, p)).length / real.length : 0;
};

/** The `and` pair of least training BPCER with no training attack live. */
export function chooseAnd(ps: readonly FusionScore[]): FusionChoice {
  const attacks = ps.filter((p) => !p.real && judgeable(p)) as (FusionScore & { texture: number; net: number })[];
  // every net threshold worth trying: 0, and just above each attack's net score
  const netCuts = [0, ...attacks.map((a) => a.net + EPS)].sort((a, b) => a - b);
  let best: FusionChoice | null = null;
  for (const net of netCuts) {
    const through = attacks.filter((a) => a.net >= net);
    const texture = through.length ? Math.max(...through.map((a) => a.texture)) + EPS : -Infinity;
    const rule: FusionRule = { kind: 'and', texture, net };
    const b = bpcerOf(ps, rule);
    if (!best || b < best.trainBpcer) best = { rule, trainBpcer: b };
  }
  return best as FusionChoice;
}

const meanSd = (xs: readonly number[]): [number, number] => {
  const m = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length);
  return [m, Math.sqrt(v) || 1];
};

/** The `sum` weight of least training BPCER, its threshold just above the highest training attack. */
export function chooseSum(ps: readonly FusionScore[]): FusionChoice {
  const j = ps.filter(judgeable) as (FusionScore & { texture: number; net: number })[];
  const [mt, st] = meanSd(j.map((p) => p.texture));
  const [mn, sn] = meanSd(j.map((p) => logit(p.net)));
  let best: FusionChoice | null = null;
  for (let i = 0; i <= 10; i++) {
    const w = i / 10;
    const base = { kind: 'sum' as const, w, threshold: 0, mt, st, mn, sn };
    const top = Math.max(-Infinity, ...j.filter((p) => !p.real).map((p) => fusedValue(base, p.texture, p.net)));
    const rule: FusionRule = { ...base, threshold: top + EPS };
    const b = bpcerOf(ps, rule);
    if (!best || b < best.trainBpcer) best = { rule, trainBpcer: b };
  }
  return best as FusionChoice;
}

/** The nested choice: the rule (`and` first on a tie) of least training BPCER. */
export function chooseFusion(ps: readonly FusionScore[]): FusionChoice & { each: Record<'and' | 'sum', FusionChoice> } {
  const each = { and: chooseAnd(ps), sum: chooseSum(ps) };
  const pick = each.sum.trainBpcer < each.and.trainBpcer ? each.sum : each.and;
  return { ...pick, each };
}
