/**
 * Products and shelves from the admin page: products and prices, which product lies on which
 * slot and which scale weighs it, zeroing an empty slot, checking a slot's scale with a known
 * weight, and counting a shelf (its stock set from what the scale weighs, so a delivery adds to
 * a true count instead of being mistaken for goods put back). Each change is one ledger
 * transaction with its audit record; prices reach the village ledger through the outbox, as
 * `upsertProduct` always does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formErrorHandler, formValues, isUrlencodedForm, wantsPage, type FormRefusal } from './form-refusal.ts';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { inTransaction, type Db } from '../ledger/db.ts';
import { adjustStock, checkWeighable, getProduct, getSlot, listProducts, listSlots, requireProduct, requireSlot, scaleAddressNotConfigured, slotNotEmpty, slotWithoutScale, upsertProduct, upsertSlot, type Product, type ScaleListSource, type WeighLimits } from '../ledger/products.ts';
import { appendAudit } from '../ledger/audit.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import type { StoreStateSource } from './queries.ts';
import { CalibrateBody, CountBody, ProductBody, ProductEditBody, ShelvesReply, SlotBody, ZeroBody } from './shelf-schemas.ts';
import { countFromWeight, itemsStillOn, scaleCheck, type ShelfItem, type ShelfScales } from './shelf-math.ts';
import type { StoreConfig } from '../config/schema.ts';
import { messagePage } from './auth-pages.ts';
import { shelfForm, shelvesPage } from './shelves-page.ts';
import { CalibrateReply, CountReply, ProductReply, SlotReply, ZeroReply } from './action-schemas.ts';
import { langOf, rememberLang } from './lang.ts';
import { takeKeptForm } from './signed-out.ts';
import { KeptReplies, ledgerVersion, NotModified, scalesVersion } from './kept-reply.ts';
import { systemClock, type Clock } from '../ledger/time.ts';

const isForm = isUrlencodedForm;
const done = (req: FastifyRequest, reply: FastifyReply, status: number, json: unknown): FastifyReply => (isForm(req) ? reply.redirect('/shelves', 303) : reply.status(status).send(json));

const productView = (p: Product) => ({ sku: p.sku, name: p.name, price: p.price, unit_g: p.unitG, tolerance_g: p.toleranceG, active: p.active });

export interface ShelfDeps {
  db: () => Db;
  store: StoreConfig;
  /** The shelf scales (absent without hardware: weighing actions answer 503). */
  scales?: () => ShelfScales | undefined;
  /** The session engine: the shelves are weighed only while nobody is inside. */
  session?: StoreStateSource;
  /** What one item must weigh to be seen on a shelf (a product lighter is refused). */
  weighLimits?: WeighLimits;
  /** The time actions are written at (the daemon's clock; edge/http/app.ts). */
  clock?: Clock;
  /** Where the scales' list comes from (the config file, or the demo store's in `npm start`): what the page and its refusals name. Default: the config. */
  scaleSource?: ScaleListSource;
}

type Refuse = (reply: FastifyReply, status: number, error: string, field: string | null, en: string, zh: string) => FastifyReply;

/** The /shelves page again with a refused form (its message beside the field, what was typed kept). */
type ShelvesRenderer = (req: FastifyRequest, reply: FastifyReply, refusal: FormRefusal) => string;

/** Which form of /shelves a request comes from (shelves-page.ts shelfForm), by its route. */
function formOf(req: FastifyRequest): string {
  const p = req.params as { sku?: string; slot?: string };
  const url = req.routeOptions.url ?? '';
  if (url === '/api/products') return shelfForm.add;
  if (p.sku !== undefined) return shelfForm.product(p.sku);
  const slot = p.slot ?? '';
  if (url.endsWith('/zero')) return shelfForm.zero(slot);
  if (url.endsWith('/calibrate')) return shelfForm.calibrate(slot);
  if (url.endsWith('/count')) return shelfForm.count(slot);
  return shelfForm.slot(slot);
}

/** Where a refusal naming no field is shown: at the top of its form. */
const NO_FIELD = 'form';

/**
 * Refusals, bilingual: JSON naming the field for API clients; for a browser's form, the /shelves
 * page again with the message beside the field (as formErrorHandler answers the thrown ones),
 * or, when even that page cannot be shown, a page with the message and the way back.
 */
function refuser(storeName: string, render: ShelvesRenderer): Refuse {
  return (reply, status, error, field, en, zh) => {
    const req = reply.request;
    if (!wantsPage(req)) return reply.status(status).send({ error, message: en, zh, ...(field ? { fields: { [field]: { message: en, zh } } } : {}) });
    let page: string;
    try {
      page = render(req, reply, { form: formOf(req), status, zh, en, fields: { [field ?? NO_FIELD]: { message: en, zh } }, values: formValues(req.body) });
    } catch (err) {
      req.log.warn({ err }, 'the refused form\'s page cannot be shown; answering with the message / 无法显示表单所在页面，仅显示提示');
      page = messagePage(storeName, '未完成 Not done', zh, en, { href: '/shelves', text: '返回商品与货架 Back' });
    }
    return reply.status(status).type('text/html; charset=utf-8').send(page);
  };
}

/** The scales, or a 503 naming why not. */
function scalesOr503(deps: ShelfDeps, reply: FastifyReply, refuse: Refuse): ShelfScales | undefined {
  let s: ShelfScales | undefined;
  try {
    s = deps.scales?.();
  } catch {
    s = undefined;
  }
  if (!s) refuse(reply, 503, 'SCALES_UNAVAILABLE', null, 'the shelf scales are not running', '货架秤没有运行，无法称重');
  return s;
}

/**
 * Someone inside moves the weights the session is counting: weighing waits until the store is
 * empty. So do a slot's product and a product's weight and price: the visit is counted and
 * priced with the products as they were at admission (recorded in the visit, edge/session), so an
 * edit would not reach it, but the shelf the maintainer sees and the one counted would then differ
 * until the villager leaves; the edit waits for an empty store.
 */
function storeBusy(deps: ShelfDeps, reply: FastifyReply, refuse: Refuse, what: 'weigh' | 'edit' = 'weigh'): boolean {
  const phase = deps.session?.phase;
  if (phase === undefined || phase === 'idle') return false;
  if (what === 'edit') refuse(reply, 409, 'STORE_BUSY', null, `someone is in the store (${phase}); change products and slots when it is empty`, '店里有人（正在购物或补货），请等店里没人时再修改商品和货位');
  else refuse(reply, 409, 'STORE_BUSY', null, `someone is in the store (${phase}); weigh the shelves when it is empty`, '店里有人（正在购物或补货），请等店里没人时再称重');
  return true;
}

/** The unit id the scale list gives the slot's scale (the config's drivers.scales.list, or the demo's); undefined without one, or without hardware. */
function configuredUnit(deps: ShelfDeps, slot: string): number | undefined {
  try {
    return deps.scales?.()?.status().find((s) => s.slot === slot)?.unit_id;
  } catch {
    return undefined;
  }
}

/** The slots the scale list weighs (the config's drivers.scales.list, or the demo's); undefined without hardware. */
function weighedSlots(deps: ShelfDeps): string[] | undefined {
  try {
    return deps.scales?.()?.status().map((s) => s.slot);
  } catch {
    return undefined;
  }
}

export function shelfItems(deps: ShelfDeps): ShelfItem[] {
  const db = deps.db();
  let status: ReturnType<ShelfScales['status']>;
  try {
    status = deps.scales?.()?.status() ?? [];
  } catch {
    status = [];
  }
  const bySlot = new Map(status.map((s) => [s.slot, s]));
  const products = new Map(listProducts(db).map((p) => [p.sku, p]));
  return listSlots(db).map((slot) => {
    const s = bySlot.get(slot.slot);
    const p = slot.sku !== null ? products.get(slot.sku) : undefined;
    const weight = s && s.health === 'ok' ? s.stable_g : null;
    const counted = p && weight !== null ? countFromWeight(weight, p.unitG, p.toleranceG) : null;
    return {
      slot: slot.slot,
      address: slot.address,
      unit_id: s?.unit_id ?? null,
      sku: slot.sku,
      name: p?.name ?? null,
      stock: slot.stock,
      scale: s ? s.health : 'absent',
      weight_g: weight,
      counted: counted && counted.ok ? counted.count : null,
    };
  });
}

export function registerShelfActions(scope: FastifyInstance, deps: ShelfDeps): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const clock = deps.clock ?? systemClock;
  const page = (req: FastifyRequest, reply: FastifyReply, refusal?: FormRefusal): string => shelvesPage({ store: deps.store, lang: langOf(req), csrf: reply.generateCsrf(), items: shelfItems(deps), products: listProducts(db()).map(productView), refusal, ...(deps.scaleSource ? { scaleSource: deps.scaleSource } : {}) });
  const refuse = refuser(deps.store.name, page);
  // a refused form from /shelves (schema, CSRF, a thrown refusal): the page again, the message beside the field
  const errorHandler = formErrorHandler(formOf, () => NO_FIELD, page, () => '/shelves', deps.store.name);

  app.get('/shelves', { schema: { querystring: Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('zh'), Type.Literal('en')])) }) } }, async (req, reply) => {
    rememberLang(req, reply);
    return reply.type('text/html; charset=utf-8').send(page(req, reply, takeKeptForm(req)));
  });

  // every tablet on /shelves asks this alike: made once per change of the ledger or the scales (./kept-reply.ts)
  const kept = new KeptReplies(1);
  app.get('/api/shelves', { schema: { response: { 200: ShelvesReply, 304: NotModified } } }, async (_req, reply) => {
    const scales = scalesVersion(deps.scales);
    return kept.send(reply, 'shelves', scales === null ? null : `${ledgerVersion(db())}|${scales}`, () => ({ items: shelfItems(deps), products: listProducts(db()).map(productView), next: null }));
  });

  app.post('/api/products', { errorHandler, schema: { body: ProductBody, response: { 201: ProductReply } } }, async (req, reply) => {
    const b = req.body;
    const actor = req.adminUser!.username;
    const p = inTransaction(db(), 'adding a product from the admin page', () => {
      if (getProduct(db(), b.sku)) throw new EdgeError(ErrorCode.DUPLICATE_ID, `product ${b.sku} exists already; edit it instead`, { zh: `商品编码 ${b.sku} 已存在，请修改它`, details: { field: 'sku' } });
      const made = upsertProduct(db(), { sku: b.sku, name: b.name, price: b.price, unitG: b.unit_g, toleranceG: b.tolerance_g, active: b.active ?? true }, { limits: deps.weighLimits, clock });
      appendAudit(db(), { actor, action: 'product.add', target: b.sku, before: null, after: productView(made) }, clock);
      return made;
    });
    return done(req, reply, 201, { product: productView(p) });
  });

  app.post('/api/products/:sku', { errorHandler, schema: { params: Type.Object({ sku: Type.String({ minLength: 1, maxLength: 64 }) }), body: ProductEditBody, response: { 200: ProductReply } } }, async (req, reply) => {
    const b = req.body;
    if (storeBusy(deps, reply, refuse, 'edit')) return reply;
    const actor = req.adminUser!.username;
    const r = inTransaction(db(), 'editing a product from the admin page', () => {
      const before = requireProduct(db(), req.params.sku);
      const after = upsertProduct(db(), {
        sku: before.sku,
        name: b.name ?? before.name,
        price: b.price ?? before.price,
        unitG: b.unit_g ?? before.unitG,
        toleranceG: b.tolerance_g ?? before.toleranceG,
        active: b.active === undefined ? before.active : b.active === true || b.active === 'true',
      }, { limits: deps.weighLimits, clock });
      appendAudit(db(), { actor, action: 'product.edit', target: before.sku, before: productView(before), after: productView(after) }, clock);
      return after;
    });
    return done(req, reply, 200, { product: productView(r) });
  });

  app.post('/api/slots/:slot', { errorHandler, schema: { params: Type.Object({ slot: Type.String({ minLength: 1, maxLength: 32 }) }), body: SlotBody, response: { 200: SlotReply, 201: SlotReply } } }, async (req, reply) => {
    const b = req.body;
    const actor = req.adminUser!.username;
    if (storeBusy(deps, reply, refuse, 'edit')) return reply;
    const sku = b.sku === '' || b.sku === undefined ? null : b.sku;
    const before = getSlot(db(), req.params.slot);
    const notEmpty = slotNotEmpty(before, sku);
    if (notEmpty) return refuse(reply, 409, notEmpty.code, 'sku', notEmpty.message, notEmpty.zh!);
    // the hardware weighs a slot on the scale its scale list gives it (the config's, or the demo's), never by this address
    const wrongScale = scaleAddressNotConfigured(req.params.slot, b.address, configuredUnit(deps, req.params.slot), deps.scaleSource);
    if (wrongScale) return refuse(reply, 409, wrongScale.code, 'address', wrongScale.message, wrongScale.zh!);
    // a product on a slot no scale weighs would never be charged (known only with the scales running)
    const scaleSlots = weighedSlots(deps);
    const noScale = sku === null || scaleSlots === undefined ? undefined : slotWithoutScale(req.params.slot, scaleSlots, deps.scaleSource);
    if (noScale) return refuse(reply, 409, noScale.code, 'sku', noScale.message, noScale.zh!);
    const slot = inTransaction(db(), 'assigning a slot from the admin page', () => {
      const product = sku === null ? undefined : getProduct(db(), sku);
      if (product) checkWeighable(product, deps.weighLimits);
      const after = upsertSlot(db(), { slot: req.params.slot, address: b.address, sku, stock: before?.stock ?? 0 }, clock);
      appendAudit(db(), { actor, action: 'slot.assign', target: after.slot, before: before ? { address: before.address, sku: before.sku } : null, after: { address: after.address, sku: after.sku } }, clock);
      return after;
    });
    return done(req, reply, before ? 200 : 201, { slot: { slot: slot.slot, address: slot.address, sku: slot.sku, stock: slot.stock } });
  });

  const SlotParams = Type.Object({ slot: Type.String({ minLength: 1, maxLength: 32 }) });

  // Calibration, step 2: the maintainer has emptied the slot; its module reads 0 from now on.
  app.post('/api/shelves/:slot/zero', { errorHandler, schema: { params: SlotParams, body: ZeroBody, response: { 200: ZeroReply } } }, async (req, reply) => {
    const slot = requireSlot(db(), req.params.slot);
    if (req.body.confirm_empty !== true && req.body.confirm_empty !== 'true') {
      return refuse(reply, 400, 'INVALID_ARGUMENT', 'confirm_empty', 'take everything off the slot first and confirm it is empty', '请先把货位上的东西全部拿走，并确认货位已空');
    }
    if (storeBusy(deps, reply, refuse)) return reply;
    const scales = scalesOr503(deps, reply, refuse);
    if (!scales) return reply;
    const before = scales.status().find((s) => s.slot === slot.slot);
    if (!before) return deps.scaleSource?.kind === 'demo'
      ? refuse(reply, 404, 'NOT_FOUND', 'slot', `no scale weighs slot ${slot.slot}: the demo store's scales (fixtures/scenarios/*.yaml) have none for it`, `演示门店的秤（fixtures/scenarios/*.yaml）中没有货位 ${slot.slot} 的秤`)
      : refuse(reply, 404, 'NOT_FOUND', 'slot', `no scale is configured for slot ${slot.slot} (drivers.scales.list)`, `配置中没有货位 ${slot.slot} 的秤（drivers.scales.list）`);
    // goods still on the slot (the box ticked by mistake): zeroing would make it under-read by them
    const product = slot.sku !== null && slot.stock > 0 ? getProduct(db(), slot.sku) : undefined;
    const left = product && before.stable_g !== null ? itemsStillOn(before.stable_g, product.unitG, product.toleranceG) : undefined;
    if (product && left !== undefined) {
      return refuse(reply, 409, 'SLOT_NOT_EMPTY', 'confirm_empty', `reads ${before.stable_g} g, looks like ${left} × ${product.name}: take them off first, then zero (the ledger has ${slot.stock} on slot ${slot.slot})`, `读数 ${before.stable_g} 克，像是 ${left} 件 ${product.name}：请先把它们拿走再归零（账上货位 ${slot.slot} 有 ${slot.stock} 件）`);
    }
    await scales.zero(slot.slot);
    appendAudit(db(), { actor: req.adminUser!.username, action: 'slot.zero', target: slot.slot, before: { weight_g: before.stable_g }, after: { weight_g: 0 } }, clock);
    return done(req, reply, 200, { slot: slot.slot, zeroed: true, weight_before_g: before.stable_g });
  });

  // Calibration, steps 3–4: a known weight on the zeroed slot; saved when the scale reads it right.
  app.post('/api/shelves/:slot/calibrate', { errorHandler, schema: { params: SlotParams, body: CalibrateBody, response: { 200: CalibrateReply } } }, async (req, reply) => {
    const slot = requireSlot(db(), req.params.slot);
    if (storeBusy(deps, reply, refuse)) return reply;
    const scales = scalesOr503(deps, reply, refuse);
    if (!scales) return reply;
    const s = scales.status().find((x) => x.slot === slot.slot);
    if (!s || s.health !== 'ok' || s.stable_g === null) {
      return refuse(reply, 409, 'NOT_STABLE', 'known_g', 'the scale has no steady reading yet: wait until the weight rests, then save again', '秤的读数还没稳定，请等重量静止后再保存');
    }
    const check = scaleCheck(s.stable_g, req.body.known_g);
    if (!check.ok) {
      return refuse(reply, 422, 'SCALE_OFF', 'known_g', `the scale reads ${s.stable_g} g for a ${req.body.known_g} g weight (${check.error_g} g off, ${check.allowed_g} g allowed); zero the empty slot again, or have the module's span set`, `放上 ${req.body.known_g} 克的砝码，秤读数为 ${s.stable_g} 克（差 ${check.error_g} 克，允许 ${check.allowed_g} 克）。请清空货位重新归零，或请厂家校准模块`);
    }
    const auditId = appendAudit(db(), { actor: req.adminUser!.username, action: 'slot.calibrate', target: slot.slot, before: null, after: { known_g: req.body.known_g, measured_g: s.stable_g, error_g: check.error_g } }, clock);
    return done(req, reply, 200, { slot: slot.slot, known_g: req.body.known_g, measured_g: s.stable_g, error_g: check.error_g, audit_id: auditId });
  });

  // Count the shelf: stock from the weight on the scale, with nobody inside.
  app.post('/api/shelves/:slot/count', { errorHandler, schema: { params: SlotParams, body: CountBody, response: { 200: CountReply } } }, async (req, reply) => {
    const slot = requireSlot(db(), req.params.slot);
    if (slot.sku === null) return refuse(reply, 409, 'NO_PRODUCT', 'slot', `slot ${slot.slot} has no product to count`, `货位 ${slot.slot} 没有绑定商品，无法盘点`);
    if (storeBusy(deps, reply, refuse)) return reply;
    const scales = scalesOr503(deps, reply, refuse);
    if (!scales) return reply;
    const s = scales.status().find((x) => x.slot === slot.slot);
    if (!s || s.health !== 'ok' || s.stable_g === null) {
      return refuse(reply, 409, 'NOT_STABLE', 'slot', 'the scale has no steady reading: wait until the shelf rests', '秤的读数还没稳定，请等货架静止后再盘点');
    }
    const p = requireProduct(db(), slot.sku);
    const c = countFromWeight(s.stable_g, p.unitG, p.toleranceG);
    if (!c.ok) {
      return refuse(reply, 422, 'NOT_WHOLE_COUNT', 'slot', `${s.stable_g} g is not a whole number of ${p.name} (${p.unitG} g each, ${c.residue_g} g left over): something else is on the slot, or it needs zeroing`, `${s.stable_g} 克不是整数件 ${p.name}（每件 ${p.unitG} 克，多出 ${c.residue_g} 克）：货位上可能有别的东西，或需要归零`);
    }
    const at = clock().toISOString();
    const r = inTransaction(db(), 'counting a shelf from the admin page', () => {
      const moved = adjustStock(db(), slot.slot, c.count - slot.stock, at);
      const auditId = appendAudit(db(), { actor: req.adminUser!.username, action: 'slot.count', target: slot.slot, before: { stock: moved.before }, after: { stock: moved.stock, weight_g: s.stable_g } }, clock);
      return { ...moved, auditId };
    });
    return done(req, reply, 200, { slot: slot.slot, sku: slot.sku, weight_g: s.stable_g, stock_before: r.before, stock: r.stock, audit_id: r.auditId });
  });
}
