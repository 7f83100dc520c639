/**
 * The villager page's pending face templates (card-confirmed learning): each one's face
 * thumbnail beside what the door measured, and confirm / reject forms (CSRF field, audited by
 * the routes in edge/http/pending-routes.ts). Enrolment photos are never kept (only sealed
 * templates), so the maintainer compares the thumbnail with the villager in person or with
 * their own knowledge of them; a face they do not recognise is rejected.
 */
import type { PendingView } from '../entry/pending-review.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { formatTime } from './time-format.ts';
import { formMessage, type FormRefusal } from './form-fields.ts';

const T = {
  zh: {
    title: '待确认的人脸（刷卡确认学习）',
    how: '门口没能确认这张脸（“不确定”），随后此村民刷了自己的卡或二维码进门。门口保留了这一帧。只有确认是本人时才点“确认”：确认后门口会用它识别此村民；看不出或不是本人请“拒绝”。系统不保存录入照片，请对照本人辨认。',
    at: '时间', by: '凭', card: '积分卡', qr: '二维码', distance: '距离', enrolled: '距录入模板', margin: '领先下一位', expires: '过期', confirm: '确认是本人', reject: '拒绝', noThumb: '无缩略图', alt: '门口拍到的脸',
  },
  en: {
    title: 'Faces waiting for confirmation (card-confirmed learning)',
    how: 'The door was not sure of this face (uncertain), and then this villager came in with their own card or QR code. The door kept this frame. Press Confirm only if it is them: the door will then recognise them by it. If you cannot tell, or it is someone else, Reject. Enrolment photos are not kept: compare with the villager you know.',
    at: 'Time', by: 'By', card: 'card', qr: 'QR code', distance: 'distance', enrolled: 'to enrolment', margin: 'lead over next villager', expires: 'expires', confirm: 'Confirm: it is them', reject: 'Reject', noThumb: 'no thumbnail', alt: 'face seen at the door',
  },
};

export function pendingSection(d: { lang: Lang; csrf: string; villagerId: string; pending: readonly PendingView[]; timeZone: string | undefined; refusal?: FormRefusal | undefined }): string {
  if (!d.pending.length && d.refusal?.form !== 'pending') return '';
  const t = T[d.lang];
  const id = esc(encodeURIComponent(d.villagerId));
  const csrf = `<input type="hidden" name="_csrf" value="${esc(d.csrf)}">`;
  const items = d.pending.map((p) => {
    const img = p.thumbnail ? `<img src="/villagers/${id}/face/pending/${p.id}/thumbnail.jpg" width="112" height="112" alt="${t.alt}">` : `<span>${t.noThumb}</span>`;
    return `<tr data-pending="${p.id}"><td>${img}</td><td>${esc(formatTime(p.created_at, d.timeZone))}<br>${t.by} ${p.credential === 'card' ? t.card : t.qr}<br>${t.distance} ${p.distance}（${t.enrolled} ${p.enrolled_distance}）· ${t.margin} ${p.margin}<br>${t.expires} ${esc(formatTime(p.expires_at, d.timeZone))}</td>
<td><form class="inline" method="post" action="/api/villagers/${id}/face/pending/${p.id}/confirm">${csrf}<button type="submit" data-action="confirm-pending">${t.confirm}</button></form>
<form class="inline" method="post" action="/api/villagers/${id}/face/pending/${p.id}/reject">${csrf}<button type="submit" data-action="reject-pending">${t.reject}</button></form></td></tr>`;
  }).join('');
  return `<h2>${t.title}</h2><p>${t.how}</p>${formMessage(d.refusal, 'pending')}<table id="face-pending">${items}</table>`;
}
