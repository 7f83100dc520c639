/* global window */
/**
 * The village office's tasks: the list with claimants (GET …/tasks), publishing one under a rule
 * item in force that adds points (POST …/tasks; the server checks the item and the points), and
 * closing an open one to new claims (POST …/tasks/:task/close). The publish form sends its request
 * id (sending.js formRequest): pressed again after a lost answer or a reload, it publishes nothing
 * twice; after a publish the next form gets a new one.
 */
'use strict';

(() => {
  const office = window.VillageOffice;
  const { $, el, cell } = office;
  /** The publish form's request id, per village (a town account publishes nothing). */
  let form;
  const publishForm = () => (form?.village === office.village ? form : (form = { village: office.village, request: window.formRequest(`task:${office.village}`) }));

  /** The add items in force today, for the publish form (GET …/items answers those in force). */
  async function loadItemChoices() {
    const inForce = await office.call('GET', office.api('/items'));
    const sel = $('task-item');
    const chosen = sel.value;
    sel.replaceChildren(el('option', { value: '', textContent: '请选择细则 / choose an item' }));
    for (const i of inForce.items.filter((x) => x.direction === 'add')) sel.append(el('option', { value: i.code, textContent: `${i.name}（${office.range(i)}）` }));
    if ([...sel.options].some((o) => o.value === chosen)) sel.value = chosen;
    showRange();
  }

  /** The chosen item's range beside the points, and its fixed value filled in. */
  function showRange() {
    const i = office.items.get($('task-item').value);
    $('task-range').textContent = i ? `（${office.range(i)}${i.points_min === i.points_max ? '，可不填' : ''}）` : '';
    $('task-points').placeholder = i ? `${i.points_min}–${i.points_max}` : '';
  }

  function render(tasks) {
    const body = $('tasks');
    body.replaceChildren();
    for (const t of tasks) {
      const tr = el('tr', { dataset: { task: t.id } });
      const acts = cell('', 'actions');
      if (office.manage && t.status === 'open') {
        acts.append(el('form', { className: 'inline', noValidate: true, dataset: { act: 'close' } }, [el('button', { type: 'submit', className: 'small', textContent: '关闭任务 Close' })]));
      } else acts.textContent = '—';
      acts.append(el('p', { className: 'err', dataset: { error: '' } }));
      tr.append(
        cell(t.title),
        cell(office.itemName(t.item_code)),
        cell(String(t.points), 'num'),
        cell(`${t.claimants ?? 0} / ${t.max_claimants}`, 'num'),
        cell(t.status === 'open' ? '进行中 open' : `已关闭 closed（${office.when(t.closed_at)}）`, t.status === 'open' ? 'ok' : 'muted'),
        cell(office.when(t.created_at)),
        acts,
      );
      body.append(tr);
    }
    if (tasks.length === 0) office.emptyRow(body, 7, '还没有任务 / no tasks yet');
  }

  async function load() {
    $('tasks-error').textContent = '';
    try {
      const [tasks] = await Promise.all([office.call('GET', office.api('/tasks')), office.manage ? loadItemChoices() : undefined]);
      render(tasks.tasks);
    } catch (e) {
      $('tasks-error').textContent = e.message;
    }
  }

  async function publish() {
    office.clearErrors('task');
    $('tasks-ok').textContent = '';
    const title = $('task-title').value.trim();
    const item = $('task-item').value;
    if (title === '') return void office.showError('task', { field: 'title', message: '请填写任务名称 / give a title' });
    if (item === '') return void office.showError('task', { field: 'item', message: '请选择积分细则 / choose a rule item' });
    const request = publishForm().request;
    const body = { title, item, max_claimants: Number($('task-max_claimants').value), request: request.id };
    const points = $('task-points').value.trim();
    if (points !== '') body.points = Number(points);
    try {
      const t = await office.call('POST', office.api('/tasks'), body);
      request.renew();
      $('task-title').value = '';
      $('task-points').value = '';
      $('task-ok').textContent = `已发布任务「${t.title}」，${t.points} 分 / published`;
    } catch (e) {
      office.showError('task', e);
      // the id went with another form before (its task is in the list now): the next press is a new form
      if (e.status === 409 && e.field === 'request') {
        request.renew();
        await load();
      }
      return;
    }
    await load();
  }

  async function close(form) {
    const row = form.closest('tr');
    const title = row.cells[0].textContent;
    $('tasks-ok').textContent = '';
    row.querySelector('[data-error=""]').textContent = '';
    if (!window.confirm(`关闭任务「${title}」？关闭后村民不能再认领，已认领的照常审核。\nClose the task "${title}"? Villagers can no longer claim it; claims made are decided as usual.`)) return;
    try {
      await office.call('POST', office.api(`/tasks/${encodeURIComponent(row.dataset.task)}/close`));
      $('tasks-ok').textContent = `已关闭任务「${title}」/ closed`;
    } catch (e) {
      return void office.showRowError(row, e);
    }
    await load();
  }

  window.addEventListener('DOMContentLoaded', () => {
    $('task-item').addEventListener('change', showRange);
    $('task-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      void office.submitting($('task-form'), publish);
    });
    $('tasks').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const form = ev.target.closest('form[data-act=close]');
      if (form) void office.submitting(form, () => close(form));
    });
  });
  office.parts.push({ load });
})();
