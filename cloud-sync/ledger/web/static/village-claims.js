/* global window */
/**
 * The village office's claims waiting for a decision: reported task claims, self-reports and
 * records the village filed (GET …/claims?status=reported), each with its item, villager, source
 * and evidence, under the terms it was filed (its item version's name, sign and range: an item
 * edited since changes none); approve with points within that range (POST …/approve) or reject with a
 * reason (POST …/reject). The server checks the range and the state; the page shows its answer.
 */
'use strict';

(() => {
  const office = window.VillageOffice;
  const { $, el, cell } = office;

  /** Task titles by id, for a claim's source. */
  let titles = new Map();

  /** A claim's evidence: its photo's link (`photo:ev-…`), its words (a witness's name), or both, the photo first. */
  function evidenceCell(c) {
    const td = cell('', 'evidence');
    const m = /^photo:(ev-[A-Za-z0-9_-]+)(?:\s+([\s\S]+))?$/.exec(c.evidence ?? '');
    if (!m) td.textContent = c.evidence ?? '—';
    else td.append(el('a', { href: office.api(`/evidence/${m[1]}`), target: '_blank', rel: 'noopener', textContent: '查看照片 Photo' }), ...(m[2] ? [` ${m[2]}`] : []));
    return td;
  }

  function sourceOf(c) {
    if (c.origin === 'task') return `任务：${titles.get(c.task_id) ?? c.task_id}`;
    return c.origin === 'self' ? '村民自行申报' : '村里登记';
  }

  /**
   * Whose claim was decided, for the line that says so: a record the village filed is the
   * village's (王五 reported nothing), a self-report the villager's own, a task's their report.
   */
  function filedAs(d, who) {
    if (d.origin === 'village') return { zh: `村里登记的 ${who}「${d.item}」`, en: `the village's record for ${who}` };
    if (d.origin === 'self') return { zh: `${who} 自行申报的「${d.item}」`, en: `${who}'s own claim` };
    return { zh: `${who} 认领的任务「${titles.get(d.task) ?? d.task}」`, en: `${who}'s task report` };
  }

  function decideCell(c) {
    const td = cell('', 'decide');
    if (!office.manage) {
      td.textContent = '—';
      return td;
    }
    const terms = office.termsOf(c);
    const known = terms.points_min !== undefined && terms.points_max !== undefined;
    const fixed = known && terms.points_min === terms.points_max;
    const points = el('input', { type: 'number', inputMode: 'numeric', min: '1', step: '1', name: 'points', className: 'points', value: String(c.points ?? (fixed ? terms.points_min : '')), placeholder: known ? `${terms.points_min}–${terms.points_max}` : '', ariaLabel: '分值' });
    const approve = el('form', { className: 'inline', noValidate: true, dataset: { act: 'approve' } }, [points, ' 分 ', el('button', { type: 'submit', className: 'small', textContent: '通过 Approve' })]);
    const reason = el('input', { type: 'text', name: 'reason', maxLength: 300, placeholder: '驳回理由 Reason', ariaLabel: '驳回理由 Reason' });
    const reject = el('form', { className: 'inline', noValidate: true, dataset: { act: 'reject' } }, [reason, ' ', el('button', { type: 'submit', className: 'small', textContent: '驳回 Reject' })]);
    td.append(approve, el('p', { className: 'err', dataset: { error: 'points' } }), reject, el('p', { className: 'err', dataset: { error: 'reason' } }), el('p', { className: 'err', dataset: { error: '' } }));
    return td;
  }

  const render = (claims) => office.claimTable('claims', claims, (c, who) => {
    // as filed: the item edited since changes no claim
    const terms = office.termsOf(c);
    return el('tr', { dataset: { claim: c.id, villager: c.villager_id, origin: c.origin, task: c.task_id ?? '', item: terms.name } }, [
      cell(office.when(c.created_at)),
      cell(who),
      cell(terms.direction && terms.points_min !== undefined ? `${terms.name}（${terms.direction === 'deduct' ? '扣' : '加'} ${office.range(terms)}）` : terms.name),
      cell(sourceOf(c)),
      evidenceCell(c),
      cell(c.note ?? '—'),
      decideCell(c),
    ]);
  }, { empty: '没有待审核的申报 / nothing waiting', columns: 7 });

  async function load() {
    $('claims-error').textContent = '';
    try {
      const [claims, tasks] = await Promise.all([office.call('GET', office.api('/claims?status=reported')), office.call('GET', office.api('/tasks'))]);
      titles = new Map(tasks.tasks.map((t) => [t.id, t.title]));
      await render(claims.claims);
    } catch (e) {
      $('claims-error').textContent = e.message;
    }
  }

  async function decide(form) {
    const row = form.closest('tr');
    const claim = row.dataset.claim;
    for (const p of row.querySelectorAll('[data-error]')) p.textContent = '';
    $('claims-ok').textContent = '';
    const v = await office.villagerOf(row.dataset.villager);
    const what = filedAs(row.dataset, office.villagerLabel(v.error ? { id: row.dataset.villager } : v));
    try {
      if (form.dataset.act === 'approve') {
        const typed = form.elements.points.value.trim();
        const r = await office.call('POST', office.api(`/claims/${encodeURIComponent(claim)}/approve`), typed === '' ? {} : { points: Number(typed) });
        const pts = r.entry.points;
        $('claims-ok').textContent = `已通过 ${what.zh}：${pts > 0 ? '+' : ''}${pts} 分，当前余额 ${r.balance} 分 / approved ${what.en}: ${pts > 0 ? '+' : ''}${pts}, balance ${r.balance}`;
      } else {
        const reason = form.elements.reason.value.trim();
        if (reason === '') return void office.showRowError(row, { field: 'reason', message: '请写明驳回理由 / give a reason' });
        await office.call('POST', office.api(`/claims/${encodeURIComponent(claim)}/reject`), { reason });
        $('claims-ok').textContent = `已驳回 ${what.zh} / rejected ${what.en}`;
      }
    } catch (e) {
      return void office.showRowError(row, e);
    }
    // decided: the claim leaves the list, and the villager's balance changed
    office.forgetVillagers();
    await Promise.all([load(), office.loadVillagers?.(), office.loadDecided?.()]);
  }

  window.addEventListener('DOMContentLoaded', () => {
    $('claims').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const form = ev.target.closest('form[data-act]');
      if (form) void office.submitting(form, () => decide(form));
    });
  });
  office.parts.push({ load });
  office.loadClaims = load;
})();
