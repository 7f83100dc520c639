/**
 * The products and shelves page: each slot with its scale, the weight on it now and the count
 * that weight makes; count the shelf; the calibration wizard (empty → zero → known weight →
 * save); which product lies where; products and prices. Plain forms; one script of our own
 * (assets/shelves.js) keeps the weights, counts and stock current from the live stream, and the
 * page works without it. Every value escaped. Chinese, or English after the switch.
 */
import type { StoreConfig } from '../config/schema.ts';
import type { ScaleListSource } from '../ledger/products.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { layout } from './pages.ts';
import type { ShelfItem as Item } from './shelf-math.ts';
import { fieldMessage, focusIfWrong, formMessage, kept, type FormRefusal } from './form-fields.ts';
interface ProductRow { sku: string; name: string; price: number; unit_g: number; tolerance_g: number; active: boolean }

const T = {
  zh: {
    title: '商品与货架', back: '返回管理页', other: 'English', slots: '货位与秤', slot: '货位', address: '秤地址', product: '商品', stock: '账上库存', weight: '秤上重量', counted: '按重量应有',
    count: '盘点（按秤设库存）', none: '—', g: '克', noScale: '没有秤', moving: '称重中…', noReply: '秤没有回应', implausible: '读数异常', wizard: '校准向导', step1: '1. 把货位上的东西全部拿走', step2: '2. 已清空，归零', confirm: '货位已清空',
    step3: '3. 放上已知重量的砝码（克）', step4: '4. 保存', assign: '货位绑定商品和秤', save: '保存', products: '商品和价格', sku: '编码', name: '名称', price: '积分', unit: '单件克数', tol: '误差克数',
    status: '状态', onSale: '在售', offSale: '停售', add: '新增商品', noSlots: '还没有货位', countHint: '盘点时店里须无人；盘点后，补货记为进货，不会被当成放回。',
    addressHint: '秤地址由配置文件中 drivers.scales.list 的 unit_id 决定，这里不能改。换了秤模块：在配置文件中改该货位的 unit_id，用 store-edge doctor 检查后重启（store-edge start）。',
    noConfigured: '配置中没有此货位的秤', ledgerSays: '账上记的是',
    addressHintDemo: '秤地址由演示门店的秤决定，这里不能改：配置中没有秤（drivers.scales.list 为空），演示模式（npm start）按场景文件（fixtures/scenarios/*.yaml）中各货位的 scale 建秤称重。要改用其他地址：在配置文件（store-edge.yaml）的 drivers.scales.list 中列出各秤，用 store-edge doctor 检查后重启（store-edge start）。',
    noConfiguredDemo: '演示门店的秤中没有此货位的秤',
  },
  en: {
    title: 'Products and shelves', back: 'Back to admin', other: '中文', slots: 'Slots and scales', slot: 'Slot', address: 'Scale address', product: 'Product', stock: 'Stock (ledger)', weight: 'On the scale', counted: 'Count by weight',
    count: 'Count the shelf', none: '—', g: 'g', noScale: 'no scale', moving: 'weighing…', noReply: 'scale not answering', implausible: 'implausible reading', wizard: 'Calibration', step1: '1. Take everything off the slot', step2: '2. Empty: zero it', confirm: 'the slot is empty',
    step3: '3. Put a known weight on it (g)', step4: '4. Save', assign: 'Assign a product and a scale to a slot', save: 'Save', products: 'Products and prices', sku: 'Code', name: 'Name', price: 'Points', unit: 'g per item', tol: 'Tolerance g',
    status: 'Status', onSale: 'on sale', offSale: 'off sale', add: 'Add a product', noSlots: 'No slots yet', countHint: 'Count with nobody inside; after a count a restock is a delivery, never mistaken for goods put back.',
    addressHint: "A slot's scale address is its unit_id in drivers.scales.list in the config file and cannot be changed here. After swapping a scale module, change that slot's unit_id in the config file, check it with store-edge doctor and restart (store-edge start).",
    noConfigured: 'no scale for this slot in the config', ledgerSays: 'the ledger says',
    addressHintDemo: "A slot's scale address is the demo store's and cannot be changed here: the config gives no scales (drivers.scales.list is empty), so the demo (npm start) weighs on the demo store's scales, each slot's `scale` in its scenario files (fixtures/scenarios/*.yaml). To weigh on other addresses, list the scales in drivers.scales.list of a config file (store-edge.yaml), check it with store-edge doctor and restart (store-edge start).",
    noConfiguredDemo: "no scale for this slot among the demo's",
  },
} as const;

/** What a slot's scale shows (the same words as assets/live.js and assets/shelves.js): the weight at rest, or why there is none. */
function weightWords(s: Item, t: (typeof T)[Lang]): string {
  if (s.weight_g !== null) return `${s.weight_g} ${t.g}`;
  if (s.scale === 'ok') return t.moving;
  if (s.scale === 'absent') return t.noScale;
  if (s.scale === 'no_reply') return t.noReply;
  if (s.scale === 'implausible') return t.implausible;
  return t.none;
}

const csrfField = (csrf: string): string => `<input type="hidden" name="_csrf" value="${esc(csrf)}">`;

/** The forms of the page, by name (a refused one comes back with its message and what was typed). */
export const shelfForm = {
  add: 'product-add',
  product: (sku: string) => `product-${sku}`,
  slot: (slot: string) => `slot-${slot}`,
  zero: (slot: string) => `zero-${slot}`,
  calibrate: (slot: string) => `calibrate-${slot}`,
  count: (slot: string) => `count-${slot}`,
};

const PRODUCT_FIELDS = ['sku', 'name', 'price', 'unit_g', 'tolerance_g', 'active'] as const;

/**
 * The products and shelves page; `refusal`: a form refused, shown again with the message beside
 * its field (or at its top) and what was typed. `scaleSource`: where the daemon's scale list
 * comes from (the config file, or the demo store's), which the page names (default: the config).
 */
export function shelvesPage(d: { store: StoreConfig; lang: Lang; csrf: string; items: Item[]; products: ProductRow[]; refusal?: FormRefusal | undefined; scaleSource?: ScaleListSource }): string {
  const t = T[d.lang];
  const demo = d.scaleSource?.kind === 'demo';
  const r = d.refusal;
  const other = d.lang === 'zh' ? 'en' : 'zh';
  /** A field's value: what was typed in the refused form, else the value now. */
  const val = (form: string, field: string, now: string): string => (r && r.form === form && field in r.values ? kept(r, form, field) : now);
  const beside = (form: string, field: string): string => fieldMessage(r, form, field);
  const slotRows = d.items
    .map((s) => {
      const base = `/api/shelves/${encodeURIComponent(s.slot)}`;
      const weight = weightWords(s, t);
      const [zf, cf, nf] = [shelfForm.zero(s.slot), shelfForm.calibrate(s.slot), shelfForm.count(s.slot)];
      return `<tr data-slot="${esc(s.slot)}"><td>${esc(s.slot)}</td><td>${s.unit_id ?? s.address}</td><td>${esc(s.name ?? t.none)}</td><td class="stock">${s.stock}</td><td class="weight">${esc(weight)}</td><td class="counted">${s.counted ?? t.none}</td>
<td><form class="inline" method="post" action="${base}/count">${csrfField(d.csrf)}${formMessage(r, nf)}<button type="submit" data-action="count">${t.count}</button></form></td>
<td class="wizard"><div>${t.step1}</div><form method="post" action="${base}/zero">${csrfField(d.csrf)}${formMessage(r, zf, ['confirm_empty'])}<label><input type="checkbox" name="confirm_empty" value="true" required${focusIfWrong(r, zf, 'confirm_empty', ['confirm_empty'])}> ${t.confirm}</label> <button type="submit" data-action="zero">${t.step2}</button>${beside(zf, 'confirm_empty')}</form>
<form method="post" action="${base}/calibrate">${csrfField(d.csrf)}${formMessage(r, cf, ['known_g'])}<label>${t.step3} <input name="known_g" type="number" min="1" max="100000" step="any" required style="width:5rem" value="${esc(val(cf, 'known_g', ''))}"${focusIfWrong(r, cf, 'known_g', ['known_g'])}></label> <button type="submit" data-action="calibrate">${t.step4}</button>${beside(cf, 'known_g')}</form></td></tr>`;
    })
    .join('');
  const productRows = d.products
    .map((p) => {
      const f = shelfForm.product(p.sku);
      const focus = (field: string) => focusIfWrong(r, f, field, PRODUCT_FIELDS);
      const active = val(f, 'active', String(p.active)) === 'true';
      return `<tr data-sku="${esc(p.sku)}"><td>${esc(p.sku)}</td><td colspan="5"><form class="inline" method="post" action="/api/products/${encodeURIComponent(p.sku)}">${csrfField(d.csrf)}${formMessage(r, f, PRODUCT_FIELDS.filter((x) => x !== 'sku'))}<input name="name" value="${esc(val(f, 'name', p.name))}" required maxlength="100" aria-label="${t.name}"${focus('name')}> <input name="price" type="number" min="0" value="${esc(val(f, 'price', String(p.price)))}" required style="width:5rem" aria-label="${t.price}"${focus('price')}> <input name="unit_g" type="number" min="1" value="${esc(val(f, 'unit_g', String(p.unit_g)))}" required style="width:5rem" aria-label="${t.unit}"${focus('unit_g')}> <input name="tolerance_g" type="number" min="0" value="${esc(val(f, 'tolerance_g', String(p.tolerance_g)))}" required style="width:4rem" aria-label="${t.tol}"${focus('tolerance_g')}> <select name="active" aria-label="${t.status}"><option value="true"${active ? ' selected' : ''}>${t.onSale}</option><option value="false"${active ? '' : ' selected'}>${t.offSale}</option></select> <button type="submit" data-action="save-product">${t.save}</button>${PRODUCT_FIELDS.map((x) => beside(f, x)).join('')}</form></td></tr>`;
    })
    .join('');
  const skuOptions = (selected: string) => d.products.map((p) => `<option value="${esc(p.sku)}"${p.sku === selected ? ' selected' : ''}>${esc(p.name)}（${esc(p.sku)}）</option>`).join('');
  const assignForms = d.items
    .map((s) => {
      const f = shelfForm.slot(s.slot);
      const note = s.scale === 'absent' ? ` <small>（${demo ? t.noConfiguredDemo : t.noConfigured}）</small>` : s.unit_id !== null && s.unit_id !== s.address ? ` <small>（${t.ledgerSays} ${s.address}）</small>` : '';
      return `<form class="inline assign" method="post" action="/api/slots/${encodeURIComponent(s.slot)}">${csrfField(d.csrf)}${formMessage(r, f, ['address', 'sku'])}<b>${esc(s.slot)}</b> <label>${t.address} <input name="address" type="number" min="1" max="247" value="${s.unit_id ?? s.address}" readonly style="width:4rem"></label>${note} <label>${t.product} <select name="sku"${focusIfWrong(r, f, 'sku', ['sku'])}><option value="">${t.none}</option>${skuOptions(val(f, 'sku', s.sku ?? ''))}</select></label> <button type="submit" data-action="assign">${t.save}</button>${beside(f, 'address')}${beside(f, 'sku')}</form><br>`;
    })
    .join('');
  const a = shelfForm.add;
  const addFocus = (field: string) => focusIfWrong(r, a, field, PRODUCT_FIELDS);
  return layout(
    `${d.store.name} · ${t.title}`,
    `<style>#shelves th,#shelves td{white-space:normal;padding:.3rem .4rem}#shelves td.weight{white-space:nowrap}#shelves td.wizard{min-width:11rem}#shelves td.wizard form{margin:.2rem 0}#shelves td.wizard button{white-space:nowrap}form.assign input[readonly]{background:#f3f3f3;border:1px solid #ccc}</style>
<h1>${esc(d.store.name)} · ${t.title}</h1><p><a href="/">${t.back}</a> · <a href="/shelves?lang=${other}" id="lang-switch">${t.other}</a></p>
<h2>${t.slots}</h2><p>${t.countHint}</p>
<table id="shelves" data-lang="${d.lang}"><tr><th>${t.slot}</th><th>${t.address}</th><th>${t.product}</th><th>${t.stock}</th><th>${t.weight}</th><th>${t.counted}</th><th></th><th>${t.wizard}</th></tr>${slotRows || `<tr><td colspan="8">${t.noSlots}</td></tr>`}</table>
<h2>${t.assign}</h2><p id="address-hint">${demo ? t.addressHintDemo : t.addressHint}</p>
${assignForms}
<h2>${t.products}</h2><table id="product-list"><tr><th>${t.sku}</th><th colspan="5">${t.name} · ${t.price} · ${t.unit} · ${t.tol} · ${t.status}</th></tr>${productRows}</table>
<h3>${t.add}</h3><form class="inline" method="post" id="product-add" action="/api/products">${csrfField(d.csrf)}${formMessage(r, a, PRODUCT_FIELDS)}<input name="sku" required maxlength="64" pattern="[A-Za-z0-9_.\\-]+" placeholder="${t.sku}" value="${esc(kept(r, a, 'sku'))}"${addFocus('sku')}> <input name="name" required maxlength="100" placeholder="${t.name}" value="${esc(kept(r, a, 'name'))}"${addFocus('name')}> <input name="price" type="number" min="0" required placeholder="${t.price}" style="width:5rem" value="${esc(kept(r, a, 'price'))}"${addFocus('price')}> <input name="unit_g" type="number" min="1" required placeholder="${t.unit}" style="width:6rem" value="${esc(kept(r, a, 'unit_g'))}"${addFocus('unit_g')}> <input name="tolerance_g" type="number" min="0" required placeholder="${t.tol}" style="width:6rem" value="${esc(kept(r, a, 'tolerance_g'))}"${addFocus('tolerance_g')}> <button type="submit">${t.add}</button>${PRODUCT_FIELDS.map((x) => beside(a, x)).join('')}</form>
<p id="live-status" data-connected="false"></p><script src="/assets/follow-live.js" defer></script><script src="/assets/shelves.js" defer></script>`,
    undefined,
    d.lang,
  );
}
