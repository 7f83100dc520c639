/**
 * The villagers pages: search, and one villager's balance, history with reasons, face
 * enrolment from a photo with consent, withdrawal, block and unblock. Plain forms, no script.
 */
import type { StoreConfig } from '../config/schema.ts';
import type { Villager } from '../ledger/villagers.ts';
import type { Entry } from '../ledger/entries.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { layout } from './pages.ts';
import { EMPTY, formatTime } from './time-format.ts';
import { fieldMessage, focusIfWrong, formMessage, kept, requestField, type FormRefusal } from './form-fields.ts';
import type { PendingView } from '../entry/pending-review.ts';
import { pendingSection } from './pending-section.ts';
import { refundTable, type RefundRow } from './refund-section.ts';
import { doneHtml, type DoneNotice } from './done-notice.ts';

/** The enrol form's fields, each with its own message when it is wrong. */
const ENROL_FIELDS = ['photo', 'consent', 'guardian'];
const SNAPSHOT_FIELDS = ['consent', 'guardian'];

const ALREADY_ENROLLED = { zh: '已录入：这张照片此前已为该村民录入，没有重复保存', en: 'Already enrolled: this photo was enrolled for the villager before; it was not stored again' };

const T = {
  zh: {
    title: '村民', back: '返回管理页', other: 'English', search: '搜索', placeholder: '姓名或编号', id: '编号', name: '姓名', village: '村', status: '状态', balance: '积分', debt: '欠分', face: '人脸',
    more: '下一页', none: '没有找到村民', history: '积分记录', at: '时间', kind: '类型', points: '积分', after: '之后余额', reason: '事由', older: '更早的记录',
    snapshot: '在门口摄像头前录入人脸', snapshotHow: '请村民站在门口摄像头前、正对镜头，再点下面的按钮：拍一张照片录入。', snapshotGo: '拍照并录入',
    enrol: '录入人脸（上传照片）', photoAgain: '请重新选择照片（浏览器不会保留已选的文件）', photo: '照片（JPEG/PNG/WebP，一人正脸，最大 12 MB）', consent: '本人（或监护人）已同意用人脸进门', guardian: '监护人姓名（未满 14 岁时填写）', upload: '上传并录入',
    withdraw: '撤回同意并删除人脸', withdrawConfirm: '我已确认本人要求撤回（人脸模板和照片将被删除，需本人到场才能重新录入）', withdrawn: '未同意（无人脸数据）', templates: '个人脸模板', learned: '个为门口学习', consentAt: '同意于', block: '冻结', unblock: '解冻', list: '村民列表', faceOff: '本店未启用人脸识别',
    purchases: '购物与退分', purchasesHow: '这位村民还有可退积分的购物，从最新的开始。退分记为一笔新的退分流水，每笔购物最多退到它所扣的积分减去已退的。',
    status_active: '正常', status_blocked: '已冻结', status_left: '已迁出', self: '本人', guardianBy: '监护人', card: '积分卡', issue: '发新卡并打印二维码卡片',
    kinds: { award: '加分', penalty: '扣分', redemption: '兑换', refund: '退分', adjustment: '调整', expiry: '过期' } as Record<string, string>,
  },
  en: {
    title: 'Villagers', back: 'Back to admin', other: '中文', search: 'Search', placeholder: 'name or id', id: 'Id', name: 'Name', village: 'Village', status: 'Status', balance: 'Points', debt: 'Debt', face: 'Face',
    more: 'Next page', none: 'No villager found', history: 'Points history', at: 'Time', kind: 'Kind', points: 'Points', after: 'Balance after', reason: 'Reason', older: 'Older entries',
    snapshot: 'Enrol a face at the door camera', snapshotHow: 'Have the villager stand at the door facing the camera, then press the button: one picture is taken and enrolled.', snapshotGo: 'Take a picture and enrol',
    enrol: 'Enrol a face (upload a photo)', photoAgain: 'Choose the photo again (a browser does not keep a chosen file)', photo: 'Photo (JPEG/PNG/WebP, one person facing the camera, at most 12 MB)', consent: 'The villager (or guardian) consents to entering by face', guardian: 'Guardian (for a child under 14)', upload: 'Upload and enrol',
    withdraw: 'Withdraw consent and delete the face', withdrawConfirm: 'Confirmed with the villager: they ask to withdraw (the face templates and photos are deleted; only they can enrol again)', withdrawn: 'no consent (no face data)', templates: 'face templates', learned: 'learned at the door', consentAt: 'consented', block: 'Block', unblock: 'Unblock', list: 'All villagers', faceOff: 'Face recognition is off in this store',
    purchases: 'Purchases and refunds', purchasesHow: 'The villager\'s purchases with something left to refund, newest first. A refund is a new refund entry; a purchase is refunded at most what it was charged, less what was refunded already.',
    status_active: 'active', status_blocked: 'blocked', status_left: 'left', self: 'the villager', guardianBy: 'guardian', card: 'Passbook card', issue: 'Issue a new card and print its QR slip',
    kinds: { award: 'award', penalty: 'penalty', redemption: 'purchase', refund: 'refund', adjustment: 'adjustment', expiry: 'expiry' } as Record<string, string>,
  },
};

const statusText = (t: (typeof T)['zh'], s: string): string => (s === 'active' ? t.status_active : s === 'blocked' ? t.status_blocked : t.status_left);
/** Who consented: the villager, or a guardian by name (`guardian:NAME`, edge/http/villager-routes.ts). */
const consentBy = (t: (typeof T)['zh'], by: string | null): string => (by === null ? EMPTY : by === 'self' ? t.self : by.startsWith('guardian:') ? `${t.guardianBy} ${by.slice(9)}` : by);
const csrfField = (csrf: string): string => `<input type="hidden" name="_csrf" value="${esc(csrf)}">`;

export function villagersPage(d: { store: StoreConfig; lang: Lang; q: string; items: Villager[]; next: string | null }): string {
  const t = T[d.lang];
  const rows = d.items.map((v) => `<tr data-villager="${esc(v.id)}"><td>${esc(v.id)}</td><td><a href="/villagers/${esc(encodeURIComponent(v.id))}">${esc(v.name)}</a></td><td>${esc(v.village)}</td><td>${esc(statusText(t, v.status))}</td><td>${v.balance}</td><td>${v.debt}</td><td>${v.faceConsentAt ? '✓' : EMPTY}</td></tr>`).join('');
  const next = d.next ? `<p><a href="/villagers?q=${esc(encodeURIComponent(d.q))}&amp;after=${esc(encodeURIComponent(d.next))}">${t.more}</a></p>` : '';
  return layout(`${d.store.name} · ${t.title}`, `<h1>${esc(d.store.name)} · ${t.title}</h1><p><a href="/">${t.back}</a> · <a href="/villagers?lang=${d.lang === 'zh' ? 'en' : 'zh'}" id="lang-switch">${t.other}</a></p>
<form method="get" action="/villagers" id="villager-search"><input name="q" value="${esc(d.q)}" maxlength="64" placeholder="${t.placeholder}" aria-label="${t.placeholder}"> <button type="submit">${t.search}</button></form>
<table id="villager-results"><tr><th>${t.id}</th><th>${t.name}</th><th>${t.village}</th><th>${t.status}</th><th>${t.balance}</th><th>${t.debt}</th><th>${t.face}</th></tr>${rows || `<tr><td colspan="7">${t.none}</td></tr>`}</table>${next}`, undefined, d.lang);
}

export function villagerPage(d: { store: StoreConfig; lang: Lang; csrf: string; villager: Villager; templates: number; learned?: number; pending?: readonly PendingView[]; entries: Entry[]; next: number | null; timeZone: string | undefined; purchases?: { rows: readonly RefundRow[]; before?: string | undefined; next: string | null }; facesOn: boolean; snapshotOn?: boolean; alreadyEnrolled?: boolean; refusal?: FormRefusal; done?: DoneNotice | undefined }): string {
  const t = T[d.lang];
  const v = d.villager;
  const r = d.refusal;
  const id = esc(encodeURIComponent(v.id));
  const rows = d.entries.map((e) => `<tr data-entry="${esc(e.id)}"><td>${esc(formatTime(e.createdAt, d.timeZone))}</td><td>${esc(t.kinds[e.kind] ?? e.kind)}</td><td>${e.points > 0 ? '+' : ''}${e.points}</td><td>${e.balanceAfter}</td><td>${esc(e.reason ?? EMPTY)}</td></tr>`).join('');
  const face = v.faceConsentAt
    ? `<p id="face-state" data-consent="true">${t.consentAt} ${esc(formatTime(v.faceConsentAt, d.timeZone))}（${esc(consentBy(t, v.faceConsentBy))}）· ${d.templates} ${t.templates}${d.learned ? `（${d.learned} ${t.learned}）` : ''}</p>
<form method="post" action="/api/villagers/${id}/face/withdraw" id="face-withdraw">${csrfField(d.csrf)}${formMessage(r, 'withdraw', ['confirm'])}<label><input type="checkbox" name="confirm" value="true" required style="width:auto"${focusIfWrong(r, 'withdraw', 'confirm', ['confirm'])}> ${t.withdrawConfirm}</label>${fieldMessage(r, 'withdraw', 'confirm')} <button type="submit" data-action="withdraw">${t.withdraw}</button></form>`
    : `<p id="face-state" data-consent="false">${t.withdrawn}</p>`;
  // after an enrolment that stored nothing (the same photo sent again): a success, said in both languages as the forms' messages are
  const notice = d.alreadyEnrolled ? `<p class="ok" role="status" id="face-notice">${ALREADY_ENROLLED.zh}<br>${ALREADY_ENROLLED.en}</p>` : '';
  const enrol = d.facesOn
    ? `<h2>${t.enrol}</h2><form class="login" method="post" enctype="multipart/form-data" action="/api/villagers/${id}/face" id="face-enrol">${csrfField(d.csrf)}${formMessage(r, 'enrol', ENROL_FIELDS)}
<label for="photo">${t.photo}</label><input id="photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp" required${focusIfWrong(r, 'enrol', 'photo', ENROL_FIELDS)}>${fieldMessage(r, 'enrol', 'photo')}${r?.form === 'enrol' ? `<div class="field-note">${t.photoAgain}</div>` : ''}
<label><input type="checkbox" name="consent" value="true" required style="width:auto"${kept(r, 'enrol', 'consent') === 'true' ? ' checked' : ''}${focusIfWrong(r, 'enrol', 'consent', ENROL_FIELDS)}> ${t.consent}</label>${fieldMessage(r, 'enrol', 'consent')}
<label for="guardian">${t.guardian}</label><input id="guardian" name="guardian" maxlength="64" value="${esc(kept(r, 'enrol', 'guardian'))}"${focusIfWrong(r, 'enrol', 'guardian', ENROL_FIELDS)}>${fieldMessage(r, 'enrol', 'guardian')}
<p><button type="submit" data-action="enrol">${t.upload}</button></p></form>${d.snapshotOn ? `
<h2>${t.snapshot}</h2><p>${t.snapshotHow}</p><form class="login" method="post" action="/api/villagers/${id}/face/snapshot" id="face-snapshot">${csrfField(d.csrf)}${formMessage(r, 'snapshot', SNAPSHOT_FIELDS)}
<label><input type="checkbox" name="consent" value="true" required style="width:auto"${kept(r, 'snapshot', 'consent') === 'true' ? ' checked' : ''}${focusIfWrong(r, 'snapshot', 'consent', SNAPSHOT_FIELDS)}> ${t.consent}</label>${fieldMessage(r, 'snapshot', 'consent')}
<label for="snapshot-guardian">${t.guardian}</label><input id="snapshot-guardian" name="guardian" maxlength="64" value="${esc(kept(r, 'snapshot', 'guardian'))}"${focusIfWrong(r, 'snapshot', 'guardian', SNAPSHOT_FIELDS)}>${fieldMessage(r, 'snapshot', 'guardian')}
<p><button type="submit" data-action="snapshot">${t.snapshotGo}</button></p></form>` : ''}`
    : `<p>${t.faceOff}</p>`;
  const toggle = v.status === 'left' ? '' : `<form class="inline" method="post" action="/api/villagers/${id}/status" id="villager-status">${csrfField(d.csrf)}<input type="hidden" name="_page" value="villager"><button type="submit" name="status" value="${v.status === 'blocked' ? 'active' : 'blocked'}">${v.status === 'blocked' ? t.unblock : t.block}</button></form>`;
  const statusRefused = formMessage(r, 'status');
  const p = d.purchases ?? { rows: [], next: null };
  const purchasesHref = (before: string | null): string => `/villagers/${encodeURIComponent(v.id)}${before === null ? '' : `?purchases_before=${encodeURIComponent(before)}`}#purchases`;
  const purchases = refundTable({ rows: p.rows, csrf: d.csrf, lang: d.lang, time: (at) => (at ? formatTime(at, d.timeZone) : EMPTY), refusal: r, villager: v.id, before: p.before, olderHref: p.next === null ? null : purchasesHref(p.next), newestHref: p.before === undefined ? undefined : purchasesHref(null) });
  const older = d.next !== null ? `<p><a href="/villagers/${id}?before=${d.next}">${t.older}</a></p>` : '';
  return layout(`${d.store.name} · ${v.name}`, `<h1>${esc(v.name)}（${esc(v.id)}）</h1><p><a href="/villagers">${t.list}</a> · <a href="/villagers/${id}?lang=${d.lang === 'zh' ? 'en' : 'zh'}" id="lang-switch">${t.other}</a></p>
<table id="villager-summary"><tr><th>${t.village}</th><td>${esc(v.village)}</td></tr><tr><th>${t.status}</th><td>${esc(statusText(t, v.status))} ${toggle}${statusRefused}</td></tr><tr><th>${t.balance}</th><td id="balance">${v.balance}</td></tr><tr><th>${t.debt}</th><td>${v.debt}</td></tr></table>
<h2>${t.face}</h2>${notice}${face}${pendingSection({ lang: d.lang, csrf: d.csrf, villagerId: v.id, pending: d.pending ?? [], timeZone: d.timeZone, refusal: r })}${enrol}
<h2>${t.card}</h2>${formMessage(r, 'card')}<form class="inline" method="post" action="/api/cards/issue" id="card-issue-slip">${csrfField(d.csrf)}${requestField()}<input type="hidden" name="_page" value="villager"><input type="hidden" name="villager" value="${esc(v.id)}"><button type="submit" data-action="issue-card">${t.issue}</button></form>
<h2 id="purchases">${t.purchases}</h2>${doneHtml(d.done, d.lang)}<p>${t.purchasesHow}</p>${purchases}
<h2>${t.history}</h2><table id="history"><tr><th>${t.at}</th><th>${t.kind}</th><th>${t.points}</th><th>${t.after}</th><th>${t.reason}</th></tr>${rows || `<tr><td colspan="5">${EMPTY}</td></tr>`}</table>${older}`, undefined, d.lang);
}
