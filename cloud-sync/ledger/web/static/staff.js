/* global LedgerErrors, sendOnce, document, location, URL, URLSearchParams, window */
/**
 * Staff sign-in (/login) and the first-run setup (/setup?token=…) of the ledger's pages. The
 * session lives in an HTTP-only cookie the page never sees; afterwards the page goes to `next`
 * (a path on this site only), by default the roll-up /town. Each form sends once at a time
 * (sending.js): a double click is one attempt, never two wrong passwords towards the lock. A
 * refusal is shown in Chinese, then English (errors.js); so is a first session check that got no
 * answer, beside the form, whose sending then asks again.
 */
'use strict';

const $ = (id) => document.getElementById(id);
const q = new URLSearchParams(location.search);
/**
 * Only a path of this site: never `//elsewhere` nor an absolute URL. Browsers drop tabs and
 * newlines from a URL and read `\` as `/`, so `/<TAB>/evil.example` would become
 * `//evil.example`: any control character or backslash is refused outright (as the store's
 * login does, edge/http/auth-routes.ts safeNext). The path is then parsed and checked again,
 * since `/.//evil.example` normalises to `//evil.example`.
 */
const next = () => {
  const n = q.get('next') || '';
  if (!n.startsWith('/') || [...n].some((c) => c < ' ' || c === '\u007f' || c === '\\')) return '/town';
  let url;
  try {
    url = new URL(n, location.origin);
  } catch {
    return '/town';
  }
  if (url.origin !== location.origin || url.pathname.startsWith('//')) return '/town';
  return url.pathname + url.search + url.hash;
};

async function post(url, body) {
  const res = await LedgerErrors.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });
  if (!res.ok) throw await LedgerErrors.refusal(res);
  return res.json().catch(() => ({}));
}

/** Whether the ledger has answered the session check: until it has, signing in asks it again first. */
let reached = false;

/** Which form the page shows, with what the first check found to say. */
function show(setup, message) {
  $('setup-view').hidden = !setup;
  $('login-view').hidden = setup;
  $(setup ? 'setup-error' : 'login-error').textContent = message;
  (setup ? $('s-username') : $('username')).focus();
}

/** Checks the session: signed in goes on to `next`; else the form (setup when the ledger has no account). Returns whether the page stays. */
async function start() {
  const setup = location.pathname === '/setup';
  let res;
  try {
    res = await LedgerErrors.fetch('/staff/session', { credentials: 'same-origin' });
  } catch (e) {
    // no answer: the form still shows, saying so, and sending it asks again
    show(setup, e.message);
    return true;
  }
  reached = true;
  const data = await res.json().catch(() => ({}));
  if (res.ok) return void location.replace(next());
  if (!setup && data.setup) return void location.replace(`/setup${location.search}`);
  show(setup, res.status === 401 ? '' : LedgerErrors.text(data, res.status));
  return true;
}

window.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void sendOnce($('login-form'), async () => {
      // the first check got no answer: ask again, and sign in only if the ledger now answers 'not signed in'
      if (!reached && (!(await start()) || !reached)) return;
      $('login-error').textContent = '';
      try {
        await post('/staff/login', { username: $('username').value.trim(), password: $('password').value });
        location.replace(next());
      } catch (e) {
        $('password').value = '';
        $('login-error').textContent = e.message;
      }
    });
  });
  $('s-role').addEventListener('change', () => {
    $('s-village-box').hidden = $('s-role').value !== 'village';
  });
  $('setup-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void sendOnce($('setup-form'), async () => {
      $('setup-error').textContent = '';
      const body = { username: $('s-username').value.trim(), display_name: $('s-name').value.trim(), role: $('s-role').value, password: $('s-password').value, password_confirm: $('s-password2').value };
      if (body.role === 'village') body.village = $('s-village').value.trim();
      if (q.get('token')) body.token = q.get('token');
      try {
        await post('/staff/setup', body);
        location.replace(next());
      } catch (e) {
        $('setup-error').textContent = e.message;
      }
    });
  });
  void start();
});
