/* global document, EventSource */
// The live page's script (edge/http/live-page.ts): draws the picture embedded in the page, then
// every message of the stream /api/live (EventSource reconnects by itself and gets a fresh
// snapshot). Text goes in with textContent only, never as HTML.
'use strict';

const lang = document.body.dataset.lang === 'en' ? 'en' : 'zh';
const timeZone = document.body.dataset.tz || undefined;
const T = {
  zh: {
    open: '门开着', closed: '门关着', unknownDoor: '门状态未知', locked: '已上锁', unlocked: '已开锁', lockAlarm: '门锁告警', unknownLock: '门锁状态未知',
    until: '至', nobody: '店里没有人', cartEmpty: '购物车是空的', total: '合计', points: '分', goods: '商品', slot: '货位', count: '数量', restock: '补货数量',
    noDecisions: '还没有人来过', noAlarms: '没有告警', stock: '账上库存', weight: '秤上重量', counted: '按重量应有', g: '克', noSlots: '还没有货位',
    scale: { absent: '没有秤', moving: '称重中…', no_reply: '秤没有回应', implausible: '读数异常', unknown: '—' }, live: '实时更新中', lost: '连接中断，正在重连…', review: '处待核对', by: { face: '刷脸', card: '刷卡', qr: '扫码', admin: '管理员' }, entered: '进入', since: '起',
  },
  en: {
    open: 'Door open', closed: 'Door closed', unknownDoor: 'Door state unknown', locked: 'Locked', unlocked: 'Unlocked', lockAlarm: 'Lock alarm', unknownLock: 'Lock state unknown',
    until: 'until', nobody: 'Nobody inside', cartEmpty: 'The cart is empty', total: 'Total', points: 'points', goods: 'Item', slot: 'Slot', count: 'Count', restock: 'Restocked',
    noDecisions: 'Nobody has come yet', noAlarms: 'No alarms', stock: 'Stock', weight: 'On the scale', counted: 'Count by weight', g: 'g', noSlots: 'No slots yet',
    scale: { absent: 'no scale', moving: 'weighing…', no_reply: 'scale not answering', implausible: 'implausible reading', unknown: '—' }, live: 'Live', lost: 'Connection lost, reconnecting…', review: 'lines to check', by: { face: 'face', card: 'card', qr: 'QR code', admin: 'admin' }, entered: 'entered by', since: 'since',
  },
}[lang];

const fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
/** One way for every time: 2026-11-30 20:13, in the store's time zone; none: "—". */
function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const p = {};
  for (const x of fmt.formatToParts(d)) p[x.type] = x.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof globalThis.Node ? c : document.createTextNode(String(c)));
  return e;
}
const byId = (id) => document.getElementById(id);

function drawDoor(d) {
  const door = byId('door-state');
  door.textContent = d.door === 'open' ? T.open : d.door === 'closed' ? T.closed : T.unknownDoor;
  door.className = `big ${d.door === 'open' ? 'warn' : d.door === 'closed' ? 'ok' : ''}`;
  door.dataset.door = d.door;
  const lock = byId('lock-state');
  lock.textContent = d.lock === 'locked' ? T.locked : d.lock === 'unlocked' ? `${T.unlocked}${d.unlocked_until ? `（${T.until} ${time(d.unlocked_until).slice(11)}）` : ''}` : d.lock === 'alarm' ? T.lockAlarm : T.unknownLock;
  lock.className = d.lock === 'alarm' ? 'bad' : d.lock === 'unlocked' ? 'warn' : '';
  lock.dataset.lock = d.lock;
}

function drawStore(s) {
  const phase = byId('store-phase');
  phase.textContent = lang === 'en' ? s.phase_en : s.phase_zh;
  phase.dataset.phase = s.phase;
  const who = byId('store-who');
  const by = T.by[s.entered_by] || s.entered_by || '—';
  const how = lang === 'en' ? `entered by ${by} · since ${time(s.since)}` : `${by}进入 · ${time(s.since)} 起`;
  who.textContent = s.villager ? `${s.villager_name || s.villager}（${s.villager}） · ${how}` : T.nobody;
  const cart = byId('cart');
  cart.replaceChildren();
  if (!s.cart) return;
  if (s.kind === 'restock') {
    const rows = s.cart.stock.map((m) => el('tr', { 'data-sku': m.sku }, el('td', {}, m.name), el('td', {}, m.slot), el('td', {}, `${m.count > 0 ? '+' : ''}${m.count}`)));
    cart.append(el('table', { id: 'cart-table' }, el('tr', {}, el('th', {}, T.goods), el('th', {}, T.slot), el('th', {}, T.restock)), ...rows));
  } else {
    const rows = s.cart.lines.map((l) => el('tr', { 'data-sku': l.sku }, el('td', {}, l.name), el('td', {}, l.slot), el('td', {}, l.count), el('td', {}, l.points)));
    if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 4 }, T.cartEmpty)));
    cart.append(el('table', { id: 'cart-table' }, el('tr', {}, el('th', {}, T.goods), el('th', {}, T.slot), el('th', {}, T.count), el('th', {}, T.points)), ...rows));
    cart.append(el('p', { id: 'cart-total', 'data-points': s.cart.total_points }, `${T.total} ${s.cart.total_points} ${T.points}`));
  }
  if (s.cart.review.length > 0) cart.append(el('p', { class: 'bad' }, `${s.cart.review.length} ${T.review}: ${s.cart.review.map((r) => r.slot).join(', ')}`));
}

function drawDecisions(list) {
  const ul = byId('decisions');
  const items = list.map((e) => el('li', { 'data-decision': e.decision, class: e.unlocked ? 'ok' : '' }, el('time', { datetime: e.at }, time(e.at)), lang === 'en' ? e.words_en : e.words_zh, e.villager_name ? ` · ${e.villager_name}` : ''));
  ul.replaceChildren(...(items.length > 0 ? items : [el('li', {}, T.noDecisions)]));
}

function drawAlarms(list) {
  const ul = byId('alarms');
  const items = list.map((a) => el('li', { 'data-kind': a.kind, class: 'bad' }, el('time', { datetime: a.at }, time(a.at)), lang === 'en' ? a.en : a.zh));
  ul.replaceChildren(...(items.length > 0 ? items : [el('li', {}, T.noAlarms)]));
}

/** What a slot's scale shows: the weight at rest, or why there is none (moving, not answering). */
function weightText(s) {
  if (s.weight_g !== null) return `${s.weight_g} ${T.g}`;
  if (s.scale === 'ok') return T.scale.moving;
  return T.scale[s.scale] || T.scale.unknown;
}

function drawShelves(list) {
  const box = byId('shelf-weights');
  if (!box) return;
  if (list.length === 0) {
    box.replaceChildren(el('p', {}, T.noSlots));
    return;
  }
  const rows = list.map((s) => el('tr', { 'data-slot': s.slot, 'data-scale': s.scale }, el('td', {}, s.slot), el('td', {}, s.name || '—'), el('td', { class: 'weight', 'data-weight': s.weight_g ?? '' }, weightText(s)), el('td', { class: 'counted' }, s.counted ?? '—'), el('td', { class: 'stock' }, s.stock)));
  box.replaceChildren(el('table', { id: 'shelf-table' }, el('tr', {}, el('th', {}, T.slot), el('th', {}, T.goods), el('th', {}, T.weight), el('th', {}, T.counted), el('th', {}, T.stock)), ...rows));
}

function drawAll(p) {
  drawDoor(p.door);
  drawStore(p.store);
  drawDecisions(p.decisions);
  drawAlarms(p.alarms);
  drawShelves(p.shelves || []);
}

drawAll(JSON.parse(byId('live-data').textContent));
const status = byId('live-status');
const stream = new EventSource('/api/live');
const on = (name, draw) => stream.addEventListener(name, (m) => draw(JSON.parse(m.data)));
on('snapshot', drawAll);
on('door', drawDoor);
on('store', drawStore);
on('decisions', drawDecisions);
on('alarms', drawAlarms);
on('shelves', drawShelves);
stream.addEventListener('open', () => {
  status.textContent = T.live;
  status.dataset.connected = 'true';
});
stream.addEventListener('error', () => {
  status.textContent = T.lost;
  status.dataset.connected = 'false';
});
