/* global LedgerClockMark, LedgerErrors, sendOnce, formRequest, document, location, setTimeout, clearTimeout, URLSearchParams, window, VillagerClaims */
/**
 * The villager's phone page: log in (PIN or one-time code), then balance, the store-door QR
 * code (a fresh short-lived token before the old one expires), open tasks to claim and own
 * claims to report (villager-claims.js, drawn with what this file loads), and the history with reasons (a date the ledger's receipt
 * because the store's clock ran ahead marked, as the passbook: clock-mark.js). Every action after login
 * sends the session's CSRF token; text from the ledger is set with textContent, never as HTML.
 * A button or form that sends waits for its answer (sending.js): a double tap sends once; and
 * what it sends carries a request id, so a tap again after a lost answer makes nothing twice.
 * A refusal is shown in Chinese, then English (errors.js).
 */
'use strict';

const $ = (id) => document.getElementById(id);
const state = { village: '', villager: '', csrf: '', qrTimer: 0, qrEpoch: 0, rules: new Map(), tasks: new Map(), self: undefined };

async function api(method, url, body, isForm) {
  const headers = {};
  if (method !== 'GET') headers['x-csrf-token'] = state.csrf;
  if (body !== undefined && !isForm) headers['content-type'] = 'application/json';
  const res = await LedgerErrors.fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : isForm ? body : JSON.stringify(body) });
  if (!res.ok) throw await LedgerErrors.refusal(res);
  return res.headers.get('content-type')?.includes('json') ? res.json() : {};
}
const base = () => `/api/villages/${encodeURIComponent(state.village)}`;
const li = (...parts) => {
  const el = document.createElement('li');
  for (const p of parts) el.append(p);
  return el;
};
const span = (text, cls) => {
  const el = document.createElement('span');
  el.textContent = text;
  if (cls) el.className = cls;
  return el;
};
const signed = (n) => span(n > 0 ? `+${n}` : String(n), n >= 0 ? 'plus' : 'minus');
const day = (iso) => new Date(iso).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' });

/**
 * Takes the store-door QR code off the page (at sign-out, or when the session has ended): the
 * picture, its token and its 有效至 time. A token already issued still opens the door until it
 * expires (the store checks it offline; docs/governance-villagers.md), but the page no longer
 * holds it, nor shows it to the next person who signs in on this phone.
 */
function clearQr() {
  clearTimeout(state.qrTimer);
  // a code asked for before and answered after this is not shown (refreshQr)
  state.qrEpoch++;
  $('qr').removeAttribute('src');
  delete $('qr').dataset.token;
  delete $('qr').dataset.expiresAt;
  $('qr-note').textContent = LedgerErrors.say('在超市门口的扫码器上扫一扫', 'scan it at the store door');
  $('qr-error').textContent = '';
}

function showLogin(message) {
  clearQr();
  $('main-view').hidden = true;
  $('logout').hidden = true;
  $('login-view').hidden = false;
  const q = new URLSearchParams(location.search);
  if (q.get('village') && !$('village').value) $('village').value = q.get('village');
  $('login-error').textContent = message || '';
}

function useTab(code) {
  $('tab-pin').setAttribute('aria-selected', String(!code));
  $('tab-code').setAttribute('aria-selected', String(code));
  $('pin-box').hidden = code;
  $('code-box').hidden = !code;
}

async function login() {
  const code = $('tab-code').getAttribute('aria-selected') === 'true';
  const body = { village: $('village').value.trim(), villager: $('villager').value.trim() };
  if (!body.village || !body.villager) return void ($('login-error').textContent = LedgerErrors.say('请填写村编号和村民编号', 'give the village and villager ids'));
  if (code) body.code = $('code').value.trim();
  else body.pin = $('pin').value.trim();
  if (!(body.code || body.pin)) return void ($('login-error').textContent = code ? LedgerErrors.say('请输入登录码', 'give the one-time code') : LedgerErrors.say('请输入密码', 'give the PIN'));
  try {
    await api('POST', '/m/login', body);
    $('pin').value = '';
    $('code').value = '';
    await start();
  } catch (e) {
    $('login-error').textContent = e.message;
  }
}

async function refreshQr() {
  clearTimeout(state.qrTimer);
  const epoch = state.qrEpoch;
  try {
    const q = await api('GET', `${base()}/me/qr`);
    if (epoch !== state.qrEpoch) return;
    $('qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(q.svg)}`;
    $('qr').dataset.token = q.token;
    $('qr').dataset.expiresAt = q.expires_at;
    $('qr-error').textContent = '';
    const until = new Date(q.expires_at).toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai' });
    $('qr-note').textContent = LedgerErrors.say(`在超市门口的扫码器上扫一扫 · 有效至 ${until}，会自动更新`, `scan it at the store door; valid until ${until}, renewed by itself`);
    state.qrTimer = setTimeout(refreshQr, q.refresh_in_s * 1000);
  } catch (e) {
    if (epoch !== state.qrEpoch) return;
    if (e.status === 401) return showLogin(LedgerErrors.say('登录已过期，请重新登录', 'the session has ended; sign in again'));
    $('qr').removeAttribute('src');
    $('qr-error').textContent = e.message;
    state.qrTimer = setTimeout(refreshQr, 15000);
  }
}

/** A date in words, 2026年3月1日 (village time), for a line another line names. */
const dayWords = (iso) => new Date(iso).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: 'long', day: 'numeric' });

/**
 * What a line says: its reason; a reversal (冲正) says which entry it undoes, by that entry's
 * date, reason and points (`h.reverses`, from the ledger), then why: 冲正：撤销 2026年3月1日「参加村民会议」加的 2 分，原因：重复登记.
 */
function historyWords(h) {
  const r = h.reverses;
  if (!r) return h.reason || h.kind;
  const why = (h.reason || '').replace(/^冲正[:：]\s*/, '');
  const points = r.points >= 0 ? `加的 ${r.points} 分` : `扣的 ${-r.points} 分`;
  return `冲正：撤销 ${dayWords(r.date)}「${r.reason || '积分'}」${points}${why ? `，原因：${why}` : ''}`;
}

function renderHistory(history) {
  const ul = $('history');
  ul.replaceChildren();
  for (const h of history) {
    const what = span(`${day(h.created_at)} ${historyWords(h)}`);
    if (h.store_clock_ahead) what.append(LedgerClockMark.mark());
    ul.append(li(what, signed(h.points)));
  }
  if (history.length === 0) ul.append(li(span(LedgerErrors.say('还没有积分记录', 'no points yet'), 'muted')));
  LedgerClockMark.note($('clock-note'), history);
}

async function load() {
  // every item, retired ones too, for the evidence a claim needs (a claim carries its own sign and name); those in force to report
  const [me, tasks, items, rules] = await Promise.all([api('GET', `${base()}/me`), api('GET', `${base()}/tasks?status=open`), api('GET', `${base()}/items`), api('GET', `${base()}/items?all=true`)]);
  state.rules = new Map([...rules.items, ...items.items].map((i) => [i.code, i]));
  VillagerClaims.renderSelfItems(items.items);
  for (const t of tasks.tasks) state.tasks.set(t.id, t.title);
  $('balance').textContent = String(me.balance);
  // what the stores lent beyond the balance (the goods taken past it), repaid from the next points earned
  $('debt').hidden = !(me.debt > 0);
  $('debt').textContent = me.debt > 0 ? `还欠 ${me.debt} 分 / owes ${me.debt} points` : '';
  VillagerClaims.renderTasks(tasks.tasks, me.claims);
  VillagerClaims.renderClaims(me.claims);
  renderHistory(me.history);
}

async function start() {
  let s;
  try {
    s = await api('GET', '/m/session');
  } catch (e) {
    return showLogin(e.status === 401 ? '' : e.message);
  }
  Object.assign(state, { village: s.village, villager: s.villager, csrf: s.csrf, self: formRequest(`self-report:${s.village}/${s.villager}`) });
  $('who').textContent = `${s.name}（${s.villager}）`;
  $('village-name').textContent = s.village_name;
  $('login-view').hidden = true;
  $('main-view').hidden = false;
  $('logout').hidden = false;
  await Promise.all([load().catch((e) => void ($('task-error').textContent = e.message)), refreshQr()]);
}

window.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    // a double tap is one login: two would count a wrong PIN twice towards the lock
    void sendOnce($('login-form'), login);
  });
  $('self-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    // a double tap sends nothing more while the photo uploads and the report is sent
    void sendOnce($('self-form'), VillagerClaims.selfReport);
  });
  $('self-item').addEventListener('change', VillagerClaims.showEvidence);
  $('tab-pin').addEventListener('click', () => useTab(false));
  $('tab-code').addEventListener('click', () => useTab(true));
  $('logout').addEventListener('click', async () => {
    // the code off the screen at the tap, not once the ledger answers (a slow network)
    clearQr();
    await api('POST', '/m/logout').catch(() => undefined);
    showLogin(LedgerErrors.say('已退出', 'signed out'));
  });
  void start();
});
