/**
 * The products and shelves page: each slot with its scale, the weight on it now and the count
 * that weight makes; count the shelf; the calibration wizard (empty → zero → known weight →
 * save); which product lies where; products and prices. Plain forms; one script of our own
 * (assets/shelves.js) keeps the weights, counts and stock current from the live stream, and the
 * page works without it. Every value escaped. Chinese, or English after the switch.
 */
import type { StoreConfig } from '../config/schema.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { layout } from './pages.ts';
import type { ShelfItem as Item } from './shelf-math.ts';
interface ProductRow { sku: string; name: string; price: number; unit_g: number; tolerance_g: number; active: boolean }

const T = {
  zh: {
    title: '商品与货架', back: '返回管理页', other: 'English', slots: '货位与秤', slot: '货位', address: '秤地址', product: '商品', stock: '账上库存', weight: '秤上重量', counted: '按重量应有',
    count: '盘点（按秤设库存）', none: '—', g: '克', noScale: '没有秤', moving: '称重中…', noReply: '秤没有回应', implausible: '读数异常', wizard: '校准向导', step1: '1. 把货位上的东西全部拿走', step2: '2. 已清空，归零', confirm: '货位已清空',
    step3: '3. 放上已知重量的砝码（克）', step4: '4. 保存', assign: '货位绑定商品和秤', save: '保存', products: '商品和价格', sku: '编码', name: '名称', price: '积分', unit: '单件克数', tol: '误差克数',
    status: '状态', onSale: '在售', offSale: '停售', add: '新增商品', noSlots: '还没有货位', countHint: '盘点时店里须无人；盘点后，补货记为进货，不会被当成放回。',
  },
  en: {
    title: 'Products and shelves', back: 'Back to admin', other: '中文', slots: 'Slots and scales', slot: 'Slot', address: 'Scale address', product: 'Product', stock: 'Stock (ledger)', weight: 'On the scale', counted: 'Count by weight',
    count: 'Count the shelf', none: '—', g: 'g', noScale: 'no scale', moving: 'weighing…', noReply: 'scale not answering', implausible: 'implausible reading', wizard: 'Calibration', step1: '1. Take everything off the slot', step2: '2. Empty: zero it', confirm: 'the slot is empty',
    step3: '3. Put a known weight on it (g)', step4: '4. Save', assign: 'Assign a product and a scale to a slot', save: 'Save', products: 'Products and prices', sku: 'Code', name: 'Name', price: 'Points', unit: 'g per item', tol: 'Tolerance g',
    status: 'Status', onSale: 'on sale', offSale: 'off sale', add: 'Add a product', noSlots: 'No slots yet', countHint: 'Count with nobody inside; after a count a restock is a delivery, never mistaken for goods put back.',
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

export function shelvesPage(d: { store: StoreConfig; lang: Lang; csrf: string; items: Item[]; products: ProductRow[] }): string {
  const t = T[d.lang];
  const other = d.lang === 'zh' ? 'en' : 'zh';
  const slotRows = d.items
    .map((s) => {
      const base = `/api/shelves/${encodeURIComponent(s.slot)}`;
      const weight = weightWords(s, t);
      return `<tr data-slot="${esc(s.slot)}"><td>${esc(s.slot)}</td><td>${s.address}</td><td>${esc(s.name ?? t.none)}</td><td class="stock">${s.stock}</td><td class="weight">${esc(weight)}</td><td class="counted">${s.counted ?? t.none}</td>
<td><form class="inline" method="post" action="${base}/count">${csrfField(d.csrf)}<button type="submit" data-action="count">${t.count}</button></form></td>
<td class="wizard"><div>${t.step1}</div><form class="inline" method="post" action="${base}/zero">${csrfField(d.csrf)}<label><input type="checkbox" name="confirm_empty" value="true" required> ${t.confirm}</label> <button type="submit" data-action="zero">${t.step2}</button></form>
<form class="inline" method="post" action="${base}/calibrate">${csrfField(d.csrf)}<label>${t.step3} <input name="known_g" type="number" min="1" max="100000" step="any" required style="width:6rem"></label> <button type="submit" data-action="calibrate">${t.step4}</button></form></td></tr>`;
    })
    .join('');
  const productRows = d.products
    .map((p) => `<tr data-sku="${esc(p.sku)}"><td>${esc(p.sku)}</td><td colspan="5"><form class="inline" method="post" action="/api/products/${encodeURIComponent(p.sku)}">${csrfField(d.csrf)}<input name="name" value="${esc(p.name)}" required maxlength="100" aria-label="${t.name}"> <input name="price" type="number" min="0" value="${p.price}" required style="width:5rem" aria-label="${t.price}"> <input name="unit_g" type="number" min="1" value="${p.unit_g}" required style="width:5rem" aria-label="${t.unit}"> <input name="tolerance_g" type="number" min="0" value="${p.tolerance_g}" required style="width:4rem" aria-label="${t.tol}"> <select name="active" aria-label="${t.status}"><option value="true"${p.active ? ' selected' : ''}>${t.onSale}</option><option value="false"${p.active ? '' : ' selected'}>${t.offSale}</option></select> <button type="submit" data-action="save-product">${t.save}</button></form></td></tr>`)
    .join('');
  const skuOptions = d.products.map((p) => `<option value="${esc(p.sku)}">${esc(p.name)}（${esc(p.sku)}）</option>`).join('');
  return layout(
    `${d.store.name} · ${t.title}`,
    `<h1>${esc(d.store.name)} · ${t.title}</h1><p><a href="/">${t.back}</a> · <a href="/shelves?lang=${other}" id="lang-switch">${t.other}</a></p>
<h2>${t.slots}</h2><p>${t.countHint}</p>
<table id="shelves" data-lang="${d.lang}"><tr><th>${t.slot}</th><th>${t.address}</th><th>${t.product}</th><th>${t.stock}</th><th>${t.weight}</th><th>${t.counted}</th><th></th><th>${t.wizard}</th></tr>${slotRows || `<tr><td colspan="8">${t.noSlots}</td></tr>`}</table>
<h2>${t.assign}</h2>
${d.items.map((s) => `<form class="inline assign" method="post" action="/api/slots/${encodeURIComponent(s.slot)}">${csrfField(d.csrf)}<b>${esc(s.slot)}</b> <label>${t.address} <input name="address" type="number" min="1" max="247" value="${s.address}" required style="width:4rem"></label> <label>${t.product} <select name="sku"><option value="">${t.none}</option>${skuOptions.replace(`value="${esc(s.sku ?? '')}"`, `value="${esc(s.sku ?? '')}" selected`)}</select></label> <button type="submit" data-action="assign">${t.save}</button></form><br>`).join('')}
<h2>${t.products}</h2><table id="product-list"><tr><th>${t.sku}</th><th colspan="5">${t.name} · ${t.price} · ${t.unit} · ${t.tol} · ${t.status}</th></tr>${productRows}</table>
<h3>${t.add}</h3><form class="inline" method="post" id="product-add" action="/api/products">${csrfField(d.csrf)}<input name="sku" required maxlength="64" pattern="[A-Za-z0-9_.\\-]+" placeholder="${t.sku}"> <input name="name" required maxlength="100" placeholder="${t.name}"> <input name="price" type="number" min="0" required placeholder="${t.price}" style="width:5rem"> <input name="unit_g" type="number" min="1" required placeholder="${t.unit}" style="width:6rem"> <input name="tolerance_g" type="number" min="0" required placeholder="${t.tol}" style="width:6rem"> <button type="submit">${t.add}</button></form>
<p id="live-status" data-connected="false"></p><script src="/assets/shelves.js" defer></script>`,
    undefined,
    d.lang,
  );
}
