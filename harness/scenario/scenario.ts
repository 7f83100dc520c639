/**
 * The scenario file (docs/scenarios.md): products, slots, villagers and steps, in YAML or
 * JSON. Validated by hand so every error names the step or entry and the key, for a
 * maintainer writing one: unknown keys, unknown slots or villagers, negative counts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { VisitPhase } from '../../edge/session/machine.ts';
import { SessionConfigSchema } from '../../edge/session/config.ts';
import { checkWeighable, DEFAULT_WEIGH_LIMITS, type WeighLimits } from '../../edge/ledger/products.ts';

export interface ScenarioProduct { sku: string; name: string; price: number; unit_g: number; tolerance_g: number }
export interface ScenarioSlot { slot: string; scale: number; sku: string; stock: number }
export interface ScenarioFace { photo: string; index: number }
export interface ScenarioVillager { id: string; name: string; balance: number; card?: string; face?: ScenarioFace; maintainer: boolean; enrolled: boolean }

export type EnterBy = 'face' | 'card' | 'qr';
/**
 * What the camera sees at a face `enter`: a folder of frames replayed in name order, or a
 * sequence made at run time from the villager's portrait (harness/liveness/presentations.ts):
 * `live` (the villager in person, turning the head), `print` or `screen` (attacks).
 */
export type FramesSpec = { dir: string } | { make: 'live' | 'print' | 'screen'; seed: number };
export type ScenarioStep =
  | { kind: 'enter'; villager: string; by: EnterBy; open_door: boolean; frames?: FramesSpec }
  | { kind: 'take'; slot: string; count: number }
  | { kind: 'return'; slot: string; count: number }
  | { kind: 'move'; from: string; to: string; count: number }
  | { kind: 'exit'; by: 'button' | 'door' }
  | { kind: 'restock'; maintainer: string; by: EnterBy; add: Array<{ slot: string; count: number }> }
  | { kind: 'power_cut'; when: VisitPhase | null }
  | { kind: 'wait_ms'; ms: number };

export interface Scenario {
  name: string;
  description: string;
  creditFloor: number;
  session: Record<string, unknown>;
  /** Keys of the daemon's `entry` config slice (e.g. the liveness challenge), merged over the runner's. */
  entry: Record<string, unknown>;
  products: ScenarioProduct[];
  slots: ScenarioSlot[];
  villagers: ScenarioVillager[];
  steps: ScenarioStep[];
}

/**
 * The longest `wait_ms` step: 10 minutes of wall time, as long as the longest of the session's
 * timeouts (entering, resuming the scales, retrying a settlement: at most 600 000 ms each; the
 * shopping idle timeout a scenario can set down to 10 s). A longer wait is a typo (`1e12`, 31
 * years) that would hang the run, not a test.
 */
export const MAX_WAIT_MS = 600_000;

/** The keys a scenario's `session:` may set: those of the daemon's `session` config slice. */
const SESSION_KEYS: readonly string[] = Object.keys(SessionConfigSchema.properties);

const CUT_PHASES: readonly VisitPhase[] = ['entering', 'shopping', 'restocking', 'exiting', 'settling'];

class Reader {
  constructor(readonly where: string) {}
  fail(msg: string, zh: string): never {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `scenario ${this.where}: ${msg}`, { zh: `场景文件 ${this.where}：${zh}` });
  }
  obj(v: unknown, keys: readonly string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail('must be a mapping', '必须是键值映射（key: value）');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!keys.includes(k)) this.fail(`unknown key ${JSON.stringify(k)} (expected ${keys.join(', ')})`, `未知的键 ${JSON.stringify(k)}（可用：${keys.join('、')}）`);
    return o;
  }
  str(o: Record<string, unknown>, k: string, def?: string): string {
    const v = o[k] ?? def;
    if (typeof v !== 'string' || v.length === 0) this.fail(`${k} must be a non-empty text`, `${k} 必须是非空文本`);
    return v;
  }
  int(o: Record<string, unknown>, k: string, opts: { min?: number; max?: number; def?: number } = {}): number {
    const v = o[k] ?? opts.def;
    // NaN and Infinity (YAML's .nan, .inf) by their name: JSON would print them as null
    const shown = typeof v === 'number' ? String(v) : JSON.stringify(v);
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(`${k} must be a whole number, got ${shown}`, `${k} 必须是整数，实际为 ${shown}`);
    if (opts.min !== undefined && v < opts.min) this.fail(`${k} must be at least ${opts.min}, got ${v}${v < 0 ? ' (negative)' : ''}`, `${k} 不能小于 ${opts.min}，实际为 ${v}`);
    if (opts.max !== undefined && v > opts.max) this.fail(`${k} must be at most ${opts.max}, got ${v}`, `${k} 不能大于 ${opts.max}，实际为 ${v}`);
    return v;
  }
  bool(o: Record<string, unknown>, k: string, def: boolean): boolean {
    const v = o[k] ?? def;
    if (typeof v !== 'boolean') this.fail(`${k} must be true or false`, `${k} 只能是 true 或 false`);
    return v;
  }
  list(o: Record<string, unknown>, k: string): unknown[] {
    const v = o[k] ?? [];
    if (!Array.isArray(v)) this.fail(`${k} must be a list`, `${k} 必须是列表`);
    return v;
  }
  oneOf<T extends string>(o: Record<string, unknown>, k: string, allowed: readonly T[], def?: T): T {
    const v = o[k] ?? def;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(`${k} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`, `${k} 只能是 ${allowed.join('、')} 之一，实际为 ${JSON.stringify(v)}`);
    return v as T;
  }
}

export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `cannot read scenario ${file}: ${(err as Error).message}`, { zh: `无法读取场景文件 ${file}` });
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `scenario ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, { zh: '场景文件格式错误' });
  }
  const s = parseScenario(raw, file);
  // a folder of frames is named relative to the scenario file
  for (const st of s.steps) if (st.kind === 'enter' && st.frames && 'dir' in st.frames) st.frames = { dir: path.resolve(path.dirname(file), st.frames.dir) };
  return s;
}

const MAKE_KINDS = ['live', 'print', 'screen'] as const;

function framesSpec(sr: Reader, raw: unknown): FramesSpec {
  if (typeof raw === 'string') {
    if (raw.length === 0) sr.fail('frames must name a folder of images or be {make: live|print|screen}', 'frames 必须是图片文件夹，或 {make: live|print|screen}');
    return { dir: raw };
  }
  const f = sr.obj(raw, ['make', 'seed']);
  return { make: sr.oneOf(f, 'make', MAKE_KINDS), seed: sr.int(f, 'seed', { min: 0, def: 1 }) };
}

/**
 * The weighing limits a scenario's products must clear: its own session.weight.drift_allowance_g
 * if it sets one, and the runner's scales (the default change threshold).
 */
export function scenarioWeighLimits(session: Record<string, unknown>): WeighLimits {
  const drift = (session.weight as { drift_allowance_g?: unknown } | undefined)?.drift_allowance_g;
  return { ...DEFAULT_WEIGH_LIMITS, ...(typeof drift === 'number' ? { drift_allowance_g: drift } : {}) };
}

export function parseScenario(raw: unknown, name = 'scenario'): Scenario {
  const top = new Reader('(top level)').obj(raw, ['name', 'description', 'credit_floor', 'session', 'entry', 'products', 'slots', 'villagers', 'steps']);
  const r = new Reader('(top level)');
  const products = r.list(top, 'products').map((p, i) => {
    const pr = new Reader(`products[${i}]`);
    const o = pr.obj(p, ['sku', 'name', 'price', 'unit_g', 'tolerance_g']);
    const unit = pr.int(o, 'unit_g', { min: 1 });
    return { sku: pr.str(o, 'sku'), name: pr.str(o, 'name'), price: pr.int(o, 'price', { min: 0 }), unit_g: unit, tolerance_g: pr.int(o, 'tolerance_g', { min: 0, def: Math.max(1, Math.floor(unit / 20)) }) };
  });
  const twice = (what: string, values: Array<string | undefined>): void => {
    const seen = new Map<string, number>();
    values.forEach((v, i) => {
      if (v === undefined) return;
      const first = seen.get(v);
      if (first !== undefined) new Reader(`${what}[${i}]`).fail(`${JSON.stringify(v)} appears twice (also ${what}[${first}])`, `${JSON.stringify(v)} 重复出现（${what}[${first}] 已用）`);
      seen.set(v, i);
    });
  };
  // the last one would silently win: a product's weight and price would be another's
  twice('products', products.map((p) => p.sku));
  const skus = new Set(products.map((p) => p.sku));
  const slots = r.list(top, 'slots').map((s, i) => {
    const sr = new Reader(`slots[${i}]`);
    const o = sr.obj(s, ['slot', 'scale', 'sku', 'stock']);
    const sku = sr.str(o, 'sku');
    if (!skus.has(sku)) sr.fail(`unknown sku ${JSON.stringify(sku)}`, `未知商品编码 ${JSON.stringify(sku)}`);
    return { slot: sr.str(o, 'slot'), scale: sr.int(o, 'scale', { min: 1 }), sku, stock: sr.int(o, 'stock', { min: 0, def: 0 }) };
  });
  if (slots.length === 0) r.fail('slots: at least one slot is needed', 'slots：至少需要一个货位');
  const slotNames = new Set(slots.map((s) => s.slot));
  if (slotNames.size !== slots.length) r.fail('slots: a slot name appears twice', 'slots：货位编号重复');
  if (new Set(slots.map((s) => s.scale)).size !== slots.length) r.fail('slots: a scale address appears twice', 'slots：秤的地址（scale）重复');
  const villagers = r.list(top, 'villagers').map((v, i) => {
    const vr = new Reader(`villagers[${i}]`);
    const o = vr.obj(v, ['id', 'name', 'balance', 'card', 'face', 'maintainer', 'enrolled']);
    let face: ScenarioFace | undefined;
    if (o.face !== undefined) {
      const fr = new Reader(`villagers[${i}].face`);
      const f = fr.obj(o.face, ['photo', 'index']);
      const photo = fr.str(f, 'photo');
      if (!/^[A-Za-z0-9_.-]+\.(jpg|jpeg|png)$/.test(photo)) fr.fail(`photo must be a file name from face-api's demo folder, got ${JSON.stringify(photo)}`, `photo 必须是 face-api 示例文件夹中的文件名，实际为 ${JSON.stringify(photo)}`);
      face = { photo, index: fr.int(f, 'index', { min: 0, def: 0 }) };
    }
    const out: ScenarioVillager = { id: vr.str(o, 'id'), name: vr.str(o, 'name'), balance: vr.int(o, 'balance', { min: 0, def: 0 }), maintainer: vr.bool(o, 'maintainer', false), enrolled: vr.bool(o, 'enrolled', face !== undefined) };
    if (o.card !== undefined) out.card = vr.str(o, 'card');
    if (face) out.face = face;
    if (out.enrolled && !face) vr.fail('enrolled needs a face', 'enrolled 需要 face（人脸照片）');
    return out;
  });
  // one card opens one villager's account: the seeding would refuse the second
  twice('villagers', villagers.map((v) => v.card));
  const byId = new Map(villagers.map((v) => [v.id, v]));
  if (byId.size !== villagers.length) r.fail('villagers: an id appears twice', 'villagers：村民编号重复');
  // any key of the daemon's session config (its values are checked with the whole config, before the run)
  const session = top.session === undefined ? {} : new Reader('session').obj(top.session, SESSION_KEYS);

  // A product the shelves could not see is refused here, naming it, as the admin page and the CLI
  // refuse it: the run would only show a take never charged. The seeding checks again.
  const limits = scenarioWeighLimits(session);
  products.forEach((p, i) => {
    try {
      checkWeighable({ sku: p.sku, unitG: p.unit_g, toleranceG: p.tolerance_g }, limits);
    } catch (err) {
      if (!(err instanceof EdgeError)) throw err;
      new Reader(`products[${i}]`).fail(err.message, err.zh ?? err.message);
    }
  });

  const knownSlot = (sr: Reader, slot: string): string => (slotNames.has(slot) ? slot : sr.fail(`unknown slot ${JSON.stringify(slot)}`, `未知货位 ${JSON.stringify(slot)}`));
  const knownVillager = (sr: Reader, id: string): ScenarioVillager => byId.get(id) ?? sr.fail(`unknown villager ${JSON.stringify(id)}`, `未知村民 ${JSON.stringify(id)}`);
  const canEnterBy = (sr: Reader, v: ScenarioVillager, by: EnterBy): void => {
    if (by === 'card' && !v.card) sr.fail(`villager ${v.id} has no card`, `村民 ${v.id} 没有积分卡（card）`);
    if (by === 'face' && !v.face) sr.fail(`villager ${v.id} has no face`, `村民 ${v.id} 没有人脸（face）`);
  };
  const steps = r.list(top, 'steps').map((step, i): ScenarioStep => {
    const head = new Reader(`step ${i + 1}`);
    if (typeof step !== 'object' || step === null || Array.isArray(step) || Object.keys(step).length !== 1) head.fail('must be a mapping with exactly one action (enter, take, return, move, exit, restock, power_cut, wait_ms)', '每一步必须是只含一个动作的映射（enter、take、return、move、exit、restock、power_cut、wait_ms）');
    const [kind, body] = Object.entries(step as Record<string, unknown>)[0] as [string, unknown];
    const sr = new Reader(`step ${i + 1} (${kind})`);
    switch (kind) {
      case 'enter': {
        const o = sr.obj(body, ['villager', 'by', 'open_door', 'frames']);
        const v = knownVillager(sr, sr.str(o, 'villager'));
        const by = sr.oneOf<EnterBy>(o, 'by', ['face', 'card', 'qr'], o.frames !== undefined ? 'face' : v.card ? 'card' : v.face ? 'face' : 'qr');
        canEnterBy(sr, v, by);
        const step: ScenarioStep = { kind, villager: v.id, by, open_door: sr.bool(o, 'open_door', true) };
        if (o.frames === undefined) return step;
        if (by !== 'face') sr.fail(`frames are what the camera sees: they need by: face, not ${by}`, `frames 是摄像头看到的画面，需要 by: face，而不是 ${by}`);
        return { ...step, frames: framesSpec(sr, o.frames) };
      }
      case 'take':
      case 'return': {
        const o = sr.obj(body, ['slot', 'count']);
        return { kind, slot: knownSlot(sr, sr.str(o, 'slot')), count: sr.int(o, 'count', { min: 1, def: 1 }) };
      }
      case 'move': {
        const o = sr.obj(body, ['from', 'to', 'count']);
        const from = knownSlot(sr, sr.str(o, 'from'));
        const to = knownSlot(sr, sr.str(o, 'to'));
        if (from === to) sr.fail('from and to are the same slot', 'from 和 to 是同一个货位');
        return { kind, from, to, count: sr.int(o, 'count', { min: 1, def: 1 }) };
      }
      case 'exit': {
        const o = sr.obj(body ?? {}, ['by']);
        return { kind, by: sr.oneOf(o, 'by', ['button', 'door'] as const, 'button') };
      }
      case 'restock': {
        const o = sr.obj(body, ['maintainer', 'by', 'add']);
        const m = knownVillager(sr, sr.str(o, 'maintainer'));
        if (!m.maintainer) sr.fail(`villager ${m.id} is not a maintainer (set maintainer: true)`, `村民 ${m.id} 不是维护员（请设置 maintainer: true）`);
        const by = sr.oneOf<EnterBy>(o, 'by', ['face', 'card', 'qr'], m.card ? 'card' : m.face ? 'face' : 'qr');
        canEnterBy(sr, m, by);
        const add = sr.list(o, 'add').map((a, j) => {
          const ar = new Reader(`step ${i + 1} (restock) add[${j}]`);
          const ao = ar.obj(a, ['slot', 'count']);
          return { slot: knownSlot(ar, ar.str(ao, 'slot')), count: ar.int(ao, 'count', { min: 1 }) };
        });
        return { kind, maintainer: m.id, by, add };
      }
      case 'power_cut': {
        const o = sr.obj(body ?? {}, ['when']);
        return { kind, when: o.when === undefined ? null : sr.oneOf(o, 'when', CUT_PHASES) };
      }
      case 'wait_ms':
        return { kind, ms: sr.int({ wait_ms: body }, 'wait_ms', { min: 0, max: MAX_WAIT_MS }) };
      default:
        return sr.fail(`unknown action ${JSON.stringify(kind)}`, `未知动作 ${JSON.stringify(kind)}`);
    }
  });
  return {
    name: typeof top.name === 'string' ? top.name : name,
    description: typeof top.description === 'string' ? top.description : '',
    creditFloor: top.credit_floor === undefined ? 0 : (() => {
      const f = r.int(top, 'credit_floor');
      return f > 0 ? r.fail('credit_floor must be 0 or negative', 'credit_floor 必须是 0 或负数') : f;
    })(),
    session,
    entry: top.entry === undefined ? {} : new Reader('entry').obj(top.entry, typeof top.entry === 'object' && top.entry !== null ? Object.keys(top.entry) : []),
    products,
    slots,
    villagers,
    steps,
  };
}
