/* global window */
/**
 * The village office's catalogue: the products and prices the village publishes to its stores
 * (GET …/products), and adding or changing one (PUT …/products/:sku: recorded, then sent to every
 * store of the village on the village stream). The server checks every field (a tolerance under
 * half the unit weight, say); the page shows its answer beside the field.
 */
'use strict';

(() => {
  const office = window.VillageOffice;
  const { $, el, cell } = office;
  const FIELDS = ['sku', 'name', 'price', 'unit_g', 'tolerance_g'];
  let products = [];

  function render() {
    const body = $('products');
    body.replaceChildren();
    for (const p of products) {
      const tr = el('tr', { dataset: { sku: p.sku } });
      const acts = cell('', 'actions');
      if (office.manage) acts.append(el('button', { type: 'button', className: 'small', textContent: '修改 Edit', dataset: { edit: p.sku } }));
      else acts.textContent = '—';
      tr.append(
        cell(p.sku), cell(p.name), cell(String(p.price), 'num price'), cell(String(p.unit_g), 'num'), cell(String(p.tolerance_g), 'num'),
        cell(p.active ? '在售 on sale' : '停售 off sale', p.active ? 'ok' : 'muted'), cell(office.when(p.updated_at)), acts,
      );
      body.append(tr);
    }
    if (products.length === 0) office.emptyRow(body, 8, '本村还没有发布商品 / no products yet');
  }

  async function load() {
    $('products-error').textContent = '';
    try {
      products = (await office.call('GET', office.api('/products'))).products;
      render();
    } catch (e) {
      $('products-error').textContent = e.message;
    }
  }

  /** Fills the form with a product to change (its sku fixed), or empties it for a new one. */
  function edit(sku) {
    office.clearErrors('product');
    const p = products.find((x) => x.sku === sku);
    for (const f of FIELDS) $(`product-${f}`).value = p ? String(p[f]) : '';
    $('product-active').checked = p ? p.active : true;
    $('product-sku').readOnly = Boolean(p);
    $('product-heading').replaceChildren(p ? `修改商品：${p.name} ` : '新增商品 ', el('small', { className: 'muted', textContent: p ? 'Change a product' : 'Add a product' }));
    $('product-form').scrollIntoView({ block: 'nearest' });
    $(p ? 'product-price' : 'product-sku').focus();
  }

  /** A number field as typed: empty stays a string, so the server names the field. */
  const numberOf = (f) => {
    const v = $(`product-${f}`).value.trim();
    return v === '' || !/^-?\d+$/.test(v) ? v : Number(v);
  };

  async function save() {
    office.clearErrors('product');
    const sku = $('product-sku').value.trim();
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(sku)) return void office.showError('product', { field: 'sku', message: '商品编号只能用字母、数字和 . _ -（1–64 位）/ letters, digits, . _ - only' });
    const body = { name: $('product-name').value.trim(), price: numberOf('price'), unit_g: numberOf('unit_g'), tolerance_g: numberOf('tolerance_g'), active: $('product-active').checked };
    try {
      await office.call('PUT', office.api(`/products/${encodeURIComponent(sku)}`), body);
      $('product-ok').textContent = `已保存「${body.name}」，${body.price} 积分，将同步到各门店 / saved; the stores get it by sync`;
    } catch (e) {
      return void office.showError('product', e);
    }
    await load();
  }

  window.addEventListener('DOMContentLoaded', () => {
    $('products').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-edit]');
      if (b) edit(b.dataset.edit);
    });
    $('product-new').addEventListener('click', () => edit(undefined));
    $('product-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      void office.submitting($('product-form'), save);
    });
  });
  office.parts.push({ load });
})();
