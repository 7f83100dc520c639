/* global LedgerClockMark, LedgerErrors, document, location, URLSearchParams, window */
/**
 * The printable passbook (积分存折): every entry of one villager with the balance after it.
 * On /m/passbook the villager's own (their session cookie); on /passbook the village office
 * names village and villager, signed in as staff (the ledger's session cookie, from /login).
 * A refusal is shown in Chinese, then English (errors.js). A line dated by the ledger's receipt
 * because the store's clock ran ahead (`store_clock_ahead`) is marked, and a note says why
 * (clock-mark.js, as the phone page's history). A line the ledger received after its month had
 * ended (`late_received`, a store offline over the month's end) says 补录于 (late, received) and when.
 * `?limit=N` keeps the last N lines, the balance
 * before them brought forward (承前结余), as the API does; a limit the API refuses is shown.
 * `?month=YYYY-MM` (the 月份 field) keeps the lines of that village month under the balance
 * brought forward, with the month's subtotals and its closing balance (the API's `month`). A line
 * shows its date and time (HH:mm, village time). A reversal (冲正) names the line it undoes (its
 * reason, date and points), and that line says 已冲正 with the reversal's date, each linked to the
 * other when both are on the page.
 */
'use strict';

const $ = (id) => document.getElementById(id);
const mine = location.pathname.startsWith('/m/');
/** The page's `?limit=N` and `?month=YYYY-MM`, passed on to the API (which checks them), or nothing. */
const limit = () => {
  const q = new URLSearchParams(location.search);
  const out = new URLSearchParams();
  for (const k of ['limit', 'month']) if (q.get(k)) out.set(k, q.get(k));
  return out.size === 0 ? '' : `?${out}`;
};
const fmtDate = (iso) => new Date(iso).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' });
const fmtTime = (iso) => new Date(iso).toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const fmtWhen = (iso) => `${fmtDate(iso)} ${fmtTime(iso)}`;
const signed = (n) => (n > 0 ? `+${n}` : String(n));

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

/** A line's date, its time under it (HH:mm, village time). */
function dateCell(l) {
  const cell = td(fmtDate(l.date), 'date');
  const time = document.createElement('small');
  time.className = 'time';
  time.textContent = fmtTime(l.date);
  cell.append(time);
  if (l.store_clock_ahead) cell.append(LedgerClockMark.mark());
  // received after its month had ended (补录: the store was offline over the month's end)
  if (l.late_received) {
    const late = document.createElement('small');
    late.className = 'late-mark';
    late.textContent = `补录于 ${fmtWhen(l.late_received)} late, received`;
    cell.append(late);
  }
  return cell;
}

/** A link to line `seq` when it is on the page, else the words alone. */
function toLine(seq, text, shown) {
  if (!shown.has(seq)) return document.createTextNode(text);
  const a = document.createElement('a');
  a.href = `#line-${seq}`;
  a.textContent = text;
  return a;
}

/** The reason: a reversal names what it undoes; a line undone says 已冲正 and when. */
function reasonCell(l, shown) {
  const cell = td('', 'reason');
  if (l.reverses) {
    const r = l.reverses;
    const why = (l.reason || '').replace(/^冲正[:：]\s*/, '');
    cell.append('冲正 ', toLine(r.seq, `「${r.reason || '—'}」${fmtWhen(r.date)} ${signed(r.points)}`, shown), why ? `：${why}` : '');
  } else {
    cell.textContent = l.reason || '';
  }
  if (l.reversed_by) {
    const tag = document.createElement('small');
    tag.className = 'reversed-tag';
    tag.append(toLine(l.reversed_by.seq, `已冲正 reversed ${fmtWhen(l.reversed_by.date)}`, shown));
    cell.append(tag);
  }
  return cell;
}

/** The month's subtotals (`p.month`), which add up to its closing balance. */
function renderMonth(m) {
  $('month-sums').hidden = !m;
  if (!m) return;
  $('month-title').textContent = `${m.month.slice(0, 4)}年${Number(m.month.slice(5))}月`;
  const figures = [['opening', m.opening], ['earned', m.earned], ['deducted', m.deducted], ['spent', m.spent], ['refunded', m.refunded], ['adjusted', m.adjusted], ['closing', m.closing]];
  for (const [k, v] of figures) $(`m-${k}`).textContent = k === 'adjusted' ? signed(v) : String(v);
}

function render(p) {
  $('village-name').textContent = p.village_name;
  $('name').textContent = p.name;
  $('villager').textContent = p.villager;
  $('printed').textContent = fmtDate(p.printed_at);
  $('opening').textContent = p.opening !== 0 || p.month ? `承前结余 ${p.opening} 分` : '';
  const body = $('lines');
  body.replaceChildren();
  const shown = new Set(p.lines.map((l) => l.seq));
  for (const l of p.lines) {
    const tr = document.createElement('tr');
    tr.id = `line-${l.seq}`;
    if (l.reversed_by) tr.className = 'reversed';
    tr.append(dateCell(l), reasonCell(l, shown), td(l.kind), td(l.points > 0 ? String(l.points) : '', 'num'), td(l.points < 0 ? String(-l.points) : '', 'num'), td(String(l.balance), 'num'));
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
  renderMonth(p.month);
  $('balance-label').textContent = p.month ? '月末结余 Closing balance' : '当前结余 Balance';
  $('balance').textContent = String(p.month ? p.month.closing : p.balance);
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

/** The 月份 field: the month chosen goes into the address (`?month=`), empty shows every line. */
function pickMonth(reopen) {
  const q = new URLSearchParams(location.search);
  $('month').value = q.get('month') || '';
  $('month-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q2 = new URLSearchParams(location.search);
    if ($('month').value) q2.set('month', $('month').value);
    else q2.delete('month');
    window.history.replaceState(null, '', `${location.pathname}${q2.size ? `?${q2}` : ''}`);
    void reopen();
  });
}

window.addEventListener('DOMContentLoaded', () => {
  $('print').addEventListener('click', () => window.print());
  pickMonth(() => (mine ? open() : open($('ask-village').value.trim(), $('ask-villager').value.trim())));
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
