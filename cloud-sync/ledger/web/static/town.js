/* global LedgerErrors, LedgerSignedIn, document, fetch, location, setTimeout, URL, URLSearchParams, window, Chart */
/**
 * The roll-up page: the town sees every village (or one), a village its own. Charts are
 * Chart.js, served by the ledger from node_modules. Staff are signed in by the ledger's
 * HTTP-only session cookie (/login); without it the page goes there. CSV is fetched and saved
 * through a temporary blob link, released once the download has started, so an error shows on the
 * page instead of as a downloaded file. A refusal is shown in Chinese, then English (errors.js).
 * The months' table has every kind of entry (refunded, adjusted with the reversals), so its
 * figures add up to the balances; the passbook form has its own choice of village (a town user's,
 * the roll-up's by default) and says what is missing beside it.
 */
'use strict';

const $ = (id) => document.getElementById(id);
const charts = {};
let who;
let csrf = '';

const toLogin = () => location.replace(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);

async function call(url) {
  const res = await LedgerErrors.fetch(url, { credentials: 'same-origin' });
  if (res.status === 401) {
    toLogin();
    throw Object.assign(new Error('请先登录 / sign in first'), { status: 401 });
  }
  if (!res.ok) throw await LedgerErrors.refusal(res);
  return res;
}

function query(extra) {
  const p = new URLSearchParams(extra);
  if ($('from').value) p.set('from', $('from').value);
  if ($('to').value) p.set('to', $('to').value);
  if (who.role === 'town' && $('village').value) p.set('village', $('village').value);
  return p.toString();
}
const root = () => (who.role === 'town' ? '/api/town/rollup' : `/api/villages/${encodeURIComponent(who.village)}/rollup`);

function draw(id, type, labels, datasets, extra) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart($(id), { type, data: { labels, datasets }, options: { responsive: true, maintainAspectRatio: false, animation: false, ...extra } });
}

function render(r) {
  const months = [...new Set(r.months.map((m) => m.month))].sort();
  const sum = (m, k) => r.months.filter((x) => x.month === m).reduce((a, x) => a + x[k], 0);
  draw('chart-months', 'bar', months, [
    { label: '发放 issued', data: months.map((m) => sum(m, 'issued')), backgroundColor: '#1e7b34' },
    { label: '兑换 redeemed', data: months.map((m) => sum(m, 'redeemed')), backgroundColor: '#b3261e' },
    { label: '扣减 deducted', data: months.map((m) => sum(m, 'deducted')), backgroundColor: '#8d6e63' },
  ]);
  draw('chart-participation', 'bar', r.participation.map((p) => (p.name === p.village ? p.name : `${p.name}（${p.village}）`)), [{ label: '参与率 participation %', data: r.participation.map((p) => Math.round(p.rate * 1000) / 10), backgroundColor: '#1565c0' }], { scales: { y: { min: 0, max: 100 } } });
  const items = new Map();
  for (const i of r.items) items.set(i.name, (items.get(i.name) || 0) + i.approvals);
  const topItems = [...items.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  // a count of approvals: whole-number ticks only (Chart.js would put 0.2, 0.4 between 0 and 1)
  draw('chart-items', 'bar', topItems.map((i) => i[0]), [{ label: '次数 approvals', data: topItems.map((i) => i[1]), backgroundColor: '#6a1b9a' }], { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } });
  const sales = r.sales.slice(0, 10);
  draw('chart-sales', 'bar', sales.map((s) => s.name), [{ label: '积分 points', data: sales.map((s) => s.points), backgroundColor: '#ef6c00' }], { indexAxis: 'y' });
  const body = $('months');
  body.replaceChildren();
  for (const m of r.months) {
    const tr = document.createElement('tr');
    for (const [v, num] of [[m.village], [m.village_name], [m.month], [m.issued, 1], [m.other_awards, 1], [m.deducted, 1], [m.redeemed, 1], [m.refunded, 1], [m.adjusted, 1], [m.villagers_awarded, 1]]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      if (num) td.className = 'num';
      tr.append(td);
    }
    body.append(tr);
  }
  // the month fields show the period shown (the default's, when none was chosen)
  $('from').value = r.period.from;
  $('to').value = r.period.to;
  $('scope').textContent = `${r.period.from} 至 ${r.period.to} · ${r.villages.length} 个村 / ${r.period.from} to ${r.period.to}, ${r.villages.length} villages`;
}

const ALARM_ZH = { lock_not_confirmed: '门锁未确认', scale_fault: '秤故障', camera_gone: '摄像头断开', disk_low: '磁盘空间不足', outbox_growing: '待同步记录积压', clock_jump: '系统时钟跳变', job_failed: '定时任务失败', reconcile_mismatch: '对账不一致', clock_skew: '本店时钟与村账本不一致', door_open: '门长时间未关', villager_id_taken: '村民编号已属别村' };
const when = (iso) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—');
const ackOf = (a) => (a.acknowledged_at ? `${a.acknowledged_by}，${when(a.acknowledged_at)}${a.ack_note ? `：${a.ack_note}` : ''}` : '未确认');

function row(cells, cls) {
  const tr = document.createElement('tr');
  if (cls) tr.className = cls;
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = String(c);
    tr.append(td);
  }
  return tr;
}

/** The stores' alarms as each store last reported them (retained over MQTT), and the latest cleared. */
function renderAlarms(stores) {
  const active = $('alarms');
  const recent = $('alarms-recent');
  active.replaceChildren();
  recent.replaceChildren();
  let n = 0;
  for (const s of stores) {
    const where = [s.village, s.status === 'offline' ? `${s.store}（离线）` : s.store];
    // the ledger's own word: rows the store had acknowledged that the ledger lacks (restored from an older copy)
    const m = s.missing_rows;
    if (m) {
      n++;
      active.append(row([...where, m.stuck ? '严重' : '警告', m.stuck ? '村账本缺少门店记录，门店无法重发' : '村账本缺少门店记录，门店正在重发', m.detail, when(m.since), '—'], m.stuck ? 'err' : ''));
    }
    for (const a of s.active) {
      n++;
      active.append(row([...where, a.severity === 'critical' ? '严重' : '警告', `${ALARM_ZH[a.kind] || a.kind}${a.subject ? `（${a.subject}）` : ''}`, a.detail, when(a.raised_at), ackOf(a)], a.severity === 'critical' && !a.acknowledged_at ? 'err' : ''));
    }
    // an alarm a maintainer cleared by hand at the store says who and why (the ledger's cleared_how)
    for (const a of s.recent) recent.append(row([...where, `${ALARM_ZH[a.kind] || a.kind}${a.subject ? `（${a.subject}）` : ''}`, a.detail, when(a.raised_at), `${when(a.cleared_at)}${a.cleared_how ? `（${a.cleared_how.zh}）` : ''}`, a.acknowledged_at ? ackOf(a) : '—']));
    // the ones the store's alarm history counted without listing them (an alarm that came and went often while the store was offline)
    const u = s.unlisted;
    if (u) {
      const first = u.groups.map((g) => g.first_raised_at).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
      const last = u.groups.map((g) => g.last_cleared_at).sort((a, b) => Date.parse(b) - Date.parse(a))[0];
      recent.append(row([...where, `另有 ${u.count} 条已解除的告警未逐条列出`, u.groups.map((g) => `${ALARM_ZH[g.kind] || g.kind}${g.subject ? `（${g.subject}）` : ''} ×${g.count}`).join('；'), first ? when(first) : '—', last ? when(last) : '—', '—']));
    }
  }
  if (n === 0) active.append(row(['—', '—', '—', '没有未解除的告警 / no active alarms', '', '', '']));
  const silent = stores.filter((s) => !s.list_at).length;
  $('alarms-scope').textContent = LedgerErrors.say(`${stores.length} 家门店，${n} 条未解除${silent ? `；${silent} 家门店还没有报告过告警状态` : ''}`, `${stores.length} stores, ${n} alarms active${silent ? `; ${silent} never reported` : ''}`);
}

/** A town account's choice of village, from the whole town's roll-up; asked again until it came. */
let listed = false;
async function listVillages() {
  if (who.role !== 'town' || listed) return;
  const r = await (await call('/api/town/rollup')).json();
  for (const p of r.participation) {
    for (const sel of [$('village'), $('pb-village')]) {
      const o = document.createElement('option');
      o.value = p.village;
      o.textContent = p.name === p.village ? p.name : `${p.name}（${p.village}）`;
      sel.append(o);
    }
  }
  listed = true;
}

async function refresh() {
  $('error').textContent = '';
  try {
    await listVillages();
    render(await (await call(`${root()}?${query({})}`)).json());
    const village = who.role === 'town' ? $('village').value : who.village;
    const url = who.role === 'town' ? `/api/town/alarms${village ? `?village=${encodeURIComponent(village)}` : ''}` : `/api/villages/${encodeURIComponent(village)}/alarms`;
    renderAlarms((await (await call(url)).json()).stores);
  } catch (e) {
    $('error').textContent = e.message;
  }
}

/**
 * How long a CSV's temporary blob: link outlives the click that starts its download. No event of
 * the page says the browser has read the blob: Chromium takes it at the click, but a browser that
 * reads it after the click's task (reported of Safari and some phones' browsers) fails a download
 * whose link was released at once. A minute is that many times over, and a day's CSVs are let go.
 */
const DOWNLOAD_LINK_GRACE_MS = 60_000;

async function csv(table) {
  try {
    const res = await call(`${root()}.csv?${query({ table })}`);
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '')?.[1] || `${table}.csv`;
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    try {
      a.click();
    } finally {
      a.remove();
      // the click has started the download: the link is let go after its grace (else each CSV stays in the tablet's memory while the page is open)
      setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_LINK_GRACE_MS);
    }
  } catch (e) {
    $('error').textContent = e.message;
  }
}

async function enter() {
  try {
    const s = await (await call('/staff/session')).json();
    csrf = s.csrf;
    who = s.user.role === 'town' ? { role: 'town' } : { role: 'village', village: s.user.village };
    $('who').textContent = LedgerSignedIn.label(s.user);
  } catch (e) {
    if (e.status !== 401) $('enter-error').textContent = e.message;
    return;
  }
  $('main-view').hidden = false;
  $('logout').hidden = false;
  const sel = $('village');
  sel.replaceChildren();
  if (who.role === 'town') {
    const all = document.createElement('option');
    all.value = '';
    all.textContent = '全镇 All villages';
    sel.append(all);
    const none = document.createElement('option');
    none.value = '';
    none.textContent = '请选择村 / choose a village';
    $('pb-village').replaceChildren(none);
  } else {
    $('pb-village-box').hidden = true;
    // a village's account reads its own village's roll-up, not the town's
    const small = document.createElement('small');
    small.textContent = 'Village roll-up';
    $('title').replaceChildren('本村积分治理汇总 ', small);
    const o = document.createElement('option');
    o.value = who.village;
    o.textContent = who.village;
    sel.append(o);
    sel.disabled = true;
  }
  await refresh();
}

window.addEventListener('DOMContentLoaded', () => {
  $('logout').addEventListener('click', async () => {
    await fetch('/staff/logout', { method: 'POST', headers: { 'x-csrf-token': csrf }, credentials: 'same-origin' }).catch(() => undefined);
    location.replace('/login?next=%2Ftown');
  });
  $('filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void refresh();
  });
  for (const b of document.querySelectorAll('[data-csv]')) b.addEventListener('click', () => void csv(b.dataset.csv));
  // the passbook's village follows the roll-up's choice; a town user may pick another by the form
  $('village').addEventListener('change', () => void ($('pb-village').value = $('village').value));
  $('passbook').addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('pb-error').textContent = '';
    const village = who.role === 'town' ? $('pb-village').value : who.village;
    if (!village) {
      $('pb-error').textContent = LedgerErrors.say('请先在“村”里选择一个村，再打开存折', 'choose the village (村) of the passbook first');
      // the field to choose in, and the message under the button, both in view
      $('pb-village').focus({ preventScroll: true });
      return void $('pb-error').scrollIntoView({ block: 'nearest' });
    }
    window.open(`/passbook?village=${encodeURIComponent(village)}&villager=${encodeURIComponent($('pb-villager').value.trim())}`, '_blank');
  });
  void enter();
});
