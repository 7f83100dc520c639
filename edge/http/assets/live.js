/* global document, fetch, LiveFollow */
// The live page's script (edge/http/live-page.ts): draws the picture embedded in the page, then
// every message of the stream /api/live (a dropped connection: EventSource reconnects by itself
// and gets a fresh snapshot; a refused one: assets/follow-live.js, loaded first). Text goes in with textContent
// only, never as HTML.
'use strict';

const lang = document.body.dataset.lang === 'en' ? 'en' : 'zh';
const timeZone = document.body.dataset.tz || undefined;
const WORDS = {
  zh: {
    open: '门开着', closed: '门关着', unknownDoor: '门状态未知', locked: '已上锁', unlocked: '已开锁', lockAlarm: '门锁告警', unknownLock: '门锁状态未知',
    until: '至', nobody: '店里没有人', cartEmpty: '购物车是空的', total: '合计', points: '分', goods: '商品', slot: '货位', count: '数量', restock: '补货数量',
    noDecisions: '还没有人来过', noAlarms: '没有告警', stock: '账上库存', weight: '秤上重量', counted: '按重量应有', g: '克', noSlots: '还没有货位',
    scale: { absent: '没有秤', moving: '称重中…', no_reply: '秤没有回应', implausible: '读数异常', unknown: '—' }, live: '实时更新中',
    noOpen: '没有未解除的告警', alarmsOff: '告警功能未启用（配置 alarms.enabled）', severity: { critical: '严重', warning: '警告' }, seen: (n) => `，共 ${n} 次`,
    acked: (a) => `已确认：${a.acknowledged_by}，${time(a.acknowledged_at)}${a.ack_note ? `，“${a.ack_note}”` : ''}`, notAcked: '未确认',
    ackButton: '确认', notePlaceholder: '备注（如：已通知电工，明早更换）', noteLabel: '确认备注', cannotAck: '账本无法写入，暂不能确认',
    you: (u) => `你（${u.display_name}，${{ maintainer: '门店维护员', village_admin: '村管理员' }[u.role] || u.role}）可以确认。`, ackDone: '已确认', ackBefore: (a) => `此告警已由 ${a.acknowledged_by} 先确认`, ackFailed: '确认失败：',
    clearButton: '解除', clearPlaceholder: '解除说明（如：村委已更正邻村的编号）', clearLabel: '解除说明', clearDone: '已解除', clearBefore: '此告警先前已解除', clearFailed: '解除失败：', lost: '连接中断，正在重连…', review: '处待核对', by: { face: '刷脸', card: '刷卡', qr: '扫码', admin: '管理员' }, entered: '进入', since: '起',
  },
  en: {
    open: 'Door open', closed: 'Door closed', unknownDoor: 'Door state unknown', locked: 'Locked', unlocked: 'Unlocked', lockAlarm: 'Lock alarm', unknownLock: 'Lock state unknown',
    until: 'until', nobody: 'Nobody inside', cartEmpty: 'The cart is empty', total: 'Total', points: 'points', goods: 'Item', slot: 'Slot', count: 'Count', restock: 'Restocked',
    noDecisions: 'Nobody has come yet', noAlarms: 'No alarms', stock: 'Stock', weight: 'On the scale', counted: 'Count by weight', g: 'g', noSlots: 'No slots yet',
    scale: { absent: 'no scale', moving: 'weighing…', no_reply: 'scale not answering', implausible: 'implausible reading', unknown: '—' }, live: 'Live',
    noOpen: 'No open alarms', alarmsOff: 'Alarms are turned off (alarms.enabled)', severity: { critical: 'critical', warning: 'warning' }, seen: (n) => `, ${n} times`,
    acked: (a) => `Acknowledged by ${a.acknowledged_by}, ${time(a.acknowledged_at)}${a.ack_note ? `: “${a.ack_note}”` : ''}`, notAcked: 'Not acknowledged',
    ackButton: 'Acknowledge', notePlaceholder: 'Note (e.g. electrician called, fixing it tomorrow)', noteLabel: 'Acknowledgement note', cannotAck: 'The ledger cannot write: cannot be acknowledged yet',
    you: (u) => `You (${u.display_name}, ${{ maintainer: 'maintainer', village_admin: 'village admin' }[u.role] || u.role}) may acknowledge.`, ackDone: 'Acknowledged', ackBefore: (a) => `Already acknowledged by ${a.acknowledged_by}`, ackFailed: 'Could not acknowledge: ',
    clearButton: 'Clear', clearPlaceholder: "Why (e.g. the village corrected the other village's record)", clearLabel: 'Why it is cleared', clearDone: 'Cleared', clearBefore: 'This alarm had been cleared already', clearFailed: 'Could not clear: ', lost: 'Connection lost, reconnecting…', review: 'lines to check', by: { face: 'face', card: 'card', qr: 'QR code', admin: 'admin' }, entered: 'entered by', since: 'since',
  },
};
const T = WORDS[lang];
const { loginHref, SIGNED_OUT } = LiveFollow; // assets/follow-live.js, loaded first

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

/** The open alarms last drawn (an acknowledgement's reply is drawn into them before the stream's message comes). */
let openAlarms = null;

/** The board's alarms not yet cleared: each acknowledged one by whom and when, the others with a note and a button; one only a maintainer can settle (`clearable`) with a clear form too. */
function drawOpenAlarms(list) {
  openAlarms = list;
  const ul = byId('open-alarms');
  // a note being typed survives a redraw (another alarm raised meanwhile)
  const typed = new Map([...ul.querySelectorAll('input[data-note]')].map((i) => [i.dataset.note, i.value]));
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.note : undefined;
  if (list === null) {
    ul.replaceChildren(el('li', {}, T.alarmsOff));
    return;
  }
  /** A note field and its button: `action` acknowledge or clear, posted as the /alarms page's forms are. */
  const form = (a, action, placeholder, label, text) => {
    const key = `${action} ${a.id}`;
    const note = el('input', { 'data-alarm': a.id, 'data-note': key, maxlength: 500, placeholder, 'aria-label': label });
    note.value = typed.get(key) || '';
    const button = el('button', { type: 'button', 'data-action': action, 'data-alarm': a.id }, text);
    button.addEventListener('click', () => postAlarm(a.id, action, note.value, button));
    return [note, button];
  };
  const items = list.map((a) => {
    const head = [el('time', { datetime: a.raised_at }, time(a.raised_at)), el('span', { class: a.severity === 'critical' ? 'bad' : 'warn' }, T.severity[a.severity] || a.severity), ' ', lang === 'en' ? a.en : a.zh, `: ${lang === 'en' ? a.detail : a.detail_zh || a.detail}`, a.seen > 1 ? T.seen(a.seen) : ''];
    let ack;
    if (a.acknowledged_at) ack = el('div', { class: 'ok acked' }, T.acked(a));
    else if (a.id === 0) ack = el('div', { class: 'bad' }, T.cannotAck);
    else ack = el('div', { class: 'ack' }, el('span', { class: 'bad' }, T.notAcked), ...form(a, 'acknowledge', T.notePlaceholder, T.noteLabel, T.ackButton));
    const clear = a.clearable ? [el('div', { class: 'ack clear' }, ...form(a, 'clear', T.clearPlaceholder, T.clearLabel, T.clearButton))] : [];
    return el('li', { 'data-alarm': a.id, 'data-kind': a.kind, 'data-acknowledged': a.acknowledged_at !== null }, ...head, ack, ...clear);
  });
  ul.replaceChildren(...(items.length > 0 ? items : [el('li', {}, T.noOpen)]));
  if (focused) {
    const again = [...ul.querySelectorAll('input[data-note]')].find((i) => i.dataset.note === focused);
    if (again) again.focus();
  }
}

/** Who is signed in, and the CSRF token every POST carries (GET /api/me). */
let me = null;
async function whoAmI(fresh) {
  if (!me || fresh) {
    me = fetch('/api/me', { credentials: 'same-origin', headers: { accept: 'application/json' } }).then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))));
    me.catch(() => { me = null; }); // asked again next time
  }
  return me;
}

/** What the last acknowledgement or clearing came to; `link` a sign-in link after it. */
function ackStatus(text, ok, link) {
  const p = byId('ack-status');
  p.replaceChildren(text);
  if (link) p.append(' ', el('a', { href: loginHref(), id: 'ack-login' }, link));
  p.className = ok ? 'ok' : 'bad';
}

/**
 * The same actions as the /alarms page's forms: POST /api/alarms/ID/acknowledge or /clear, with
 * the session and the CSRF token; audited there. The button waits for the answer (a double tap
 * sends one). An acknowledged alarm is drawn so at once, a cleared one leaves the list, before
 * the stream's message comes.
 */
async function postAlarm(id, action, note, button) {
  /** Why it failed, in both languages: `zh` and `en` after each language's "could not". */
  const failed = (zh, en) => (action === 'clear' ? `${WORDS.zh.clearFailed}${zh} / ${WORDS.en.clearFailed}${en}` : `${WORDS.zh.ackFailed}${zh} / ${WORDS.en.ackFailed}${en}`);
  button.disabled = true;
  try {
    const post = async (fresh) => {
      const { csrf_token: token } = await whoAmI(fresh);
      return fetch(`/api/alarms/${id}/${action}`, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': token },
        body: JSON.stringify(note.trim() ? { note: note.trim() } : {}),
      });
    };
    let res = await post(false);
    if (res.status === 403) res = await post(true); // the token of an older session: once more with a fresh one
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) {
      // the session has ended (signed out elsewhere, a new password, the 8 hours): say so, and where to sign in
      ackStatus(failed('登录已结束，请重新登录', 'you are signed out; sign in again'), false, SIGNED_OUT.link);
      button.disabled = false;
      return;
    }
    if (!res.ok) {
      ackStatus(failed(body.zh || body.message || `HTTP ${res.status}`, body.message || `HTTP ${res.status}`), false);
      button.disabled = false;
      return;
    }
    if (action === 'clear') {
      ackStatus(body.cleared ? T.clearDone : T.clearBefore, true);
      if (openAlarms) drawOpenAlarms(openAlarms.filter((a) => a.id !== id));
      return;
    }
    ackStatus(body.acknowledged ? T.ackDone : T.ackBefore(body.alarm), true);
    if (openAlarms) drawOpenAlarms(openAlarms.map((a) => (a.id === id ? { ...a, acknowledged_at: body.alarm.acknowledged_at, acknowledged_by: body.alarm.acknowledged_by, ack_note: body.alarm.ack_note } : a)));
  } catch (err) {
    const why = err && err.message ? err.message : String(err);
    ackStatus(failed(`网络错误（${why}）`, `network error (${why})`), false);
    button.disabled = false;
  }
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
  drawOpenAlarms(p.open_alarms === undefined ? null : p.open_alarms);
  drawShelves(p.shelves || []);
}

drawAll(JSON.parse(byId('live-data').textContent));
const status = byId('live-status');
const DRAW = { snapshot: drawAll, door: drawDoor, store: drawStore, decisions: drawDecisions, alarms: drawAlarms, open_alarms: drawOpenAlarms, shelves: drawShelves };
LiveFollow.follow({
  status,
  words: T,
  listen: (stream) => {
    for (const [name, draw] of Object.entries(DRAW)) stream.addEventListener(name, (m) => draw(JSON.parse(m.data)));
  },
  signedInAgain: () => {
    me = null; // the new session's CSRF token
  },
});
// who is signed in: the page says who may acknowledge, and who would
whoAmI(false).then((r) => {
  if (r.user) byId('ack-who').append(' ', T.you(r.user));
}, () => undefined);
