/**
 * Door decisions as pure functions. The face decision is a small state machine over frame
 * verdicts: k of the last n frames with a face must name the same villager, and fewer than k of
 * them may have failed the antispoof/liveness check (k spoof frames make the window a spoof
 * before any vote is counted); a decision is not repeated for the same person within the
 * cooldown; a run of empty frames means the person left. The policy then decides whether an identified villager may enter.
 *
 * Two thresholds: a frame under the strict one (with the margin) names a villager; a frame
 * under the loose one is `uncertain` (close to someone, not close enough to let them in);
 * a window of k such frames without a match asks for the card or QR code instead of
 * refusing outright, since a false accept is theft and a flat refusal loses a villager.
 *
 * With entry.match.pool the window also keeps the sum of its frames' descriptors: the gallery's
 * answer for that pool (searched where the gallery is, and handed in with the frame's verdict)
 * names a villager like a frame, with its own threshold and margin, once enough frames are pooled.
 */
import type { Recognition } from '../../models/protocol.ts';
import { cohortScaled, pooledQuery, type GallerySearch } from '../../models/gallery.ts';
import type { LivenessConfig, MatchConfig } from './config.ts';

/**
 * A scored frame's part in probe-side pooling (entry.match.pool): its unit descriptor, and the
 * gallery's top-2 for the window's pool with this frame added (`pooledQuery` of `poolSum`).
 */
export interface PooledLook { descriptor: Float32Array; search: GallerySearch | null }

export type FrameVerdict =
  | { kind: 'no_face' }
  | { kind: 'low_quality'; why: string }
  | { kind: 'spoof'; real: number; live: number }
  | { kind: 'unknown'; distance: number | null; margin: number | null; pooled?: PooledLook }
  | { kind: 'uncertain'; villagerId: string; distance: number; margin: number; pooled?: PooledLook }
  | { kind: 'candidate'; villagerId: string; distance: number; margin: number; pooled?: PooledLook };

export type FaceOutcome =
  | { kind: 'matched'; villagerId: string; distance: number; margin: number; frames: number }
  /** Close to an enrolled villager (`nearest`) but not sure: the door asks for the card or QR code. */
  | { kind: 'uncertain'; nearest: string; distance: number; frames: number; detail: string }
  | { kind: 'unknown' | 'low_quality' | 'spoof'; frames: number; detail: string };

export interface WindowState {
  window: FrameVerdict[];
  noFaceRun: number;
  last: { key: string; at: number } | null;
  /**
   * entry.match.pool: the sum of the unit descriptors pooled since the window (or the face) last
   * changed, and how many; `top`: the villager the pooled frames' own top-1 names (within the
   * loose threshold); `near`: a pooled frame is within the pool's threshold on its own.
   */
  pool: { sum: Float32Array; count: number; top?: string | null; near?: boolean } | null;
  /**
   * When the presentation in view was decided a spoof, if it has not left since (face_gone_frames)
   * nor been held for spoof_hold_ms: its later windows, which start without those spoof frames,
   * are decided spoof too, never matched. Null: no hold.
   */
  spoofHeldSince: number | null;
}

export const initialWindow = (): WindowState => ({ window: [], noFaceRun: 0, last: null, pool: null, spoofHeldSince: null });

/** The window emptied after a decision (or a challenge): only frames after it vouch for the next one; the spoof hold stays. */
export const spentWindow = (s: WindowState, last: WindowState['last'], spoofHeldSince = s.spoofHeldSince): WindowState => ({ window: [], noFaceRun: 0, last, pool: null, spoofHeldSince });

/** The hold after a decision of `kind` at `now`: one already on keeps its start; a spoof begins one. */
export const holdAfter = (s: Pick<WindowState, 'spoofHeldSince'>, kind: FaceOutcome['kind'], now: number): number | null => s.spoofHeldSince ?? (kind === 'spoof' ? now : null);

/**
 * A hold older than spoof_hold_ms is over even though the face never left: a live villager the
 * antispoof wrongly refused, who stays at the door, is judged afresh (and a screen still in view is
 * caught again by its own frames). The window starts fresh, its cooldown key too, so a spoof decided
 * again begins a new hold and is announced again.
 */
export function endStaleHold(s: WindowState, now: number, cfg: Pick<MatchConfig, 'spoof_hold_ms'>): WindowState {
  if (s.spoofHeldSince === null || now - s.spoofHeldSince < cfg.spoof_hold_ms) return s;
  return { ...initialWindow(), noFaceRun: s.noFaceRun };
}

/**
 * While the spoof hold is on, a window that would name a villager or ask for the card is the same
 * presentation as the one refused: decided spoof again (subject to the cooldown like any repeat).
 */
function heldAsSpoof(o: FaceOutcome): FaceOutcome {
  if (o.kind !== 'matched' && o.kind !== 'uncertain') return o;
  return { kind: 'spoof', frames: o.frames, detail: `the presentation decided a spoof is still in view (${o.kind === 'matched' ? `would name ${o.villagerId}` : 'near a villager'})` };
}

/** What the next frame's pooled search adds its descriptor to (`AnalyseOptions.pool`); undefined with pooling off. */
export const poolSum = (s: WindowState, match: Pick<MatchConfig, 'pool'>): Float32Array | undefined => (match.pool ? (s.pool?.sum ?? new Float32Array(0)) : undefined);

/** A scored verdict with its pooled look attached (entry.match.pool set and the frame has a descriptor); others unchanged. */
export function withPool(v: FrameVerdict, descriptor: Float32Array | undefined, pooled: GallerySearch | null | undefined, match: Pick<MatchConfig, 'pool'>): FrameVerdict {
  if (!match.pool || !descriptor) return v;
  if (v.kind !== 'candidate' && v.kind !== 'uncertain' && v.kind !== 'unknown') return v;
  return { ...v, pooled: { descriptor, search: pooled ?? null } };
}

/**
 * The match rule on one frame: under the strict threshold and clear of the runner-up by the
 * margin names a candidate; otherwise under the loose threshold is uncertain (a face between
 * two villagers, or a little too far from one); beyond it, unknown.
 */
export function matchVerdict(best: { villagerId: string; distance: number } | null, second: { distance: number } | null, cfg: Pick<MatchConfig, 'threshold' | 'margin' | 'uncertain_threshold'>): FrameVerdict {
  if (!best) return { kind: 'unknown', distance: null, margin: null };
  const margin = second ? second.distance - best.distance : 2 - best.distance;
  if (best.distance <= cfg.threshold && margin >= cfg.margin) return { kind: 'candidate', villagerId: best.villagerId, distance: best.distance, margin };
  if (best.distance <= Math.max(cfg.threshold, cfg.uncertain_threshold)) return { kind: 'uncertain', villagerId: best.villagerId, distance: best.distance, margin };
  return { kind: 'unknown', distance: best.distance, margin };
}

type Near = Extract<FrameVerdict, { kind: 'candidate' | 'uncertain' }>;

/** k frames near enrolled faces but no villager named k times: the nearest of them, for the record. */
function uncertainOf(window: readonly FrameVerdict[], k: number): { nearest: string; distance: number } | null {
  const near = window.filter((w): w is Near => w.kind === 'candidate' || w.kind === 'uncertain');
  if (near.length < k) return null;
  const closest = near.reduce((a, b) => (b.distance < a.distance ? b : a));
  return { nearest: closest.villagerId, distance: closest.distance };
}

/** One analysed frame as the door sees it: no face, a gate failure, a spoof, or the match rule. */
export function frameVerdict(rec: Pick<Recognition, 'face' | 'match' | 'descriptor' | 'pooled'>, match: Pick<MatchConfig, 'threshold' | 'margin' | 'uncertain_threshold' | 'cohort_scale' | 'pool'>, liveness: LivenessConfig): FrameVerdict {
  const face = rec.face;
  if (!face) return { kind: 'no_face' };
  if (face.rejected) return { kind: 'low_quality', why: face.rejected };
  if (liveness.enabled && face.liveness && (face.liveness.real < liveness.min_real || face.liveness.live < liveness.min_live)) {
    return { kind: 'spoof', real: face.liveness.real, live: face.liveness.live };
  }
  // match.cohort_scale: the distances relative to the face's cohort (models/gallery.ts)
  const m = rec.match ? cohortScaled(rec.match, match.cohort_scale) : null;
  return withPool(matchVerdict(m?.best ?? null, m?.second ?? null, match), rec.descriptor, rec.pooled, match);
}

/** The decision a full window comes to when no villager got k votes (also used to close a short one). */
export function windowOutcome(window: readonly FrameVerdict[], cfg: Pick<MatchConfig, 'k'>): Exclude<FaceOutcome, { kind: 'matched' }> {
  const count = (k: FrameVerdict['kind']) => window.filter((w) => w.kind === k).length;
  const detail = window.map((w) => (w.kind === 'low_quality' ? w.why : w.kind)).join(',');
  const near = uncertainOf(window, cfg.k);
  if (count('spoof') >= cfg.k) return { kind: 'spoof', frames: window.length, detail };
  if (count('low_quality') > window.length / 2) return { kind: 'low_quality', frames: window.length, detail };
  if (near) return { kind: 'uncertain', ...near, frames: window.length, detail };
  return { kind: 'unknown', frames: window.length, detail };
}

type Named = Extract<FrameVerdict, { kind: 'candidate' }>;

/** Distance between a unit descriptor and the pool's mean (the sum scaled to unit length), without allocating. */
function fromPool(sum: Float32Array, d: Float32Array): number {
  let dot = 0, norm = 0;
  for (let i = 0; i < sum.length; i++) { dot += (sum[i] as number) * (d[i] as number); norm += (sum[i] as number) ** 2; }
  return norm > 0 ? Math.sqrt(Math.max(0, 2 - (2 * dot) / Math.sqrt(norm))) : 0;
}

/**
 * The pool after this frame, the villager it names, if any, and whether it may open the door.
 * Scored frames only. The pool starts again from a frame farther than max_step from its mean, or
 * whose own top-1 villager (within the loose threshold) is not the pool's: another face.
 *
 * Descriptors cannot tell two people's frames apart at max_step (a look-alike stranger lies 0.3
 * from a villager, a villager's own frames up to 0.39 from their mean), so one frame of villager A
 * (a passer-by, a print held up once) pooled with a look-alike stranger's frames named A on the
 * stranger's frame. So the pool opens only (a) on a frame whose own top-1 is the named villager
 * within the loose threshold, and (b) when no pooled frame is within the pool's threshold on its
 * own: the pool is for faces whose frames are each too far, and must not be carried by a frame
 * that could decide alone (such a frame has its say in the k-of-n vote). A pool that names
 * a villager but may not open still stops a vote for another villager.
 */
function poolStep(pool: WindowState['pool'], v: FrameVerdict, cfg: MatchConfig): { pool: WindowState['pool']; named: Named | null; opens: boolean } {
  const p = cfg.pool;
  const look = v.kind === 'candidate' || v.kind === 'uncertain' || v.kind === 'unknown' ? v.pooled : undefined;
  if (!p || !look) return { pool, named: null, opens: false };
  const d = look.descriptor;
  const top = v.kind === 'candidate' || v.kind === 'uncertain' ? v.villagerId : null;
  const near = v.kind === 'candidate' || (v.kind === 'uncertain' && v.distance <= p.threshold);
  const otherFace = pool !== null && pool.count > 0 && (fromPool(pool.sum, d) > p.max_step || (top !== null && pool.top != null && pool.top !== top));
  if (otherFace) return { pool: { sum: pooledQuery(null, d), count: 1, top, near }, named: null, opens: false };
  const next = { sum: pooledQuery(pool?.sum, d), count: (pool?.count ?? 0) + 1, top: top ?? pool?.top ?? null, near: near || (pool?.near ?? false) };
  if (next.count < p.min_frames || !look.search) return { pool: next, named: null, opens: false };
  const pv = matchVerdict(look.search.best, look.search.second, { threshold: p.threshold, margin: p.margin, uncertain_threshold: p.threshold });
  if (pv.kind !== 'candidate') return { pool: next, named: null, opens: false };
  return { pool: next, named: pv, opens: top === pv.villagerId && !next.near };
}

const spoofed = (window: readonly FrameVerdict[], k: number): boolean => window.filter((w) => w.kind === 'spoof').length >= k;

/** The villager k frames of the window name (candidates), if any. */
function voted(window: readonly FrameVerdict[], k: number): FaceOutcome | null {
  let outcome: FaceOutcome | null = null;
  const votes = new Map<string, Named[]>();
  for (const w of window) if (w.kind === 'candidate') votes.set(w.villagerId, [...(votes.get(w.villagerId) ?? []), w]);
  for (const [villagerId, list] of votes) {
    if (list.length >= k) {
      const latest = list[list.length - 1] as Named;
      outcome = { kind: 'matched', villagerId, distance: latest.distance, margin: latest.margin, frames: window.length };
    }
  }
  return outcome;
}

const keyOf = (o: FaceOutcome): string => (o.kind === 'matched' ? `matched:${o.villagerId}` : o.kind);

export function stepWindow(held: WindowState, v: FrameVerdict, now: number, cfg: MatchConfig): { state: WindowState; outcome: FaceOutcome | null } {
  const s = endStaleHold(held, now, cfg);
  if (v.kind === 'no_face') {
    const noFaceRun = s.noFaceRun + 1;
    // the person left: a new presentation starts, with no decision (nor spoof) held against it
    if (noFaceRun >= cfg.face_gone_frames) return { state: { ...initialWindow(), noFaceRun }, outcome: null };
    return { state: { ...s, noFaceRun }, outcome: null };
  }
  const window = [...s.window, v].slice(-cfg.n);
  const { pool, named, opens } = poolStep(s.pool, v, cfg);
  let outcome: FaceOutcome | null;
  // k frames of the window failed the antispoof/liveness check: the presentation is a spoof, and
  // the other frames' vote (or the pool) must not outvote it (a screen the model catches half the time)
  if (spoofed(window, cfg.k)) outcome = windowOutcome(window, cfg);
  else {
    outcome = voted(window, cfg.k);
    // the pool names a villager: it opens (if it may) unless the frames' vote names another one now (then neither does)
    if (named && opens && !outcome) outcome = { kind: 'matched', villagerId: named.villagerId, distance: named.distance, margin: named.margin, frames: window.length };
    else if (named && outcome?.kind === 'matched' && outcome.villagerId !== named.villagerId) outcome = null;
  }
  if (!outcome && window.length >= cfg.n) outcome = windowOutcome(window, cfg);
  if (!outcome) return { state: { window, noFaceRun: 0, last: s.last, pool, spoofHeldSince: s.spoofHeldSince }, outcome: null };
  if (s.spoofHeldSince !== null) outcome = heldAsSpoof(outcome);
  // a decision needs fresh evidence next time; the same decision is not repeated within the cooldown
  const key = keyOf(outcome);
  const spoofHeldSince = holdAfter(s, outcome.kind, now);
  if (s.last && s.last.key === key && now - s.last.at < cfg.cooldown_ms) return { state: spentWindow(s, s.last, spoofHeldSince), outcome: null };
  return { state: spentWindow(s, { key, at: now }, spoofHeldSince), outcome };
}

/** What the policy needs to know of a villager (from the ledger's villagers table). */
export interface VillagerStanding {
  id: string;
  status: 'active' | 'blocked' | 'left';
  faceConsentAt: string | null;
  debt: number;
  /** Points left of today's offline limit while the village ledger is out of reach; absent: no limit now. */
  offlineAllowance?: number;
}

export type EntryMethod = 'face' | 'qr' | 'card';
export type PolicyVerdict = 'admit' | 'unknown' | 'blocked' | 'offline_limit' | 'no_consent' | 'store_busy';

export function doorPolicy(v: VillagerStanding | undefined, method: EntryMethod, storeBusy: boolean): PolicyVerdict {
  if (!v || v.status === 'left') return 'unknown';
  if (v.status === 'blocked' || v.debt > 0) return 'blocked';
  // the store cannot tell what the villager spent in other stores meanwhile: today's cap is used up
  if (v.offlineAllowance !== undefined && v.offlineAllowance <= 0) return 'offline_limit';
  // a template without consent should not exist; if consent was withdrawn meanwhile, the face does not open
  if (method === 'face' && v.faceConsentAt === null) return 'no_consent';
  if (storeBusy) return 'store_busy';
  return 'admit';
}
