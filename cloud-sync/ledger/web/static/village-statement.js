/* global window */
/**
 * The village office's month statement (月度积分对账): for the month chosen (this village month
 * at first), every villager's balance brought forward, what they earned, lost (扣分), spent at the
 * store, got back, had adjusted (冲正, expiry) and their balance at the month's end, from
 * GET …/statement?month= (the server counts; opening + earned − deducted − spent + refunded +
 * adjusted = closing), with the village's 合计 and a link to each villager's passbook of that
 * month; 下载 CSV is the same as GET …/statement.csv?month= (Chinese column names first, the
 * village's name and the villagers' names on every line). The month's late entries (补录: made in
 * it, received by the ledger after it ended, a store offline over its end) are listed under the
 * table with the time each was made and received, and its store.
 */
'use strict';

(() => {
  const office = window.VillageOffice;
  const { $, el, cell } = office;
  const FIGURES = ['opening', 'earned', 'deducted', 'spent', 'refunded', 'adjusted', 'closing'];
  const signed = (n) => (n > 0 ? `+${n}` : String(n));
  /** The village month (UTC+8) of now, `YYYY-MM`. */
  const thisMonth = () => new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 7);

  const figureCells = (r) => FIGURES.map((k) => cell(k === 'adjusted' ? signed(r[k]) : String(r[k]), `num ${k}`));

  const when = (iso) => new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hourCycle: 'h23' });
  /** The month's late entries (补录), or nothing. */
  function showLate(late) {
    $('statement-late').hidden = late.length === 0;
    $('statement-late-rows').replaceChildren(...late.map((l) => el('tr', { dataset: { entry: l.id } }, [
      cell(l.villager), cell(l.name), cell(signed(l.points), 'num'), cell(l.store), cell(when(l.made_at)), cell(when(l.received_at)),
    ])));
  }

  async function load() {
    const month = $('statement-month').value || thisMonth();
    $('statement-month').value = month;
    $('statement-error').textContent = '';
    $('statement-csv').href = office.api(`/statement.csv?month=${encodeURIComponent(month)}`);
    try {
      const s = await office.call('GET', office.api(`/statement?month=${encodeURIComponent(month)}`));
      $('statement-title').textContent = `${s.village_name}（${s.village}）${s.month.slice(0, 4)}年${Number(s.month.slice(5))}月 · ${s.rows.length} 位村民 villagers`;
      $('statement').replaceChildren(...s.rows.map((r) => el('tr', { dataset: { villager: r.villager } }, [
        cell(r.villager), cell(r.name), ...figureCells(r),
        el('td', {}, [el('a', { href: `/passbook?village=${encodeURIComponent(s.village)}&villager=${encodeURIComponent(r.villager)}&month=${encodeURIComponent(s.month)}`, target: '_blank', rel: 'noopener', textContent: '存折 Passbook' })]),
      ])));
      if (s.rows.length === 0) office.emptyRow($('statement'), 10, '本村还没有村民 / no villagers yet');
      $('statement-total').replaceChildren(el('tr', {}, [cell('合计 Total'), cell(''), ...figureCells(s.totals), cell('')]));
      showLate(s.late);
    } catch (e) {
      $('statement-error').textContent = e.message;
    }
  }

  window.addEventListener('DOMContentLoaded', () => {
    $('statement-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      void office.submitting($('statement-form'), load);
    });
  });
  office.parts.push({ load });
  office.loadStatement = load;
})();
