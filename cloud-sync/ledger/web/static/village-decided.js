/* global window */
/**
 * The village office's approved points (已通过的积分): the latest approved and reversed claims
 * (GET …/claims?status=approved and ?status=reversed), each with its villager, item and points,
 * and for a village account 冲正, reversing an approval made in error (POST …/claims/:claim/reverse
 * with the reason, required, and confirmed before it is sent). The ledger keeps the award and adds
 * an entry of the opposite points; the row then says 已冲正 with the reason, and the line above the
 * table the points taken back and the villager's balance. Reversing twice changes nothing (the
 * API answers `duplicate`), so a double click reverses once.
 */
'use strict';

(() => {
  const office = window.VillageOffice;
  const { $, el, cell } = office;
  /** The most rows shown, the newest decisions first. */
  const SHOWN = 50;

  const signed = (n) => (n > 0 ? `+${n}` : String(n));
  /** An approved claim's points as they counted, by the sign it was filed under: a deduction's are taken. */
  const pointsOf = (c) => (office.termsOf(c).direction === 'deduct' ? -c.points : c.points);

  function reverseCell() {
    const td = cell('', 'decide manage');
    const reason = el('input', { type: 'text', name: 'reason', maxLength: 300, placeholder: '冲正理由 Reason', ariaLabel: '冲正理由 Reason' });
    td.append(
      el('form', { className: 'inline', noValidate: true, dataset: { act: 'reverse' } }, [reason, ' ', el('button', { type: 'submit', className: 'small', textContent: '冲正 Reverse' })]),
      el('p', { className: 'err', dataset: { error: 'reason' } }),
      el('p', { className: 'err', dataset: { error: '' } }),
    );
    return td;
  }

  const render = (claims) => office.claimTable('decided', claims, (c, who) => {
    const reversed = c.status === 'reversed';
    return el('tr', { dataset: { claim: c.id, villager: c.villager_id, status: c.status } }, [
      cell(office.when(c.decided_at)),
      cell(who),
      cell(office.termsOf(c).name),
      cell(signed(pointsOf(c)), 'num'),
      cell(reversed ? `已冲正 reversed：${c.reason ?? ''}` : '已通过 approved', reversed ? 'muted status' : 'ok status'),
      ...(office.manage ? [reversed ? cell('—', 'manage') : reverseCell()] : []),
    ]);
  }, { empty: '还没有通过的积分 / nothing approved yet', columns: office.manage ? 6 : 5 });

  async function load() {
    $('decided-error').textContent = '';
    try {
      const [approved, reversed] = await Promise.all(['approved', 'reversed'].map((s) => office.call('GET', office.api(`/claims?status=${s}`))));
      const claims = [...approved.claims, ...reversed.claims].sort((a, b) => (b.decided_at ?? '').localeCompare(a.decided_at ?? '') || a.id.localeCompare(b.id));
      await render(claims.slice(0, SHOWN));
    } catch (e) {
      $('decided-error').textContent = e.message;
    }
  }

  async function reverse(form) {
    const row = form.closest('tr');
    const claim = row.dataset.claim;
    for (const p of row.querySelectorAll('[data-error]')) p.textContent = '';
    $('decided-ok').textContent = '';
    const reason = form.elements.reason.value.trim();
    if (reason === '') return void office.showRowError(row, { field: 'reason', message: '请写明冲正理由 / give a reason' });
    const who = row.cells[1].textContent;
    const what = `${row.cells[2].textContent}（${row.cells[3].textContent} 分）`;
    if (!window.confirm(`冲正 ${who} 的「${what}」？将另记一笔相反的分值，理由：${reason}\nReverse this approval for ${row.dataset.villager}? An entry of the opposite points is added. Reason: ${reason}`)) return;
    let r;
    try {
      r = await office.call('POST', office.api(`/claims/${encodeURIComponent(claim)}/reverse`), { reason });
    } catch (e) {
      return void office.showRowError(row, e);
    }
    const pts = r.entry.points;
    $('decided-ok').textContent = `${r.duplicate ? '已冲正过，未重复冲正：' : '已冲正：'}${who} 的「${what}」，${signed(pts)} 分，当前余额 ${r.balance} 分 / reversed: ${signed(pts)}, balance ${r.balance}`;
    // the balance changed, and the row says 已冲正
    office.forgetVillagers();
    await Promise.all([load(), office.loadVillagers?.()]);
  }

  window.addEventListener('DOMContentLoaded', () => {
    $('decided').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const form = ev.target.closest('form[data-act=reverse]');
      if (form && office.manage) void office.submitting(form, () => reverse(form));
    });
  });
  office.parts.push({ load });
  office.loadDecided = load;
})();
