/* global document, EventSource, location, fetch, setTimeout, clearTimeout */
// The admin page's script (edge/http/admin-page.ts): keeps the page's changing parts current
// without reloading it. When the live stream (/api/live) says the door, the session, the cart or
// the alarms changed, and every few seconds otherwise (the sync and the parts' health are not on
// the stream), it asks /api/admin-page for the parts' HTML (a 304 when nothing changed) and puts
// each part that differs in place. The forms that are typed in are not parts: nothing typed is
// lost. A page in a background tab does not ask; it catches up when shown again.
'use strict';

const REFRESH_MS = 5000;
/** A burst of stream messages (a villager handling goods) becomes one request. */
const SOON_MS = 300;
/** The page's language, as the server rendered it (`<html lang>`). */
const T = document.documentElement.lang === 'en' ? { live: 'Updating live', lost: 'Connection lost, retrying…' } : { live: '实时更新中', lost: '连接中断，正在重试…' };

const status = document.getElementById('page-status');
const shown = new Map();
let etag = null;
let timer = null;
let busy = false;
let again = false;

function show(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function apply(parts) {
  for (const [name, html] of Object.entries(parts)) {
    if (shown.get(name) === html) continue;
    const box = document.querySelector(`[data-part="${name}"]`);
    if (!box) continue;
    // the server escaped every value (pages.ts); the CSP runs no script that HTML could carry
    box.innerHTML = html;
    shown.set(name, html);
  }
}

function schedule(ms) {
  if (timer !== null) clearTimeout(timer);
  timer = setTimeout(refresh, ms);
}

async function refresh() {
  timer = null;
  if (busy) {
    again = true;
    return;
  }
  if (document.hidden) return;
  busy = true;
  try {
    const res = await fetch(`/api/admin-page${location.search}`, { headers: etag ? { 'if-none-match': etag } : {}, cache: 'no-store', credentials: 'same-origin' });
    if (res.status === 401) {
      // signed out (elsewhere, or the 8 hours are over): the login brings the maintainer back here
      location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
      return;
    }
    if (res.status === 200) {
      etag = res.headers.get('etag');
      apply((await res.json()).parts);
    } else if (res.status !== 304) {
      throw new Error(`HTTP ${res.status}`);
    }
    show('live', T.live);
  } catch {
    show('lost', T.lost);
  } finally {
    busy = false;
    schedule(again ? SOON_MS : REFRESH_MS);
    again = false;
  }
}

const soon = () => schedule(SOON_MS);
const stream = new EventSource('/api/live');
for (const name of ['snapshot', 'door', 'store', 'decisions', 'alarms']) stream.addEventListener(name, soon);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) soon();
});
show('live', T.live);
schedule(REFRESH_MS);
