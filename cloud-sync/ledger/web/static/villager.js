/* global LedgerClockMark, LedgerErrors, sendOnce, formRequest, photoKey, shrinkPhoto, document, location, setTimeout, clearTimeout, FormData, URLSearchParams, window */
/**
 * The villager's phone page: log in (PIN or one-time code), then balance, the store-door QR
 * code (a fresh short-lived token before the old one expires), open tasks to claim, own
 * claims to report (with a photo, and a witness's name where the item needs a witness; a
 * claim's points signed by its item's direction, not counted when rejected or reversed), and the history with reasons (a date the ledger's receipt
 * because the store's clock ran ahead marked, as the passbook: clock-mark.js). Every action after login
 * sends the session's CSRF token; text from the ledger is set with textContent, never as HTML.
 * A button or form that sends waits for its answer (sending.js): a double tap sends once; and
 * what it sends carries a request id, so a tap again after a lost answer makes nothing twice.
 * A refusal is shown in Chinese, then English (errors.js).
 */
'use strict';

const $ = (id) => document.getElementById(id);
const state = { village: '', villager: '', csrf: '', qrTimer: 0, rules: new Map(), tasks: new Map(), self: undefined };
const STATUS_ZH = { claimed: '已认领 claimed', reported: '待审核 in review', approved: '已通过 approved', rejected: '未通过 rejected', reversed: '已撤销 reversed' };

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
/** Whether a claim's item needs a witness (its name is the claim's evidence, after a photo if one is sent too). */
const needsWitness = (code) => state.rules.get(code)?.evidence === 'witness';
/** Said when the witness's name is left empty: names the field. */
const NO_WITNESS = () => LedgerErrors.say('请填写“证明人姓名”：这件事需要有人作证', "fill in the witness's name (证明人姓名): this item needs a witness");
/**
 * A claim's points as the history shows them: a deduction's with a minus, not green; a rejected
 * or reversed claim's struck through, greyed and said not counted (its state is in the line).
 */
function claimPoints(c) {
  if (!c.points) return span('');
  const n = state.rules.get(c.item_code)?.direction === 'deduct' ? -Math.abs(c.points) : c.points;
  if (c.status !== 'rejected' && c.status !== 'reversed') return signed(n);
  const el = span(n > 0 ? `+${n}` : String(n), 'void');
  el.title = '不计入积分 not counted';
  el.setAttribute('aria-label', `${el.textContent} 不计入积分 not counted`);
  return el;
}
const day = (iso) => new Date(iso).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' });

function showLogin(message) {
  clearTimeout(state.qrTimer);
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
  try {
    const q = await api('GET', `${base()}/me/qr`);
    $('qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(q.svg)}`;
    $('qr').dataset.token = q.token;
    $('qr').dataset.expiresAt = q.expires_at;
    $('qr-error').textContent = '';
    const until = new Date(q.expires_at).toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai' });
    $('qr-note').textContent = LedgerErrors.say(`在超市门口的扫码器上扫一扫 · 有效至 ${until}，会自动更新`, `scan it at the store door; valid until ${until}, renewed by itself`);
    state.qrTimer = setTimeout(refreshQr, q.refresh_in_s * 1000);
  } catch (e) {
    if (e.status === 401) return showLogin(LedgerErrors.say('登录已过期，请重新登录', 'the session has ended; sign in again'));
    $('qr').removeAttribute('src');
    $('qr-error').textContent = e.message;
    state.qrTimer = setTimeout(refreshQr, 15000);
  }
}

function renderTasks(tasks, claims) {
  const mine = new Set(claims.map((c) => c.task_id));
  const ul = $('tasks');
  ul.replaceChildren();
  for (const t of tasks) {
    const info = span(`${t.title}（${state.rules.get(t.item_code)?.name || t.item_code}，${t.points} 分，已认领 ${t.claimants}/${t.max_claimants}）`);
    const btn = document.createElement('button');
    btn.className = 'small';
    btn.type = 'button';
    btn.dataset.task = t.id;
    const full = t.claimants >= t.max_claimants;
    btn.textContent = mine.has(t.id) ? '已认领 Claimed' : full ? '已满 Full' : '认领 Claim';
    btn.disabled = mine.has(t.id) || full;
    btn.addEventListener('click', () => claim(t.id, btn));
    ul.append(li(info, btn));
  }
  if (tasks.length === 0) ul.append(li(span(LedgerErrors.say('暂时没有可认领的任务', 'no tasks to claim now'), 'muted')));
}

function renderClaims(claims) {
  const ul = $('claims');
  ul.replaceChildren();
  for (const c of claims) {
    const title = c.task_id && state.tasks.get(c.task_id) ? state.tasks.get(c.task_id) : state.rules.get(c.item_code)?.name || c.item_code;
    const info = span(`${title} · ${STATUS_ZH[c.status] || c.status}${c.reason ? `（${c.reason}）` : ''}`);
    if (c.status !== 'claimed') {
      ul.append(li(info, claimPoints(c)));
      continue;
    }
    const box = document.createElement('span');
    const witness = needsWitness(c.item_code);
    // an item that needs a witness asks for their name (in words an elderly villager reads at once), and takes a photo too
    const name = witness ? Object.assign(document.createElement('input'), { type: 'text', maxLength: 200, placeholder: '例如：王大妈', id: `witness-${c.id}` }) : undefined;
    const file = Object.assign(document.createElement('input'), { type: 'file', accept: 'image/*' });
    file.setAttribute('aria-label', '凭证照片 Photo');
    const btn = document.createElement('button');
    btn.className = 'small';
    btn.type = 'button';
    btn.textContent = '上报完成 Done';
    btn.dataset.claim = c.id;
    btn.addEventListener('click', () => report(c.id, { photo: file.files[0], ...(name ? { witness: name.value.trim() } : {}) }, btn));
    // a witness's name under its words, seen while typing (a placeholder goes away)
    if (name) box.append(Object.assign(document.createElement('label'), { htmlFor: name.id, textContent: '证明人姓名（必填）Witness name' }), name);
    box.append(file, btn);
    ul.append(li(info, box));
  }
  if (claims.length === 0) ul.append(li(span(LedgerErrors.say('还没有申报', 'no claims yet'), 'muted')));
}

function renderHistory(history) {
  const ul = $('history');
  ul.replaceChildren();
  for (const h of history) {
    const what = span(`${day(h.created_at)} ${h.reason || h.kind}`);
    if (h.store_clock_ahead) what.append(LedgerClockMark.mark());
    ul.append(li(what, signed(h.points)));
  }
  if (history.length === 0) ul.append(li(span(LedgerErrors.say('还没有积分记录', 'no points yet'), 'muted')));
  LedgerClockMark.note($('clock-note'), history);
}

async function load() {
  // every item, retired ones too, for what the claims are (direction, evidence); those in force to report
  const [me, tasks, items, rules] = await Promise.all([api('GET', `${base()}/me`), api('GET', `${base()}/tasks?status=open`), api('GET', `${base()}/items`), api('GET', `${base()}/items?all=true`)]);
  state.rules = new Map([...rules.items, ...items.items].map((i) => [i.code, i]));
  renderSelfItems(items.items);
  for (const t of tasks.tasks) state.tasks.set(t.id, t.title);
  $('balance').textContent = String(me.balance);
  renderTasks(tasks.tasks, me.claims);
  renderClaims(me.claims);
  renderHistory(me.history);
}

/** The add items a villager may report without a task, with their points and what evidence they need. */
function renderSelfItems(items) {
  const sel = $('self-item');
  const chosen = sel.value;
  sel.replaceChildren();
  const none = document.createElement('option');
  none.value = '';
  none.textContent = '请选择事项 / choose an item';
  sel.append(none);
  const NEED = { photo: '，需照片', witness: '，需证明人', none: '' };
  for (const i of items.filter((x) => x.direction === 'add')) {
    const o = document.createElement('option');
    o.value = i.code;
    o.dataset.evidence = i.evidence;
    o.textContent = `${i.name}（${i.points_min === i.points_max ? i.points_min : `${i.points_min}–${i.points_max}`} 分${NEED[i.evidence] || ''}）`;
    sel.append(o);
  }
  sel.value = chosen;
  showEvidence();
}

/** The self-report form asks for what its item needs: a witness's name where it needs one; a photo is taken always. */
function showEvidence() {
  $('self-witness-box').hidden = $('self-item').selectedOptions[0]?.dataset.evidence !== 'witness';
}

/**
 * The photos uploaded from this page, by request id: the JPEG made of each and, once the ledger
 * kept it, its reference. The request id is made of the photo's bytes and what it is for (a
 * claim, or the self-report form's request id), photo-key.js: a report sent again (a tap after a
 * refusal or a lost answer) names the same photo; an upload whose answer was lost, sent again,
 * is answered with the photo kept; and the same photo chosen again after a reload, when this map
 * is empty, is the same upload too, answered with the photo kept, never kept twice. Another photo,
 * or the same photo for another claim, is a new upload.
 */
const uploads = new Map();

/** Said when the ledger answered a photo this page did not know it had sent (chosen again after a reload). */
const PHOTO_AGAIN = () => LedgerErrors.say('这张照片已上传过，未重复保存', 'this photo was uploaded before; it is not kept twice');

/** The ledger's reference (`photo:ev-…`) to `file` uploaded for `scope`, once; `again` when the ledger had it from before this page. */
async function uploaded(file, scope) {
  const request = photoKey(scope, await file.arrayBuffer());
  const known = uploads.has(request);
  let u = uploads.get(request);
  if (!u) uploads.set(request, (u = { jpeg: undefined, ref: undefined }));
  if (u.ref) return { ref: u.ref, again: false };
  u.jpeg ??= await shrinkPhoto(file);
  const upload = new FormData();
  upload.append('request', request);
  upload.append('photo', u.jpeg);
  let answer;
  try {
    answer = await api('POST', `${base()}/evidence`, upload, true);
  } catch (e) {
    if (e.field === 'request') uploads.delete(request);
    throw e;
  }
  u.ref = answer.ref;
  return { ref: u.ref, again: Boolean(answer.duplicate) && !known };
}

/** A claim's evidence: the photo's reference, the witness's name, or both, the photo first (governance/evidence.ts reads it so). */
const evidenceOf = (sent, witness) => [sent?.ref, witness].filter(Boolean).join(' ');

async function selfReport() {
  const form = state.self;
  $('self-error').textContent = '';
  $('self-ok').textContent = '';
  const item = $('self-item').value;
  if (!item) return void ($('self-error').textContent = LedgerErrors.say('请选择申报的事项', 'choose what you report'));
  const witness = needsWitness(item) ? $('self-witness').value.trim() : '';
  if (needsWitness(item) && !witness) {
    $('self-witness').focus();
    return void ($('self-error').textContent = NO_WITNESS());
  }
  try {
    const body = { item, request: form.id };
    const note = $('self-note').value.trim();
    if (note) body.note = note;
    const photo = $('self-photo').files[0];
    const sent = photo ? await uploaded(photo, `self-report:${form.id}`) : undefined;
    const evidence = evidenceOf(sent, witness);
    if (evidence) body.evidence = evidence;
    await api('POST', `${base()}/reports`, body);
    $('self-form').reset();
    showEvidence();
    form.renew();
    $('self-ok').textContent = [LedgerErrors.say('已提交，等待村里审核', 'sent; the village will review it'), ...(sent?.again ? [PHOTO_AGAIN()] : [])].join('\n');
    await load();
  } catch (e) {
    // the form was sent before with other content (its report is listed): the next tap is a new form
    if (e.status === 409 && e.field === 'request') {
      form.renew();
      await load().catch(() => undefined);
    }
    $('self-error').textContent = e.message;
  }
}

/** Claims a task; the button waits for the answer (the list drawn anew replaces it). */
const claim = (task, btn) => sendOnce(btn, async () => {
  $('task-error').textContent = '';
  try {
    await api('POST', `${base()}/tasks/${encodeURIComponent(task)}/claim`);
    await load();
  } catch (e) {
    $('task-error').textContent = e.message;
  }
});

/** Reports a claim done, with its photo or its witness's name; the button waits while the photo uploads and the report is sent. */
const report = (claimId, { photo, witness }, btn) => sendOnce(btn, async () => {
  $('claim-error').textContent = '';
  $('claim-ok').textContent = '';
  if (witness === '') {
    $(`witness-${claimId}`)?.focus();
    return void ($('claim-error').textContent = NO_WITNESS());
  }
  try {
    const sent = photo ? await uploaded(photo, `claim:${claimId}`) : undefined;
    const evidence = evidenceOf(sent, witness);
    const body = evidence ? { evidence } : {};
    await api('POST', `${base()}/claims/${encodeURIComponent(claimId)}/report`, body);
    if (sent?.again) $('claim-ok').textContent = PHOTO_AGAIN();
    await load();
  } catch (e) {
    $('claim-error').textContent = e.message;
  }
});

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
    void sendOnce($('self-form'), selfReport);
  });
  $('self-item').addEventListener('change', showEvidence);
  $('tab-pin').addEventListener('click', () => useTab(false));
  $('tab-code').addEventListener('click', () => useTab(true));
  $('logout').addEventListener('click', async () => {
    await api('POST', '/m/logout').catch(() => undefined);
    showLogin(LedgerErrors.say('已退出', 'signed out'));
  });
  void start();
});
