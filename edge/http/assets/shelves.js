/* global document, EventSource, fetch, location, setTimeout */
// The products and shelves page's script (edge/http/shelves-page.ts): follows the live stream
// (/api/live, its `snapshot` and `shelves` messages) and puts each slot's weight, the count it
// makes and the stock into the table's cells in place, so the calibration wizard and the count
// show what the scale reads now without a reload. The forms never change: a value being typed
// stays. Without this script the page still works, with the weights as they were when it loaded.
// A stream the server refuses: see `follow` below.
'use strict';

const table = document.getElementById('shelves');
const lang = table && table.dataset.lang === 'en' ? 'en' : 'zh';
const T = {
  zh: { g: '克', moving: '称重中…', absent: '没有秤', no_reply: '秤没有回应', implausible: '读数异常', none: '—', live: '重量实时更新中', lost: '连接中断，正在重连…' },
  en: { g: 'g', moving: 'weighing…', absent: 'no scale', no_reply: 'scale not answering', implausible: 'implausible reading', none: '—', live: 'Weights update live', lost: 'Connection lost, reconnecting…' },
}[lang];

/** The same words as the page's own cells (shelves-page.ts weightWords). */
function weightText(s) {
  if (s.weight_g !== null) return `${s.weight_g} ${T.g}`;
  if (s.scale === 'ok') return T.moving;
  return T[s.scale] || T.none;
}

function setText(cell, text) {
  if (cell && cell.textContent !== text) cell.textContent = text;
}

function drawShelves(list) {
  for (const s of list) {
    const row = table.querySelector(`tr[data-slot="${globalThis.CSS.escape(s.slot)}"]`);
    if (!row) continue;
    setText(row.querySelector('td.weight'), weightText(s));
    setText(row.querySelector('td.counted'), s.counted === null ? T.none : String(s.counted));
    setText(row.querySelector('td.stock'), String(s.stock));
    row.dataset.weight = s.weight_g === null ? '' : String(s.weight_g);
  }
}

/** Said in both languages: the session has ended, and the way to sign in again. */
const SIGNED_OUT = { text: '登录已结束（在别处退出、改了密码或已过 8 小时），请重新登录 / Signed out (elsewhere, a new password, or the 8 hours are over): sign in again', link: '登录 Sign in' };
/** Waits before following again after a refusal, longer each time (ms). */
const RETRY_MS = [1000, 2000, 5000, 10000, 30000];
/** The login, which brings the maintainer back to this page. */
const loginHref = () => `/login?next=${encodeURIComponent(location.pathname + location.search)}`;

/** Whether the maintainer has typed in a form of the page: a redirect to the login would lose it. */
function typedIn() {
  const changed = (i) => (i.type === 'checkbox' || i.type === 'radio' ? i.checked !== i.defaultChecked : i.value !== i.defaultValue);
  return [...document.querySelectorAll('input, textarea')].some((i) => i.type !== 'hidden' && changed(i))
    || [...document.querySelectorAll('option')].some((o) => o.selected !== o.defaultSelected);
}

/** Signed in (the user), signed out (null), or not known (the server not reached: undefined). */
async function signedIn() {
  try {
    const r = await fetch('/api/me', { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' });
    return r.ok ? (await r.json()).user : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Follows /api/live. A connection that drops (the network, a restart) EventSource makes again by
 * itself; one the server refuses (a 401 once the session has ended, a 503 when it is busy) it
 * does not. Then: signed out → the login, which comes back here (with something typed in a form,
 * the page stays and says so in both languages with the sign-in link, and follows again once
 * signed in, in another tab say); signed in → follow again after a while, saying it reconnects.
 */
function follow(status, tries) {
  const stream = new EventSource('/api/live');
  stream.addEventListener('snapshot', (m) => drawShelves(JSON.parse(m.data).shelves || []));
  stream.addEventListener('shelves', (m) => drawShelves(JSON.parse(m.data)));
  stream.addEventListener('open', () => {
    tries = 0;
    status.textContent = T.live;
    status.dataset.connected = 'true';
  });
  stream.addEventListener('error', () => {
    if (status.dataset.connected !== 'signed-out') {
      status.textContent = T.lost;
      status.dataset.connected = 'false';
    }
    if (stream.readyState === EventSource.CLOSED) void refused(status, stream, tries);
  });
}

async function refused(status, stream, tries) {
  stream.close();
  const user = await signedIn();
  if (user === null && !typedIn()) {
    location.assign(loginHref());
    return;
  }
  if (user === null) {
    const link = document.createElement('a');
    link.href = loginHref();
    link.id = 'live-login';
    link.textContent = SIGNED_OUT.link;
    status.replaceChildren(SIGNED_OUT.text, ' ', link);
    status.dataset.connected = 'signed-out';
  }
  setTimeout(() => (user === null ? void waitForSignIn(status) : follow(status, tries + 1)), RETRY_MS[Math.min(tries, RETRY_MS.length - 1)]);
}

/** Signed out with something typed: follows again once signed in (another tab), asking every few seconds. */
async function waitForSignIn(status) {
  if (await signedIn()) {
    follow(status, 0);
    return;
  }
  setTimeout(() => void waitForSignIn(status), RETRY_MS[2]);
}

if (table) follow(document.getElementById('live-status'), 0);
