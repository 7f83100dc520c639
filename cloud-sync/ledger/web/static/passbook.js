/* global LedgerClockMark, LedgerErrors, document, location, URLSearchParams, window */
/**
 * The printable passbook (积分存折): every entry of one villager with the balance after it.
 * On /m/passbook the villager's own (their session cookie); on /passbook the village office
 * names village and villager, signed in as staff (the ledger's session cookie, from /login).
 * A refusal is shown in Chinese, then English (errors.js). A line dated by the ledger's receipt
 * because the store's clock ran ahead (`store_clock_ahead`) is marked, and a note says why
 * (clock-mark.js, as the phone page's history). `?limit=N` keeps the last N lines, the balance
 * before them brought forward (承前结余), as the API does; a limit the API refuses is shown.
 */
'use strict';

const $ = (id) => document.getElementById(id);
const mine = location.pathname.startsWith('/m/');
/** The page's `?limit=N`, passed on to the API (which checks it), or nothing. */
const limit = () => {
  const n = new URLSearchParams(location.search).get('limit');
  return n === null || n === '' ? '' : `?limit=${encodeURIComponent(n)}`;
};
const fmtDate = (iso) => new Date(iso).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' });

async function getJson(url) {
  const res = await LedgerErrors.fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw await LedgerErrors.refusal(res);
  return res.json().catch(() => ({}));
}

function td(text, cls) {
  const el = document.createElement('td');
  el.textContent = text;
  if (cls) el.className = cls;
  return el;
}

function render(p) {
  $('village-name').textContent = p.village_name;
  $('name').textContent = p.name;
  $('villager').textContent = p.villager;
  $('printed').textContent = fmtDate(p.printed_at);
  $('opening').textContent = p.opening !== 0 ? `承前结余 ${p.opening} 分` : '';
  const body = $('lines');
  body.replaceChildren();
  for (const l of p.lines) {
    const tr = document.createElement('tr');
    const date = td(fmtDate(l.date), 'date');
    if (l.store_clock_ahead) date.append(LedgerClockMark.mark());
    tr.append(date, td(l.reason || '', 'reason'), td(l.kind), td(l.points > 0 ? String(l.points) : '', 'num'), td(l.points < 0 ? String(-l.points) : '', 'num'), td(String(l.balance), 'num'));
    body.append(tr);
  }
  if (p.lines.length === 0) {
    const tr = document.createElement('tr');
    const cell = td('暂无记录 / no entries');
    cell.colSpan = 6;
    tr.append(cell);
    body.append(tr);
  }
  LedgerClockMark.note($('clock-note'), p.lines);
  $('balance').textContent = String(p.balance);
  $('book').hidden = false;
}

async function open(village, villager) {
  $('error').textContent = '';
  try {
    if (mine) {
      const s = await getJson('/m/session');
      render(await getJson(`/api/villages/${encodeURIComponent(s.village)}/me/passbook${limit()}`));
    } else {
      render(await getJson(`/api/villages/${encodeURIComponent(village)}/villagers/${encodeURIComponent(villager)}/passbook${limit()}`));
    }
  } catch (e) {
    if (e.status === 401 && !mine) return void location.replace(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    $('error').textContent = e.status === 401 ? '请先登录 / sign in first' : e.message;
  }
}

window.addEventListener('DOMContentLoaded', () => {
  $('print').addEventListener('click', () => window.print());
  if (mine) return void open();
  $('back').href = '/town';
  const q = new URLSearchParams(location.search);
  $('ask').hidden = false;
  $('ask-village').value = q.get('village') || '';
  $('ask-villager').value = q.get('villager') || '';
  $('ask-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void open($('ask-village').value.trim(), $('ask-villager').value.trim());
  });
  if (q.get('village') && q.get('villager')) void open(q.get('village'), q.get('villager'));
});
