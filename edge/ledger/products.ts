import { cachedStatement, inTransaction, type Db } from './db.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { enqueueOutbox } from './outbox.ts';
import { iso, systemClock, type Clock } from './time.ts';

export interface Product {
  sku: string;
  name: string;
  /** Price in points per item. */
  price: number;
  unitG: number;
  toleranceG: number;
  active: boolean;
}

export interface Slot {
  slot: string;
  /** Modbus address of the slot's scale on the shelf bus. */
  address: number;
  sku: string | null;
  stock: number;
}

interface ProductRow { sku: string; name: string; price: number; unit_g: number; tolerance_g: number; active: number }
interface SlotRow { slot: string; address: number; sku: string | null; stock: number }

const productFromRow = (r: ProductRow): Product => ({ sku: r.sku, name: r.name, price: r.price, unitG: r.unit_g, toleranceG: r.tolerance_g, active: r.active === 1 });
const slotFromRow = (r: SlotRow): Slot => ({ slot: r.slot, address: r.address, sku: r.sku, stock: r.stock });

function nonNegativeInt(field: string, v: unknown, zh: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${field} must be a non-negative integer, got ${JSON.stringify(v)}`, { zh: `${zh}必须是非负整数` });
  }
  return v;
}

export function validateProduct(p: Omit<Product, 'active'> & { active?: boolean }): Product {
  if (typeof p.sku !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(p.sku)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `sku ${JSON.stringify(p.sku)} must be 1–64 letters, digits or _.-`, { zh: '商品编码格式不正确' });
  }
  if (typeof p.name !== 'string' || p.name.trim() === '' || p.name.length > 100) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `product name must be a non-empty text of at most 100 characters`, { zh: '商品名称不能为空且不超过 100 字' });
  }
  const price = nonNegativeInt('price', p.price, '价格');
  const unitG = nonNegativeInt('unit_g', p.unitG, '单件重量');
  if (unitG === 0) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'unit_g must be at least 1 gram', { zh: '单件重量至少 1 克' });
  const toleranceG = nonNegativeInt('tolerance_g', p.toleranceG, '重量误差');
  if (toleranceG * 2 >= unitG) {
    // otherwise one item and its neighbour count overlap and a count is ambiguous
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `tolerance_g (${toleranceG}) must be less than half of unit_g (${unitG})`, { zh: '重量误差必须小于单件重量的一半' });
  }
  return { sku: p.sku, name: p.name.trim(), price, unitG, toleranceG, active: p.active ?? true };
}

/**
 * Insert or update a product. A visit already inside is counted and priced with the products its
 * admission recorded (edge/session/weighing.ts): a change applies from the next visit. A product the
 * shelves could not see (checkWeighable) is refused here, for every path that defines one: the
 * admin page and the CLI pass the store's configured `limits`, a scenario its own; without them the
 * shipped defaults apply. `limits: null` only where refusing would do harm (the village's catalogue
 * on the sync stream: cloud-sync/agent/inbound.ts says why); binding a slot checks again.
 * `updatedAt`: when the product was decided, if not now here: the village's publish time for its
 * catalogue (the event's `issued_at`), which a snapshot's catalogue is compared with (applyCatalogue).
 * `village`: the product is the village's (a stream `product` event), not the store's own: like
 * the catalogue in a snapshot, it writes no outbox row and is not sent back up.
 */
export function upsertProduct(db: Db, input: Omit<Product, 'active'> & { active?: boolean }, opts: { clock?: Clock; limits?: WeighLimits | null; updatedAt?: string; village?: boolean } = {}): Product {
  const p = validateProduct(input);
  if (opts.limits !== null) checkWeighable(p, opts.limits);
  const clock = opts.clock ?? systemClock;
  const at = iso(clock);
  inTransaction(db, 'saving product', () => {
    writeProduct(db, p, opts.updatedAt ?? at);
    if (!opts.village) enqueueOutbox(db, 'product', { op: 'upsert', sku: p.sku, name: p.name, price: p.price }, at);
  });
  return p;
}

/** A product of the village's catalogue as a ledger snapshot carries it (cloud-sync/ledger/catalogue.ts). */
export interface CatalogueProduct { sku: string; name: string; price: number; unit_g: number; tolerance_g: number; active: boolean; updated_at: string }

/**
 * The village's catalogue from a ledger snapshot, inside the snapshot's transaction. Latest by
 * time, as a villager's status: a product the village published after the store last changed it
 * replaces the store's; one the store changed since (its admin page, at its clock) stands. Like
 * the stream's `product` events, applied as the village sent it (no weighing limits: binding a
 * slot checks) and not sent back up. Returns how many products it changed.
 */
export function applyCatalogue(db: Db, products: readonly CatalogueProduct[]): number {
  const checked = products.map((c) => ({ ...validateProduct({ sku: c.sku, name: c.name, price: c.price, unitG: c.unit_g, toleranceG: c.tolerance_g, active: c.active }), at: c.updated_at }));
  const localAt = cachedStatement(db, 'SELECT updated_at FROM products WHERE sku = ?').pluck();
  let changed = 0;
  for (const p of checked) {
    const local = localAt.get(p.sku) as string | undefined;
    if (local !== undefined && !(Date.parse(local) < Date.parse(p.at))) continue;
    writeProduct(db, p, p.at);
    changed++;
  }
  return changed;
}

/** The products row, inserted or replaced (the one statement upsertProduct and applyCatalogue share). */
function writeProduct(db: Db, p: Product, updatedAt: string): void {
  cachedStatement(db,
    `INSERT INTO products (sku, name, price, unit_g, tolerance_g, active, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price = excluded.price, unit_g = excluded.unit_g,
       tolerance_g = excluded.tolerance_g, active = excluded.active, updated_at = excluded.updated_at`,
  ).run(p.sku, p.name, p.price, p.unitG, p.toleranceG, p.active ? 1 : 0, updatedAt);
}

export function getProduct(db: Db, sku: string): Product | undefined {
  const r = cachedStatement(db, 'SELECT * FROM products WHERE sku = ?').get(sku) as ProductRow | undefined;
  return r ? productFromRow(r) : undefined;
}

export function requireProduct(db: Db, sku: string): Product {
  const p = getProduct(db, sku);
  if (!p) throw new EdgeError(ErrorCode.UNKNOWN_PRODUCT, `unknown product ${JSON.stringify(sku)}`, { zh: `未知商品 ${sku}` });
  return p;
}

export function listProducts(db: Db): Product[] {
  return (cachedStatement(db, 'SELECT * FROM products ORDER BY sku').all() as ProductRow[]).map(productFromRow);
}

export function upsertSlot(db: Db, s: { slot: string; address: number; sku: string | null; stock?: number }, clock: Clock = systemClock): Slot {
  if (typeof s.slot !== 'string' || !/^[A-Za-z0-9_.-]{1,32}$/.test(s.slot)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `slot ${JSON.stringify(s.slot)} must be 1–32 letters, digits or _.-`, { zh: '货位编号格式不正确' });
  }
  if (!Number.isInteger(s.address) || s.address < 1 || s.address > 247) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `slot ${s.slot}: bus address must be 1–247, got ${s.address}`, { zh: '秤的总线地址必须在 1–247 之间' });
  }
  const stock = nonNegativeInt('stock', s.stock ?? 0, '库存');
  const at = iso(clock);
  inTransaction(db, 'saving slot', () => {
    if (s.sku !== null) requireProduct(db, s.sku);
    cachedStatement(db, 
      `INSERT INTO slots (slot, address, sku, stock, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (slot) DO UPDATE SET address = excluded.address, sku = excluded.sku, stock = excluded.stock, updated_at = excluded.updated_at`,
    ).run(s.slot, s.address, s.sku, stock, at);
  });
  return getSlot(db, s.slot)!;
}

/**
 * Why a slot may not take `sku` (null: no product) now: it still holds goods of its product,
 * which would then be sold and counted as the new one, or as nothing. Empty it and count the
 * shelf (stock 0) first. Undefined when the change is allowed.
 */
export function slotNotEmpty(before: Slot | undefined, sku: string | null): EdgeError | undefined {
  if (!before || before.stock === 0 || before.sku === sku) return undefined;
  return new EdgeError(
    ErrorCode.SLOT_NOT_EMPTY,
    `slot ${before.slot} still holds ${before.stock} of ${before.sku}; empty it and count the shelf (stock 0) before putting another product there`,
    { zh: `货位 ${before.slot} 上还有 ${before.stock} 件 ${before.sku}，请先清空并盘点（库存为 0）再换商品`, details: { field: 'sku' } },
  );
}

/**
 * Where the scale list a slot's address is checked against comes from, for the refusal to say:
 * the config file's drivers.scales.list (`file` when one was read), or, in the demo (`npm
 * start`) whose config gives no scales, the demo store's shelves in the scenario files.
 */
export type ScaleListSource = { kind: 'config'; file?: string | null } | { kind: 'demo' };

/**
 * Why a slot may not be saved with scale `address`: the hardware weighs it on the scale the
 * daemon's scale list gives it (drivers.scales.list, or the demo's, `configuredUnit`), never by
 * the ledger's address, so another address would be saved and never used. Undefined when they
 * agree, or when the list has no scale for the slot. The admin page and the CLI both ask this.
 */
export function scaleAddressNotConfigured(slot: string, address: number, configuredUnit: number | undefined, source: ScaleListSource = { kind: 'config' }): EdgeError | undefined {
  if (configuredUnit === undefined || configuredUnit === address) return undefined;
  if (source.kind === 'demo') {
    return new EdgeError(
      ErrorCode.SCALE_ADDRESS_CONFIGURED,
      `slot ${slot} is weighed by the scale with unit_id ${configuredUnit}: the config gives no scales (drivers.scales.list is empty), so the demo (npm start) weighs on the demo store's scales, each slot's \`scale\` in its scenario files (fixtures/scenarios/*.yaml); ${address} would be saved and never used. To weigh on other addresses, list the scales in drivers.scales.list of a config file (store-edge.yaml), check it with store-edge doctor and restart (store-edge start)`,
      { zh: `货位 ${slot} 的秤地址为 ${configuredUnit}：配置中没有秤（drivers.scales.list 为空），演示模式（npm start）按演示门店场景文件（fixtures/scenarios/*.yaml）中各货位的 scale 建秤称重；填 ${address} 只会记在账上，实际不会用它称重。要改用其他地址：在配置文件（store-edge.yaml）的 drivers.scales.list 中列出各秤，用 store-edge doctor 检查后重启（store-edge start）`, details: { field: 'address' } },
    );
  }
  const file = source.file ? ` ${source.file}` : '';
  return new EdgeError(
    ErrorCode.SCALE_ADDRESS_CONFIGURED,
    `slot ${slot} is weighed by the scale with unit_id ${configuredUnit}, as drivers.scales.list in the config file${file} says; ${address} would be saved and never used. After swapping a scale module, change that slot's unit_id in the config file, check it with store-edge doctor and restart (store-edge start)`,
    { zh: `货位 ${slot} 的秤地址由配置文件${source.file ? ` ${source.file} 中` : ''} drivers.scales.list 决定，为 ${configuredUnit}；填 ${address} 只会记在账上，实际不会用它称重。换了秤模块：在配置文件中改该货位的 unit_id，用 store-edge doctor 检查后重启（store-edge start）`, details: { field: 'address' } },
  );
}

/**
 * Why a product may not be put on `slot`: no scale of the daemon's scale list (`scaleSlots`, the
 * slots its scales weigh: the config's drivers.scales.list, or the demo's) weighs it, so what is
 * taken from it would never be charged. The admin page and the CLI both ask this before a slot
 * gets a product; `store-edge doctor` still reports such slots in a ledger made before.
 */
export function slotWithoutScale(slot: string, scaleSlots: readonly string[], source: ScaleListSource = { kind: 'config' }): EdgeError | undefined {
  if (scaleSlots.includes(slot)) return undefined;
  const file = source.kind === 'config' && source.file ? ` ${source.file}` : '';
  const en = scaleSlots.length === 0 ? 'weighs no slot' : `weighs only ${scaleSlots.join(', ')}`;
  const zh = scaleSlots.length === 0 ? '没有任何货位的秤' : `只有货位 ${scaleSlots.join('、')} 的秤`;
  const from = source.kind === 'demo'
    ? { en: `the demo store's scales ${en.replace(/^weighs/, 'weigh')} (the config gives none, so the demo weighs on its scenario files' shelves, fixtures/scenarios/*.yaml)`, zh: `演示门店（配置中没有秤，按场景文件 fixtures/scenarios/*.yaml 建秤）${zh}` }
    : { en: `drivers.scales.list of the config${file} ${en}`, zh: `配置${file ? `文件${file} ` : ''}的 drivers.scales.list 中${zh}` };
  const fix = source.kind === 'demo'
    ? { en: 'put the product on one of those slots, or list every scale in drivers.scales.list of a config file (store-edge.yaml), check it with store-edge doctor and restart (store-edge start)', zh: '请把商品放到这些货位上，或在配置文件（store-edge.yaml）的 drivers.scales.list 中列出所有秤，用 store-edge doctor 检查后重启（store-edge start）' }
    : { en: `put the product on one of those slots, or add the scale of slot ${slot} to drivers.scales.list, check it with store-edge doctor and restart (store-edge start)`, zh: `请把商品放到这些货位上，或在 drivers.scales.list 中加上货位 ${slot} 的秤，用 store-edge doctor 检查后重启（store-edge start）` };
  return new EdgeError(
    ErrorCode.SLOT_WITHOUT_SCALE,
    `slot ${slot} has no scale: ${from.en}. Goods on it would never be weighed, so taking them would never be charged; ${fix.en}`,
    { zh: `货位 ${slot} 没有秤：${from.zh}。放在上面的商品不会称重，拿走也不会扣分；${fix.zh}`, details: { field: 'sku' } },
  );
}

/**
 * Change a slot with only the values given: one left out keeps the slot's current value (a new
 * slot: no product, stock 0), `sku: null` takes the product off, and a slot still holding goods
 * keeps its product (`slotNotEmpty`). A slot without a product holds no stock.
 */
export function changeSlot(db: Db, s: { slot: string; address: number; sku?: string | null; stock?: number }, clock: Clock = systemClock): Slot {
  return inTransaction(db, 'changing slot', () => {
    const before = getSlot(db, s.slot);
    const sku = s.sku === undefined ? (before?.sku ?? null) : s.sku;
    const refusal = slotNotEmpty(before, sku);
    if (refusal) throw refusal;
    const stock = s.stock ?? before?.stock ?? 0;
    if (sku === null && stock !== 0) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `slot ${s.slot} has no product, so it cannot hold a stock of ${stock}; give its product as well`, { zh: `货位 ${s.slot} 没有商品，不能有库存，请同时指定商品`, details: { field: 'stock' } });
    }
    return upsertSlot(db, { slot: s.slot, address: s.address, sku, stock }, clock);
  });
}

export function getSlot(db: Db, slot: string): Slot | undefined {
  const r = cachedStatement(db, 'SELECT * FROM slots WHERE slot = ?').get(slot) as SlotRow | undefined;
  return r ? slotFromRow(r) : undefined;
}

export function requireSlot(db: Db, slot: string): Slot {
  const s = getSlot(db, slot);
  if (!s) throw new EdgeError(ErrorCode.UNKNOWN_SLOT, `unknown slot ${JSON.stringify(slot)}`, { zh: `未知货位 ${slot}` });
  return s;
}

export function listSlots(db: Db): Slot[] {
  return (cachedStatement(db, 'SELECT * FROM slots ORDER BY slot').all() as SlotRow[]).map(slotFromRow);
}

/** Move a slot's stock by `delta` items (never below zero: a missing count becomes 0 and is reported). */
export function adjustStock(db: Db, slot: string, delta: number, at: string): { before: number; stock: number; clipped: boolean } {
  const s = requireSlot(db, slot);
  const next = s.stock + delta;
  const stock = Math.max(0, next);
  cachedStatement(db, 'UPDATE slots SET stock = ?, updated_at = ? WHERE slot = ?').run(stock, at, slot);
  return { before: s.stock, stock, clipped: next < 0 };
}

/** Stock per product over all its slots. */
export function inventory(db: Db): Record<string, number> {
  const rows = cachedStatement(db, 'SELECT sku, SUM(stock) AS n FROM slots WHERE sku IS NOT NULL GROUP BY sku ORDER BY sku').all() as { sku: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.sku, r.n]));
}

/** The weighing limits a product's one item must clear (session.weight, drivers.scales). */
export interface WeighLimits { drift_allowance_g: number; change_threshold_g: number }
/**
 * The shipped defaults of session.weight.drift_allowance_g and drivers.scales.change_threshold_g
 * (tests/ledger/products-weigh.test.ts keeps them equal to the config schemas'): one item must
 * weigh more than 10 g at its lightest.
 */
export const DEFAULT_WEIGH_LIMITS: WeighLimits = { drift_allowance_g: 10, change_threshold_g: 6 };

/**
 * A product whose one item, at its lightest (unit_g − tolerance_g), is not heavier than what the
 * shelves take for drift (the larger of the drift allowance and the scales' change threshold)
 * would never be charged: taking one is absorbed as drift. Refused where products are defined
 * (upsertProduct, a scenario file) and where a slot is bound to one; without the store's limits,
 * by the shipped defaults.
 */
export function checkWeighable(p: Pick<Product, 'sku' | 'unitG' | 'toleranceG'>, limits: WeighLimits = DEFAULT_WEIGH_LIMITS): void {
  const limit = Math.max(limits.drift_allowance_g, limits.change_threshold_g);
  if (p.unitG - p.toleranceG > limit) return;
  throw new EdgeError(
    ErrorCode.INVALID_ARGUMENT,
    `product ${p.sku}: one item (${p.unitG} g ± ${p.toleranceG} g) is too light to be seen on the shelf: unit_g − tolerance_g must be more than ${limit} g, the larger of session.weight.drift_allowance_g (${limits.drift_allowance_g} g) and drivers.scales.change_threshold_g (${limits.change_threshold_g} g); taking one would never be charged. Sell it in bigger packs or lower those limits`,
    { zh: `商品 ${p.sku} 单件太轻（${p.unitG} 克 ± ${p.toleranceG} 克），货架秤看不出来，拿走一件不会计分：单件重量减去误差必须大于 ${limit} 克（session.weight.drift_allowance_g 与 drivers.scales.change_threshold_g 中的较大者）。请按更大包装出售，或调低这两项`, details: { field: 'unit_g' } },
  );
}
