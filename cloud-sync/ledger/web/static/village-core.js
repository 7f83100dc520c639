/* global FormData, LedgerErrors, document, location, window */
/**
 * The village office page (/village), shared part: the API call with the session's cookie and
 * CSRF token, refusals shown beside the field the server names (Chinese, then English:
 * errors.js), and forms that cannot be sent twice while a request runs. The parts of the page
 * (claims, tasks, the catalogue, villagers) are the other village-*.js files; village.js starts
 * them.
 */
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const office = {
    $,
    /** The signed-in staff member (GET /staff/session's `user`). */
    me: undefined,
    csrf: '',
    /** The village shown. */
    village: '',
    /** A village account manages its own village; the town reads it only. */
    manage: false,
    /** The page's parts, each `{ load() }`, loaded again when the village changes. */
    parts: [],
  };

  office.toLogin = () => location.replace(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  office.when = (iso) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—');
  /** The village's part of the API. */
  office.api = (rest) => `/api/villages/${encodeURIComponent(office.village)}${rest}`;

  /** A JSON body, or a FormData one (an evidence photo: multipart, the upload's deadline). */
  office.call = async (method, url, body) => {
    const headers = method === 'GET' ? {} : { 'x-csrf-token': office.csrf };
    const form = typeof FormData !== 'undefined' && body instanceof FormData;
    if (body !== undefined && !form) headers['content-type'] = 'application/json';
    const res = await LedgerErrors.fetch(url, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: form ? body : JSON.stringify(body) }) });
    if (res.status === 401) {
      office.toLogin();
      throw Object.assign(new Error('请先登录 / sign in first'), { status: 401 });
    }
    if (!res.ok) throw await LedgerErrors.refusal(res);
    return res.json().catch(() => ({}));
  };

  /** Clears the messages of the form whose ids start with `prefix`. */
  office.clearErrors = (prefix) => {
    for (const el of document.querySelectorAll(`[id^="${prefix}-"][id$="error"], #${prefix}-ok`)) el.textContent = '';
  };
  /**
   * Shows `e` beside its field (`prefix-FIELD-error`), else in the form's own line, naming the
   * field the server named when the form has no such input.
   */
  office.showError = (prefix, e) => {
    const beside = e.field && $(`${prefix}-${e.field}-error`);
    const el = beside || $(`${prefix}-error`);
    el.textContent = beside || !e.field ? e.message : `${e.message}（${e.field}）`;
    const input = e.field && $(`${prefix}-${e.field}`);
    if (input && !input.disabled) input.focus();
  };
  /** The same inside a table row: `[data-error=FIELD]`, else `[data-error=""]`. */
  office.showRowError = (row, e) => {
    const beside = e.field && row.querySelector(`[data-error="${e.field}"]`);
    const el = beside || row.querySelector('[data-error=""]');
    el.textContent = beside || !e.field ? e.message : `${e.message}（${e.field}）`;
  };

  /** Runs `fn` with the form's buttons disabled, once at a time (sending.js): a second tap while the request runs does nothing. */
  office.submitting = window.sendOnce;

  office.cell = (text, cls) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  };
  office.emptyRow = (body, cols, text) => {
    const tr = document.createElement('tr');
    const td = office.cell(text, 'muted');
    td.colSpan = cols;
    tr.append(td);
    body.append(tr);
  };
  /** An input, a button and the message lines of a small form inside a table cell. */
  office.el = (tag, props = {}, children = []) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k in e) e[k] = v;
      else e.setAttribute(k, v);
    }
    e.append(...children);
    return e;
  };

  /** The rule items of the village (latest versions, retired too), by code. */
  office.items = new Map();
  office.loadItems = async () => {
    const all = await office.call('GET', office.api('/items?all=true'));
    office.items = new Map(all.items.map((i) => [i.code, i]));
  };
  office.itemName = (code) => office.items.get(code)?.name ?? code;
  /**
   * The terms a claim was filed under (its item version's name, sign and range, which the API
   * gives with each claim), not the item's latest version: an item edited afterwards changes no
   * claim. A field the claim lacks is taken from the item, else undefined.
   */
  office.termsOf = (c) => {
    const item = office.items.get(c.item_code);
    const pick = (own, latest) => (c[own] ?? item?.[latest]);
    return { name: pick('item_name', 'name') ?? c.item_code, direction: pick('direction', 'direction'), points_min: pick('item_points_min', 'points_min'), points_max: pick('item_points_max', 'points_max') };
  };
  office.range = (i) => (i.points_min === i.points_max ? `${i.points_min} 分` : `${i.points_min}–${i.points_max} 分`);

  /** A villager of the village with their balance (GET …/villagers/:id), asked once per load. */
  let villagers = new Map();
  office.villagerOf = (id) => {
    if (!villagers.has(id)) villagers.set(id, office.call('GET', office.api(`/villagers/${encodeURIComponent(id)}`)).catch((e) => ({ id, error: e })));
    return villagers.get(id);
  };
  /** Forgets what villagerOf has read: balances change with a decision. */
  office.forgetVillagers = () => {
    villagers = new Map();
  };
  office.villagerLabel = (v) => (v.name ? `${v.name}（${v.id}）` : v.id);

  /**
   * A table of claims (the claims to decide, the approved points): the table body `id` drawn
   * anew, a row per claim made by `row(claim, who)` (`who`: its villager's label, their id when
   * they cannot be read), or one row of `empty` across `columns` when there is none.
   */
  office.claimTable = async (id, claims, row, { empty, columns }) => {
    const people = await Promise.all(claims.map((c) => office.villagerOf(c.villager_id)));
    const body = $(id);
    body.replaceChildren(...claims.map((c, n) => row(c, office.villagerLabel(people[n].error ? { id: c.villager_id } : people[n]))));
    if (claims.length === 0) office.emptyRow(body, columns, empty);
  };

  /** Loads every part again (the village chosen or changed). */
  office.loadAll = async () => {
    office.forgetVillagers();
    await office.loadItems();
    await Promise.all(office.parts.map((p) => p.load()));
  };

  window.VillageOffice = office;
})();
