/* global LedgerErrors, photoKey, shrinkPhoto, FormData, window */
/**
 * The village office's record form (登记加扣分): the village files an item of its rule library for
 * a villager, a deduction (乱扔垃圾, 建筑材料乱堆占道, …) or an award (POST …/reports with
 * `villager`). The villager is picked by id or by name (the villagers listed, village.js; anyone
 * else by id through the lookup GET …/villagers/:id), the item among those in force (GET …/items),
 * the points within its range, a note, and the evidence the item asks for: a photo, shrunk (photo-shrink.js) and uploaded first
 * (POST …/evidence for that villager), or a witness's name and, if there is one, a photo too. Like every report the record waits
 * for approval in the claims list (village-claims.js): the API files it `reported`, and this page
 * does not approve it by itself.
 *
 * Sent once: the form's request id (sending.js formRequest) goes with every send until the ledger
 * has taken the form, so a double click or a press again after a lost answer files one record
 * (docs/request-ids.md); the photo's upload id is made of its bytes and the form (photo-key.js),
 * so it is kept once too. A village account only: the town gets no form, and the API refuses it.
 */
'use strict';

(() => {
  const office = window.VillageOffice;
  const { $, el } = office;
  const say = LedgerErrors.say;
  const NEED = { photo: '，需照片 / photo', witness: '，需证明人 / witness', none: '' };
  /** The record form's request id, per village. */
  let form;
  const recordForm = () => (form?.village === office.village ? form : (form = { village: office.village, request: window.formRequest(`record:${office.village}`) }));
  /** The items in force (GET …/items), by code. */
  let choices = new Map();
  /** Photos uploaded for the form, by upload id: their reference once kept. */
  const uploads = new Map();

  const signOf = (i) => (i.direction === 'deduct' ? '扣' : '加');

  /** The items in force, deductions first (the office's daily record), each with its points and the evidence it needs. */
  async function loadItemChoices() {
    const inForce = (await office.call('GET', office.api('/items'))).items;
    choices = new Map(inForce.map((i) => [i.code, i]));
    const sel = $('record-item');
    const chosen = sel.value;
    sel.replaceChildren(el('option', { value: '', textContent: '请选择细则 / choose an item' }));
    for (const [dir, label] of [['deduct', '扣分项 Deductions'], ['add', '加分项 Additions']]) {
      const group = el('optgroup', { label });
      for (const i of inForce.filter((x) => x.direction === dir)) group.append(el('option', { value: i.code, textContent: `${i.name}（${signOf(i)} ${office.range(i)}${NEED[i.evidence] || ''}）` }));
      if (group.children.length > 0) sel.append(group);
    }
    if (choices.has(chosen)) sel.value = chosen;
    showItem();
  }

  /** The chosen item's range beside the points (its fixed value filled in) and the evidence it asks for. */
  function showItem() {
    const i = choices.get($('record-item').value);
    const fixed = i && i.points_min === i.points_max;
    $('record-range').textContent = i ? `（${signOf(i)} ${office.range(i)}${fixed ? '' : '，在此范围内填写 / within this range'}）` : '';
    const points = $('record-points');
    points.placeholder = i ? `${i.points_min}–${i.points_max}` : '';
    // a value the page filled in for the item chosen before goes with it (one typed by hand stays)
    if (points.dataset.filled !== undefined && points.value === points.dataset.filled) points.value = '';
    delete points.dataset.filled;
    if (fixed) {
      points.value = String(i.points_min);
      points.dataset.filled = points.value;
    }
    // a witness item takes a photo too, if there is one
    $('record-photo-field').hidden = i?.evidence !== 'photo' && i?.evidence !== 'witness';
    $('record-witness-field').hidden = i?.evidence !== 'witness';
  }

  /** The villagers listed (village.js), as the villager field's suggestions: `name（id）`. */
  office.onVillagers = () => {
    $('record-villagers').replaceChildren(...(office.villagerList ?? []).map((v) => el('option', { value: `${v.name}（${v.id}）` })));
  };

  /**
   * The villager's id from what was typed: `name（id）` (a suggestion), an id, or the name of one
   * villager listed; a name several villagers share, or no one's, asks for the id.
   */
  function villagerId(typed) {
    const t = typed.trim();
    if (t === '') return { error: say('请填写村民编号或姓名', 'give a villager id or name') };
    const m = /[（(]([A-Za-z0-9_.-]{1,64})[)）]$/.exec(t);
    if (m) return { id: m[1] };
    const list = office.villagerList ?? [];
    if (list.some((v) => v.id === t)) return { id: t };
    const named = list.filter((v) => v.name === t);
    if (named.length === 1) return { id: named[0].id };
    if (named.length > 1) return { error: say(`有 ${named.length} 位村民叫「${t}」（${named.map((v) => v.id).join('、')}），请填编号`, `${named.length} villagers are named ${t}: give the id`) };
    if (/^[A-Za-z0-9_.-]{1,64}$/.test(t)) return { id: t };
    return { error: say(`本村没有叫「${t}」的村民，请填编号`, `no villager named ${t}: give the id`) };
  }

  /** The villager typed, looked up (GET …/villagers/:id, their balance now), said under the field; undefined when not found (said beside it). */
  async function whoIs() {
    $('record-who').textContent = '';
    $('record-villager-error').textContent = '';
    const r = villagerId($('record-villager').value);
    if (r.error) return void office.showError('record', { field: 'villager', message: r.error });
    office.forgetVillagers();
    const v = await office.villagerOf(r.id);
    if (v.error) return void office.showError('record', { field: 'villager', message: v.error.message });
    $('record-who').textContent = `${office.villagerLabel(v)}，余额 ${v.balance} 分${v.debt > 0 ? `，还欠 ${v.debt} 分` : ''} / balance ${v.balance}${v.debt > 0 ? `, owes ${v.debt}` : ''}`;
    return v;
  }

  /** The photo's reference (`photo:ev-…`), uploaded once for this form and villager, shrunk first (photo-shrink.js); its upload id is of the photo chosen. */
  async function uploaded(file, villager, request) {
    const id = photoKey(`record:${request}:${villager}`, await file.arrayBuffer());
    if (uploads.has(id)) return uploads.get(id);
    const body = new FormData();
    body.append('request', id);
    body.append('villager', villager);
    body.append('photo', await shrinkPhoto(file));
    let answer;
    try {
      answer = await office.call('POST', office.api('/evidence'), body);
    } catch (e) {
      // the upload's refusals are the photo's (its `request` id made of the photo, too)
      throw Object.assign(e, { field: e.field === 'villager' ? 'villager' : 'photo' });
    }
    uploads.set(id, answer.ref);
    return answer.ref;
  }

  async function file() {
    office.clearErrors('record');
    const v = await whoIs();
    const item = choices.get($('record-item').value);
    if (!item) return void office.showError('record', { field: 'item', message: say('请选择积分细则', 'choose a rule item') });
    if (!v) return;
    const typed = $('record-points').value.trim();
    if (typed !== '' && !/^[1-9]\d*$/.test(typed)) return void office.showError('record', { field: 'points', message: say(`分值须为 ${item.points_min}–${item.points_max} 的整数`, `points are a whole number from ${item.points_min} to ${item.points_max}`) });
    const photo = $('record-photo').files[0];
    const witness = $('record-witness').value.trim();
    if (item.evidence === 'photo' && !photo) return void office.showError('record', { field: 'photo', message: say('该事项需要照片凭证，请选择照片', 'this item needs a photo: choose one') });
    if (item.evidence === 'witness' && witness === '') return void office.showError('record', { field: 'witness', message: say('该事项需要证明人，请填写证明人姓名', 'this item needs a witness: give their name') });
    const request = recordForm().request;
    const body = { item: item.code, villager: v.id, request: request.id };
    if (typed !== '') body.points = Number(typed);
    const note = $('record-note').value.trim();
    if (note !== '') body.note = note;
    let c;
    try {
      // the photo first, then the witness (governance/evidence.ts reads it so)
      const ref = photo && item.evidence !== 'none' ? await uploaded(photo, v.id, request.id) : undefined;
      const evidence = [ref, item.evidence === 'witness' ? `证明人：${witness}` : undefined].filter(Boolean).join(' ');
      if (evidence !== '') body.evidence = evidence;
      c = await office.call('POST', office.api('/reports'), body);
    } catch (e) {
      office.showError('record', e);
      // the form went before with other content (its record is in the claims now): the next press is a new form
      if (e.status === 409 && e.field === 'request') {
        request.renew();
        await office.loadClaims();
      }
      return;
    }
    request.renew();
    for (const id of ['record-villager', 'record-points', 'record-witness', 'record-note', 'record-photo']) $(id).value = '';
    $('record-who').textContent = '';
    showItem();
    const pts = c.points === null ? `${office.range(item)}，审核时定` : `${c.points} 分`;
    $('record-ok').textContent = `${c.duplicate ? '这张表单已登记过，未重复登记：' : '已登记：'}${office.villagerLabel(v)}「${item.name}」${signOf(item)} ${pts}，待审核，请在上面「待审核申报」中通过 / `
      + `${c.duplicate ? 'filed before, not twice' : 'filed'}; approve it in the claims above`;
    await office.loadClaims();
  }

  async function load() {
    if (!office.manage) return;
    await loadItemChoices();
  }

  window.addEventListener('DOMContentLoaded', () => {
    $('record-item').addEventListener('change', showItem);
    $('record-villager').addEventListener('change', () => void whoIs());
    $('record-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (office.manage) void office.submitting($('record-form'), file);
    });
  });
  office.parts.push({ load });
})();
