/* global LedgerErrors, LedgerSignedIn, sendOnce, document, fetch, location, window */
/**
 * The staff accounts page (/accounts): the town manages every account, a village account its
 * own village's (the server decides; this page only shows what it answers). List, add, set a
 * new password, unlock, disable and enable. Signed in by the ledger's HTTP-only session cookie;
 * every change carries the session's CSRF token. A refusal is shown beside the field the server
 * names, in Chinese then English (errors.js), and what was typed stays in the form. A form or
 * button that sends waits for its answer (sending.js): a double click sends once.
 */
'use strict';

const $ = (id) => document.getElementById(id);
let csrf = '';
let me;
/** The account whose password the password form sets. */
let pwTarget;

const toLogin = () => location.replace(`/login?next=${encodeURIComponent('/accounts')}`);
const when = (iso) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—');

async function call(method, url, body) {
  const headers = method === 'GET' ? {} : { 'x-csrf-token': csrf };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await LedgerErrors.fetch(url, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (res.status === 401) {
    toLogin();
    throw Object.assign(new Error('请先登录 / sign in first'), { status: 401 });
  }
  if (!res.ok) throw await LedgerErrors.refusal(res);
  return res.json().catch(() => ({}));
}

/** Clears the errors of the form whose ids start with `prefix`. */
function clearErrors(prefix) {
  for (const el of document.querySelectorAll(`[id^="${prefix}-"][id$="error"]`)) el.textContent = '';
}
/** Shows `e` beside its field (`prefix-FIELD-error`), else in the form's own line. */
function showError(prefix, e) {
  const el = (e.field && $(`${prefix}-${e.field}-error`)) || $(`${prefix}-error`);
  el.textContent = e.message;
  const input = e.field && $(`${prefix}-${e.field}`);
  if (input && !input.disabled) input.focus();
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function action(label, act, username) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'small';
  b.textContent = label;
  b.dataset.action = act;
  b.dataset.user = username;
  return b;
}

function statusOf(a) {
  if (a.disabled_at) return `已停用 disabled（${when(a.disabled_at)}）`;
  if (a.locked) return `已锁定 locked（至 ${when(a.locked_until)}）`;
  return '正常 active';
}

function render(data) {
  const names = new Map(data.villages.map((v) => [v.id, v.name]));
  const body = $('accounts');
  body.replaceChildren();
  for (const a of data.accounts) {
    const tr = document.createElement('tr');
    tr.dataset.user = a.username;
    const self = a.username === data.me;
    tr.append(
      cell(self ? `${a.username}（本人 you）` : a.username),
      cell(a.display_name),
      cell(a.role === 'town' ? '镇级 Town' : '村级 Village'),
      cell(a.village ? `${names.get(a.village) ?? a.village}（${a.village}）` : '—'),
      cell(when(a.last_login_at)),
      cell(statusOf(a), a.disabled_at || a.locked ? 'err' : ''),
    );
    const acts = document.createElement('td');
    acts.className = 'actions';
    acts.append(action(self ? '修改我的密码 My password' : '重设密码 New password', 'password', a.username));
    if (a.locked) acts.append(action('解锁 Unlock', 'unlock', a.username));
    if (a.disabled_at) acts.append(action('启用 Enable', 'enable', a.username));
    else if (!self) acts.append(action('停用 Disable', 'disable', a.username));
    tr.append(acts);
    body.append(tr);
  }
  if (data.accounts.length === 0) {
    const tr = document.createElement('tr');
    tr.append(cell('没有账号 / no accounts'));
    body.append(tr);
  }
  const n = data.accounts.length;
  $('scope').textContent = me.role === 'town' ? LedgerErrors.say(`全镇共 ${n} 个账号`, `${n} accounts in the town`) : LedgerErrors.say(`${names.get(me.village) ?? me.village} 共 ${n} 个账号`, `${n} accounts in ${names.get(me.village) ?? me.village}`);
  // The villages an account may be given: every village for the town, its own for a village.
  const sel = $('add-village');
  const chosen = sel.value;
  sel.replaceChildren();
  for (const v of data.villages) {
    const o = document.createElement('option');
    o.value = v.id;
    o.textContent = v.name === v.id ? v.id : `${v.name}（${v.id}）`;
    sel.append(o);
  }
  if (chosen && names.has(chosen)) sel.value = chosen;
  sel.disabled = me.role !== 'town';
}

async function load() {
  render(await call('GET', '/api/staff'));
}

function openPassword(username) {
  pwTarget = username;
  clearErrors('pw');
  for (const f of ['current_password', 'password', 'password_confirm']) $(`pw-${f}`).value = '';
  const self = username === me.username;
  $('pw-user').textContent = self ? `${username}（本人 you）` : username;
  $('pw-current-box').hidden = !self;
  $('password-card').hidden = false;
  $('password-card').scrollIntoView({ block: 'nearest' });
  $(self ? 'pw-current_password' : 'pw-password').focus();
}

async function rowAction(act, username) {
  $('list-ok').textContent = '';
  $('list-error').textContent = '';
  if (act === 'password') return openPassword(username);
  if (act === 'disable' && !window.confirm(`停用账号 ${username}？停用后该账号立即退出，不能再登录，可以重新启用。\nDisable ${username}? It is signed out at once and cannot sign in until enabled again.`)) return;
  try {
    await call('POST', `/api/staff/${encodeURIComponent(username)}/${act}`);
    $('list-ok').textContent = LedgerErrors.say(`${{ unlock: '已解锁', disable: '已停用', enable: '已启用' }[act]}：${username}`, `${{ unlock: 'unlocked', disable: 'disabled', enable: 'enabled' }[act]}: ${username}`);
  } catch (e) {
    $('list-error').textContent = e.message;
  }
  await load().catch((e) => void ($('list-error').textContent = e.message));
}

async function savePassword() {
  clearErrors('pw');
  const self = pwTarget === me.username;
  const body = { password: $('pw-password').value, password_confirm: $('pw-password_confirm').value };
  if (self) body.current_password = $('pw-current_password').value;
  try {
    const r = await call('PUT', `/api/staff/${encodeURIComponent(pwTarget)}/password`, body);
    // One's own new password ended every session of one's own; the answer signed this browser in again.
    if (r.csrf) csrf = r.csrf;
    $('password-card').hidden = true;
    $('list-ok').textContent = self ? LedgerErrors.say('已修改我的密码', 'your password is changed') : LedgerErrors.say(`已为 ${pwTarget} 设置新密码`, `a new password is set for ${pwTarget}`);
    await load();
  } catch (e) {
    showError('pw', e);
  }
}

async function addAccount() {
  clearErrors('add');
  $('add-ok').textContent = '';
  const v = (f) => $(`add-${f}`).value;
  const body = { username: v('username').trim(), display_name: v('display_name').trim(), role: v('role'), password: v('password'), password_confirm: v('password_confirm') };
  if (body.role === 'village') body.village = v('village');
  try {
    const a = await call('POST', '/api/staff', body);
    for (const f of ['username', 'display_name', 'password', 'password_confirm']) $(`add-${f}`).value = '';
    $('add-ok').textContent = LedgerErrors.say(`已添加账号 ${a.username}`, `account ${a.username} added`);
    await load();
  } catch (e) {
    showError('add', e);
  }
}

async function enter() {
  try {
    const s = await call('GET', '/staff/session');
    csrf = s.csrf;
    me = s.user;
    $('who').textContent = LedgerSignedIn.label(me);
    if (me.role !== 'town') {
      // A village account adds village accounts of its own village only.
      $('add-role').value = 'village';
      $('add-role').disabled = true;
    }
    await load();
  } catch (e) {
    if (e.status !== 401) $('enter-error').textContent = e.message;
    return;
  }
  $('main-view').hidden = false;
  $('logout').hidden = false;
}

window.addEventListener('DOMContentLoaded', () => {
  $('logout').addEventListener('click', async () => {
    await fetch('/staff/logout', { method: 'POST', headers: { 'x-csrf-token': csrf }, credentials: 'same-origin' }).catch(() => undefined);
    toLogin();
  });
  $('accounts').addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-action]');
    if (b) void sendOnce(b, () => rowAction(b.dataset.action, b.dataset.user));
  });
  $('add-role').addEventListener('change', () => {
    $('add-village-box').hidden = $('add-role').value !== 'village';
  });
  for (const [form, send] of [['add-form', addAccount], ['password-form', savePassword]]) {
    $(form).addEventListener('submit', (ev) => {
      ev.preventDefault();
      void sendOnce($(form), send);
    });
  }
  $('pw-cancel').addEventListener('click', () => {
    $('password-card').hidden = true;
  });
  void enter();
});
