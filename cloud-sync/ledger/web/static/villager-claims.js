/* global LedgerErrors, sendOnce, photoKey, shrinkPhoto, document, FormData, window, $, state, api, base, li, span, signed, load */
/**
 * The villager's phone page, its part that sends: open tasks to claim (认领), own claims to
 * report done (上报完成) with a photo, and a witness's name where the item needs a witness, and
 * the self-report form (我要申报). A photo is shrunk before it goes (photo-shrink.js) and
 * uploaded once per request id (photo-key.js); a refused report is said beside its claim. A
 * claim is shown under the terms it was filed (its own sign and item name, not the item's latest
 * version); its points greyed while in review, not counted when rejected or reversed.
 * villager.js has the session, the QR code, the balance and the history, and draws these lists
 * with what it loads (window.VillagerClaims).
 */
'use strict';

const STATUS_ZH = { claimed: '已认领 claimed', reported: '待审核 in review', approved: '已通过 approved', rejected: '未通过 rejected', reversed: '已撤销 reversed' };
/** Whether a claim's item needs a witness (its name is the claim's evidence, after a photo if one is sent too). */
const needsWitness = (code) => state.rules.get(code)?.evidence === 'witness';
/** Said when the witness's name is left empty: names the field. */
const NO_WITNESS = () => LedgerErrors.say('请填写“证明人姓名”：这件事需要有人作证', "fill in the witness's name (证明人姓名): this item needs a witness");
/** Whether a claimed task's item needs a photo (its picker then says 必填). */
const needsPhoto = (code) => state.rules.get(code)?.evidence === 'photo';
/**
 * The terms a claim was filed under (the API gives each claim its item version's sign, name and
 * range), not the item's latest version: an item edited afterwards changes no claim. A field the
 * claim lacks is taken from the item.
 */
function termsOf(c) {
  const item = state.rules.get(c.item_code);
  return { direction: c.direction ?? item?.direction, name: c.item_name ?? item?.name ?? c.item_code, min: c.item_points_min ?? item?.points_min, max: c.item_points_max ?? item?.points_max };
}
/** A span of muted points with what they mean said in words (title and aria-label). */
function noted(text, cls, zhEn) {
  const el = span(text, cls);
  el.title = zhEn;
  el.setAttribute('aria-label', `${text} ${zhEn}`);
  return el;
}
/**
 * A claim's points as the history shows them, by the sign it was filed under: a deduction's with
 * a minus, not green; a claim in review greyed and said counted once approved (its range if no
 * points are set yet); a rejected or reversed claim's struck through, greyed and said not counted
 * (its state is in the line).
 */
function claimPoints(c) {
  const t = termsOf(c);
  const sign = t.direction === 'deduct' ? '-' : '+';
  if (c.status === 'reported') {
    const pts = c.points ? String(Math.abs(c.points)) : t.min === undefined ? '' : t.min === t.max ? String(t.min) : `${t.min}–${t.max}`;
    return pts ? noted(`${sign}${pts}（审核后计入）`, 'pending', '审核后计入 counted once approved') : span('');
  }
  if (!c.points) return span('');
  const n = t.direction === 'deduct' ? -Math.abs(c.points) : c.points;
  if (c.status !== 'rejected' && c.status !== 'reversed') return signed(n);
  return noted(n > 0 ? `+${n}` : String(n), 'void', '不计入积分 not counted');
}

function renderTasks(tasks, claims) {
  const mine = new Set(claims.map((c) => c.task_id));
  const ul = $('tasks');
  ul.replaceChildren();
  for (const t of tasks) {
    const info = span(`${t.title}（${state.rules.get(t.item_code)?.name || t.item_code}，${t.points} 分，已认领 ${t.claimants}/${t.max_claimants}）`);
    const btn = document.createElement('button');
    btn.className = 'small';
    btn.type = 'button';
    btn.dataset.task = t.id;
    const full = t.claimants >= t.max_claimants;
    btn.textContent = mine.has(t.id) ? '已认领 Claimed' : full ? '已满 Full' : '认领 Claim';
    btn.disabled = mine.has(t.id) || full;
    btn.addEventListener('click', () => claim(t.id, btn));
    ul.append(li(info, btn));
  }
  if (tasks.length === 0) ul.append(li(span(LedgerErrors.say('暂时没有可认领的任务', 'no tasks to claim now'), 'muted')));
}

function renderClaims(claims) {
  const ul = $('claims');
  ul.replaceChildren();
  for (const c of claims) {
    const title = c.task_id && state.tasks.get(c.task_id) ? state.tasks.get(c.task_id) : termsOf(c).name;
    const info = span(`${title} · ${STATUS_ZH[c.status] || c.status}${c.reason ? `（${c.reason}）` : ''}`);
    if (c.status !== 'claimed') {
      ul.append(li(info, claimPoints(c)));
      continue;
    }
    const box = document.createElement('span');
    const witness = needsWitness(c.item_code);
    // an item that needs a witness asks for their name (in words an elderly villager reads at once), and takes a photo too
    const name = witness ? Object.assign(document.createElement('input'), { type: 'text', maxLength: 200, placeholder: '例如：王大妈', id: `witness-${c.id}` }) : undefined;
    // the photo's picker under words that say whether the item needs it
    const file = Object.assign(document.createElement('input'), { type: 'file', accept: 'image/*', id: `photo-${c.id}` });
    const fileLabel = Object.assign(document.createElement('label'), { htmlFor: file.id, textContent: needsPhoto(c.item_code) ? '照片（必填）Photo (required)' : '照片（可不填）Photo (optional)' });
    // a refused report is said beside its claim
    const err = Object.assign(document.createElement('p'), { className: 'err claim-err', id: `claim-error-${c.id}` });
    err.setAttribute('role', 'alert');
    const btn = document.createElement('button');
    btn.className = 'small';
    btn.type = 'button';
    btn.textContent = '上报完成 Done';
    btn.dataset.claim = c.id;
    btn.addEventListener('click', () => report(c.id, { photo: file.files[0], ...(name ? { witness: name.value.trim() } : {}) }, btn));
    // a witness's name under its words, seen while typing (a placeholder goes away)
    if (name) box.append(Object.assign(document.createElement('label'), { htmlFor: name.id, textContent: '证明人姓名（必填）Witness name' }), name);
    box.append(fileLabel, file, btn);
    ul.append(li(info, box, err));
  }
  if (claims.length === 0) ul.append(li(span(LedgerErrors.say('还没有申报', 'no claims yet'), 'muted')));
}

/** The add items a villager may report without a task, with their points and what evidence they need. */
function renderSelfItems(items) {
  const sel = $('self-item');
  const chosen = sel.value;
  sel.replaceChildren();
  const none = document.createElement('option');
  none.value = '';
  none.textContent = '请选择事项 / choose an item';
  sel.append(none);
  const NEED = { photo: '，需照片', witness: '，需证明人', none: '' };
  for (const i of items.filter((x) => x.direction === 'add')) {
    const o = document.createElement('option');
    o.value = i.code;
    o.dataset.evidence = i.evidence;
    o.textContent = `${i.name}（${i.points_min === i.points_max ? i.points_min : `${i.points_min}–${i.points_max}`} 分${NEED[i.evidence] || ''}）`;
    sel.append(o);
  }
  sel.value = chosen;
  showEvidence();
}

/** The self-report form asks for what its item needs: a witness's name where it needs one; a photo is taken always. */
function showEvidence() {
  $('self-witness-box').hidden = $('self-item').selectedOptions[0]?.dataset.evidence !== 'witness';
}

/**
 * The photos uploaded from this page, by request id: the JPEG made of each and, once the ledger
 * kept it, its reference. The request id is made of the photo's bytes and what it is for (a
 * claim, or the self-report form's request id), photo-key.js: a report sent again (a tap after a
 * refusal or a lost answer) names the same photo; an upload whose answer was lost, sent again,
 * is answered with the photo kept; and the same photo chosen again after a reload, when this map
 * is empty, is the same upload too, answered with the photo kept, never kept twice. Another photo,
 * or the same photo for another claim, is a new upload.
 */
const uploads = new Map();

/** Said when the ledger answered a photo this page did not know it had sent (chosen again after a reload). */
const PHOTO_AGAIN = () => LedgerErrors.say('这张照片已上传过，未重复保存', 'this photo was uploaded before; it is not kept twice');

/** The ledger's reference (`photo:ev-…`) to `file` uploaded for `scope`, once; `again` when the ledger had it from before this page. */
async function uploaded(file, scope) {
  const request = photoKey(scope, await file.arrayBuffer());
  const known = uploads.has(request);
  let u = uploads.get(request);
  if (!u) uploads.set(request, (u = { jpeg: undefined, ref: undefined }));
  if (u.ref) return { ref: u.ref, again: false };
  u.jpeg ??= await shrinkPhoto(file);
  const upload = new FormData();
  upload.append('request', request);
  upload.append('photo', u.jpeg);
  let answer;
  try {
    answer = await api('POST', `${base()}/evidence`, upload, true);
  } catch (e) {
    if (e.field === 'request') uploads.delete(request);
    throw e;
  }
  u.ref = answer.ref;
  return { ref: u.ref, again: Boolean(answer.duplicate) && !known };
}

/** A claim's evidence: the photo's reference, the witness's name, or both, the photo first (governance/evidence.ts reads it so). */
const evidenceOf = (sent, witness) => [sent?.ref, witness].filter(Boolean).join(' ');

async function selfReport() {
  const form = state.self;
  $('self-error').textContent = '';
  $('self-ok').textContent = '';
  const item = $('self-item').value;
  if (!item) return void ($('self-error').textContent = LedgerErrors.say('请选择申报的事项', 'choose what you report'));
  const witness = needsWitness(item) ? $('self-witness').value.trim() : '';
  if (needsWitness(item) && !witness) {
    $('self-witness').focus();
    return void ($('self-error').textContent = NO_WITNESS());
  }
  try {
    const body = { item, request: form.id };
    const note = $('self-note').value.trim();
    if (note) body.note = note;
    const photo = $('self-photo').files[0];
    const sent = photo ? await uploaded(photo, `self-report:${form.id}`) : undefined;
    const evidence = evidenceOf(sent, witness);
    if (evidence) body.evidence = evidence;
    await api('POST', `${base()}/reports`, body);
    $('self-form').reset();
    showEvidence();
    form.renew();
    $('self-ok').textContent = [LedgerErrors.say('已提交，等待村里审核', 'sent; the village will review it'), ...(sent?.again ? [PHOTO_AGAIN()] : [])].join('\n');
    await load();
  } catch (e) {
    // the form was sent before with other content (its report is listed): the next tap is a new form
    if (e.status === 409 && e.field === 'request') {
      form.renew();
      await load().catch(() => undefined);
    }
    $('self-error').textContent = e.message;
  }
}

/** Claims a task; the button waits for the answer (the list drawn anew replaces it). */
const claim = (task, btn) => sendOnce(btn, async () => {
  $('task-error').textContent = '';
  try {
    await api('POST', `${base()}/tasks/${encodeURIComponent(task)}/claim`);
    await load();
  } catch (e) {
    $('task-error').textContent = e.message;
  }
});

/** Reports a claim done, with its photo or its witness's name; the button waits while the photo uploads and the report is sent. */
const report = (claimId, { photo, witness }, btn) => sendOnce(btn, async () => {
  const error = $(`claim-error-${claimId}`);
  error.textContent = '';
  $('claim-ok').textContent = '';
  if (witness === '') {
    $(`witness-${claimId}`)?.focus();
    return void (error.textContent = NO_WITNESS());
  }
  try {
    const sent = photo ? await uploaded(photo, `claim:${claimId}`) : undefined;
    const evidence = evidenceOf(sent, witness);
    const body = evidence ? { evidence } : {};
    await api('POST', `${base()}/claims/${encodeURIComponent(claimId)}/report`, body);
    if (sent?.again) $('claim-ok').textContent = PHOTO_AGAIN();
    await load();
  } catch (e) {
    error.textContent = e.message;
  }
});

window.VillagerClaims = { renderTasks, renderClaims, renderSelfItems, showEvidence, selfReport };
