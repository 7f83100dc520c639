/**
 * The admin page's sections for actions: the review queue with its charge / waive forms, and
 * the audit log (the latest actions, who took them, before → after).
 */
import type { AuditRecord } from '../ledger/audit.ts';
import { isPaidReviewLine, isRestockReviewLine, type ReviewItem } from '../ledger/review.ts';
import type { AdminAccount } from '../ledger/admin-accounts.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { formatTime } from './time-format.ts';
import { ACTION, REVIEW, ROLE, say, VILLAGER_STATUS } from './admin-words.ts';
import { fieldMessage, focusIfWrong, formMessage, kept, requestField, type FormRefusal } from './form-fields.ts';

export const ACTION_ZH = ACTION.zh;

const T = {
  zh: {
    status: '状态', system: '系统', audit: '操作记录', at: '时间', actor: '操作人', action: '操作', target: '对象', before: '之前', after: '之后', noAudit: '还没有操作', comma: '，',
    product: '实际商品', count: '数量', correct: '更正并扣分', waive: '免扣', goReview: '去处理', acknowledge: '已核对', charge: '补扣', chargePoints: '补扣积分', pts: (n: number) => `（${n} 分）`,
    paid: '无需补扣：购物结算时已照常扣分', restockNote: '补货记录：没有卖出商品，不扣分，只能免扣（请清点货位）', restock: '（补货）', grams: (g: number) => `（${g} 克）`,
    review: '待核对', villager: '村民', slot: '货位', reason: '原因', handle: '处理', noReview: '没有待核对的记录',
    cards: '积分卡', villagerId: '村民编号', cardNo: '卡号（留空自动生成）', issue: '发卡', revokeNo: '挂失卡号', revoke: '挂失',
    accounts: '管理账号', statusCol: '状态', username: '用户名', name: '姓名', role: '角色', lastLogin: '最近登录', ok: '正常', lockedUntil: (t: string) => `锁定至 ${t}`, password: '密码（至少 10 位）', repeat: '再次输入密码', add: '添加账号',
  },
  en: {
    status: 'status', system: 'system', audit: 'Audit log', at: 'Time', actor: 'By', action: 'Action', target: 'Subject', before: 'Before', after: 'After', noAudit: 'No actions yet', comma: ', ',
    product: 'Product actually taken', count: 'Count', correct: 'Correct and charge', waive: 'Waive', goReview: 'Review', acknowledge: 'Checked', charge: 'Charge', chargePoints: 'Points to charge', pts: (n: number) => ` (${n} points)`,
    paid: 'Nothing to charge: the purchase was charged as usual at settlement', restockNote: 'Restocking: nothing sold, nothing to charge; only waive (count the slot)', restock: ' (restocking)', grams: (g: number) => ` (${g} g)`,
    review: 'To review', villager: 'Villager', slot: 'Slot', reason: 'Reason', handle: 'Action', noReview: 'Nothing to review',
    cards: 'Passbook cards', villagerId: 'Villager id', cardNo: 'Card number (empty: made for you)', issue: 'Issue card', revokeNo: 'Lost card number', revoke: 'Revoke',
    accounts: 'Admin accounts', statusCol: 'Status', username: 'Username', name: 'Name', role: 'Role', lastLogin: 'Last login', ok: 'active', lockedUntil: (t: string) => `locked until ${t}`, password: 'Password (at least 10 characters)', repeat: 'Repeat password', add: 'Add account',
  },
};

/** A time as the ledger writes it (ISO, UTC): shown as every time on the page is. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** `{status: 'blocked'}` → `状态 已冻结`; a time in the store's zone; other keys as they are. */
function stateText(v: unknown, lang: Lang, tz: string | undefined): string {
  const t = T[lang];
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'object') return String(v);
  const value = (x: unknown): string => (x === null ? '—' : typeof x === 'string' && ISO_TIME.test(x) ? formatTime(x, tz) : typeof x === 'object' ? JSON.stringify(x) : String(x));
  return Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => (k === 'status' && typeof x === 'string' ? `${t.status} ${say(VILLAGER_STATUS, lang, x)}` : `${k} ${value(x)}`))
    .join(t.comma);
}

export function auditSection(records: AuditRecord[], lang: Lang = 'zh', tz?: string): string {
  const t = T[lang];
  const rows = records
    .map((r) => `<tr data-action="${esc(r.action)}"><td>${esc(formatTime(r.at, tz))}</td><td>${esc(r.actor === 'system' ? t.system : r.actor)}</td><td>${esc(say(ACTION, lang, r.action))}</td><td>${esc(r.target ?? '—')}</td><td>${esc(stateText(r.before, lang, tz))}</td><td>${esc(stateText(r.after, lang, tz))}</td></tr>`)
    .join('');
  return `<h2>${t.audit}</h2><table id="audit"><tr><th>${t.at}</th><th>${t.actor}</th><th>${t.action}</th><th>${t.target}</th><th>${t.before}</th><th>${t.after}</th></tr>${rows || `<tr><td colspan="6">${t.noAudit}</td></tr>`}</table>`;
}

const csrfField = (csrf: string): string => `<input type="hidden" name="_csrf" value="${esc(csrf)}">`;

/**
 * The open lines. With a CSRF token (the /review page, which does not reload itself while
 * points are typed) each has a charge form (points) and a waive button, or, when its goods were
 * charged at settlement already, only an acknowledge button, or, on a restock (nothing sold),
 * only the waive button (a refused one shows why beside the line); on the admin page they are listed
 * with a link there. `note` (HTML) goes under the heading: how many are open when not all are listed. No script on either page.
 */
export function reviewSection(items: ReviewItem[], csrf: string | null, products: ReadonlyArray<{ sku: string; name: string; price: number }> = [], refusal?: FormRefusal, lang: Lang = 'zh', tz?: string, note = ''): string {
  const t = T[lang];
  const options = (chosen: string): string => products.map((p) => `<option value="${esc(p.sku)}"${p.sku === chosen ? ' selected' : ''}>${esc(p.name)}${esc(t.pts(p.price))}</option>`).join('');
  const rows = items
    .map((r) => {
      const action = `/api/review/${r.id}/resolve`;
      // what was typed in this line's refused form (the charge's points, the correction's product and count)
      const typed = (resolution: string, field: string): string => (kept(refusal, `review-${r.id}`, 'resolution') === resolution ? kept(refusal, `review-${r.id}`, field) : '');
      const correct = products.length > 0
        ? ` <form class="inline" method="post" action="${action}">${csrfField(csrf ?? '')}<input type="hidden" name="resolution" value="correct"><select name="sku" aria-label="${t.product}">${options(typed('correct', 'sku'))}</select> × <input name="count" type="number" min="1" max="1000" value="${esc(typed('correct', 'count') || '1')}" required aria-label="${t.count}" style="width:4rem"> <button type="submit" data-action="correct">${t.correct}</button></form>`
        : '';
      const paid = isPaidReviewLine(r);
      const restock = isRestockReviewLine(r);
      const waive = `<form class="inline" method="post" action="${action}">${csrfField(csrf ?? '')}<input type="hidden" name="resolution" value="waive"><button type="submit" data-action="waive">${t.waive}</button></form>`;
      const forms = csrf === null
        ? `<a href="/review">${t.goReview}</a>`
        : paid
        ? `<form class="inline" method="post" action="${action}">${csrfField(csrf)}<input type="hidden" name="resolution" value="acknowledge"><button type="submit" data-action="acknowledge">${t.acknowledge}</button></form>`
        : restock
        ? waive
        : `<form class="inline" method="post" action="${action}">${csrfField(csrf)}<input type="hidden" name="resolution" value="charge"><input name="points" type="number" min="1" max="100000"${typed('charge', 'points') ? ` value="${esc(typed('charge', 'points'))}"` : ''} required aria-label="${t.chargePoints}" style="width:5rem"> <button type="submit" data-action="charge">${t.charge}</button></form> ${waive}${correct}`;
      const note = paid ? `<br><small data-paid>${t.paid}</small>` : restock ? `<br><small data-restock>${t.restockNote}</small>` : '';
      return `<tr data-review="${r.id}"${restock ? ' data-kind="restock"' : ''}><td>${esc(formatTime(r.created_at, tz))}</td><td>${esc(r.villager_name)}${restock ? t.restock : ''}</td><td>${esc(r.slot)}</td><td class="review">${esc(say(REVIEW, lang, r.reason))}${r.delta_g !== null ? esc(t.grams(r.delta_g)) : ''}${note}</td><td>${formMessage(refusal, `review-${r.id}`)}${forms}</td></tr>`;
    })
    .join('');
  return `<h2 id="review">${t.review}</h2>${note}<table id="review-queue"><tr><th>${t.at}</th><th>${t.villager}</th><th>${t.slot}</th><th>${t.reason}</th><th>${t.handle}</th></tr>${rows || `<tr><td colspan="5">${t.noReview}</td></tr>`}</table>`;
}

/** Issue a card to a villager, or revoke a lost one: two small forms (a refused one shows why, with what was typed). */
export function cardsSection(csrf: string, refusal?: FormRefusal, lang: Lang = 'zh'): string {
  const t = T[lang];
  const issue = ['villager', 'card'];
  const revoke = ['card'];
  return `<h2 id="cards">${t.cards}</h2>
<p>${formMessage(refusal, 'card', issue)}<form class="inline" method="post" id="card-issue" action="/api/cards/issue">${csrfField(csrf)}${requestField()}<label>${t.villagerId} <input name="villager" required maxlength="64" value="${esc(kept(refusal, 'card', 'villager'))}"${focusIfWrong(refusal, 'card', 'villager', issue)}></label>${fieldMessage(refusal, 'card', 'villager')} <label>${t.cardNo} <input name="card" maxlength="64" pattern="[A-Za-z0-9\\-]+" value="${esc(kept(refusal, 'card', 'card'))}"${focusIfWrong(refusal, 'card', 'card', issue)}></label>${fieldMessage(refusal, 'card', 'card')} <button type="submit">${t.issue}</button></form></p>
<p>${formMessage(refusal, 'revoke', revoke)}<form class="inline" method="post" id="card-revoke" action="/api/cards/revoke">${csrfField(csrf)}<label>${t.revokeNo} <input name="card" required minlength="4" maxlength="64" pattern="[A-Za-z0-9\\-]+" value="${esc(kept(refusal, 'revoke', 'card'))}"${focusIfWrong(refusal, 'revoke', 'card', revoke)}></label>${fieldMessage(refusal, 'revoke', 'card')} <button type="submit">${t.revoke}</button></form></p>`;
}


/**
 * The accounts, and for a village admin the form that adds one (a refused one shows why beside
 * the field, with what was typed; never the passwords).
 */
export function accountsSection(accounts: AdminAccount[], csrf: string, canAdd: boolean, lang: Lang = 'zh', refusal?: FormRefusal, tz?: string): string {
  const t = T[lang];
  const rows = accounts
    .map((a) => `<tr><td>${esc(a.username)}</td><td>${esc(a.displayName)}</td><td>${esc(say(ROLE, lang, a.role))}</td><td>${a.lastLoginAt ? esc(formatTime(a.lastLoginAt, tz)) : '—'}</td><td class="${a.lockedUntil && a.lockedUntil > new Date().toISOString() ? 'bad' : ''}">${a.lockedUntil && a.lockedUntil > new Date().toISOString() ? esc(t.lockedUntil(formatTime(a.lockedUntil, tz))) : t.ok}</td></tr>`)
    .join('');
  const fields = ['username', 'display_name', 'role', 'password', 'password_confirm'];
  const at = (field: string): string => `${focusIfWrong(refusal, 'account', field, fields)}>${fieldMessage(refusal, 'account', field)}`;
  const value = (field: string): string => `value="${esc(kept(refusal, 'account', field))}"`;
  const role = kept(refusal, 'account', 'role');
  const option = (r: 'maintainer' | 'village_admin'): string => `<option value="${r}"${role === r ? ' selected' : ''}>${ROLE[lang][r]}</option>`;
  const form = canAdd
    ? `${formMessage(refusal, 'account', fields)}<form class="login" method="post" action="/api/accounts" id="account-add">${csrfField(csrf)}<label>${t.username} <input name="username" required maxlength="32" ${value('username')}${at('username')}</label><label>${t.name} <input name="display_name" required maxlength="100" ${value('display_name')}${at('display_name')}</label><label>${t.role} <select name="role"${at('role')}${option('maintainer')}${option('village_admin')}</select></label><label>${t.password} <input name="password" type="password" autocomplete="new-password" required${at('password')}</label><label>${t.repeat} <input name="password_confirm" type="password" autocomplete="new-password" required${at('password_confirm')}</label><p><button type="submit">${t.add}</button></p></form>`
    : '';
  return `<h2 id="accounts">${t.accounts}</h2><table id="account-list"><tr><th>${t.username}</th><th>${t.name}</th><th>${t.role}</th><th>${t.lastLogin}</th><th>${t.statusCol}</th></tr>${rows}</table>${form}`;
}
