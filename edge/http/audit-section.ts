/**
 * The admin page's sections for actions: the review queue with its charge / waive forms, and
 * the audit log (the latest actions, who took them, before → after).
 */
import type { AuditRecord } from '../ledger/audit.ts';
import { isPaidReviewLine, isRestockReviewLine, type ReviewItem } from '../ledger/review.ts';
import type { AdminAccount } from '../ledger/admin-accounts.ts';
import { esc, REVIEW_ZH, time } from './admin-sections.ts';
import { fieldMessage, focusIfWrong, formMessage, kept, requestField, type FormRefusal } from './form-fields.ts';

export const ACTION_ZH: Record<string, string> = {
  'account.create': '创建管理账号',
  'account.lock': '账号因密码错误被锁定',
  'account.unlock': '解除账号锁定',
  'account.password': '重设密码',
  'villager.block': '冻结村民',
  'villager.unblock': '解冻村民',
  'review.waive': '核对：免扣',
  'review.charge': '核对：补扣积分',
  'review.correct': '核对：更正并扣分',
  'review.acknowledge': '核对：已核对（结算时已扣分）',
  'card.issue': '发积分卡',
  'card.revoke': '挂失积分卡',
  'alarm.acknowledge': '确认告警',
};

const STATUS_ZH: Record<string, string> = { active: '正常', blocked: '已冻结', left: '已迁出' };

/** `{status: 'blocked'}` → `状态 已冻结`; other keys as they are. */
function stateText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'object') return String(v);
  return Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => (k === 'status' && typeof x === 'string' ? `状态 ${STATUS_ZH[x] ?? x}` : `${k} ${x === null ? '—' : typeof x === 'object' ? JSON.stringify(x) : String(x)}`))
    .join('，');
}

export function auditSection(records: AuditRecord[]): string {
  const rows = records
    .map((r) => `<tr data-action="${esc(r.action)}"><td>${esc(time(r.at))}</td><td>${esc(r.actor === 'system' ? '系统' : r.actor)}</td><td>${esc(ACTION_ZH[r.action] ?? r.action)}</td><td>${esc(r.target ?? '—')}</td><td>${esc(stateText(r.before))}</td><td>${esc(stateText(r.after))}</td></tr>`)
    .join('');
  return `<h2>操作记录</h2><table id="audit"><tr><th>时间</th><th>操作人</th><th>操作</th><th>对象</th><th>之前</th><th>之后</th></tr>${rows || '<tr><td colspan="6">还没有操作</td></tr>'}</table>`;
}

const csrfField = (csrf: string): string => `<input type="hidden" name="_csrf" value="${esc(csrf)}">`;

/**
 * The open lines. With a CSRF token (the /review page, which does not reload itself while
 * points are typed) each has a charge form (points) and a waive button, or, when its goods were
 * charged at settlement already, only an acknowledge button, or, on a restock (nothing sold),
 * only the waive button (a refused one shows why beside the line); on the admin page they are listed
 * with a link there. No script on either page.
 */
export function reviewSection(items: ReviewItem[], csrf: string | null, products: ReadonlyArray<{ sku: string; name: string; price: number }> = [], refusal?: FormRefusal): string {
  const options = products.map((p) => `<option value="${esc(p.sku)}">${esc(p.name)}（${p.price} 分）</option>`).join('');
  const rows = items
    .map((r) => {
      const action = `/api/review/${r.id}/resolve`;
      const correct = options
        ? ` <form class="inline" method="post" action="${action}">${csrfField(csrf ?? '')}<input type="hidden" name="resolution" value="correct"><select name="sku" aria-label="实际商品">${options}</select> × <input name="count" type="number" min="1" max="1000" value="1" required aria-label="数量" style="width:4rem"> <button type="submit" data-action="correct">更正并扣分</button></form>`
        : '';
      const paid = isPaidReviewLine(r);
      const restock = isRestockReviewLine(r);
      const waive = `<form class="inline" method="post" action="${action}">${csrfField(csrf ?? '')}<input type="hidden" name="resolution" value="waive"><button type="submit" data-action="waive">免扣</button></form>`;
      const forms = csrf === null
        ? '<a href="/review">去处理</a>'
        : paid
        ? `<form class="inline" method="post" action="${action}">${csrfField(csrf)}<input type="hidden" name="resolution" value="acknowledge"><button type="submit" data-action="acknowledge">已核对</button></form>`
        : restock
        ? waive
        : `<form class="inline" method="post" action="${action}">${csrfField(csrf)}<input type="hidden" name="resolution" value="charge"><input name="points" type="number" min="1" max="100000" required aria-label="补扣积分" style="width:5rem"> <button type="submit" data-action="charge">补扣</button></form> ${waive}${correct}`;
      const note = paid ? '<br><small data-paid>无需补扣：购物结算时已照常扣分</small>' : restock ? '<br><small data-restock>补货记录：没有卖出商品，不扣分，只能免扣（请清点货位）</small>' : '';
      return `<tr data-review="${r.id}"${restock ? ' data-kind="restock"' : ''}><td>${esc(time(r.created_at))}</td><td>${esc(r.villager_name)}${restock ? '（补货）' : ''}</td><td>${esc(r.slot)}</td><td class="review">${esc(REVIEW_ZH[r.reason] ?? r.reason)}${r.delta_g !== null ? `（${r.delta_g} 克）` : ''}${note}</td><td>${formMessage(refusal, `review-${r.id}`)}${forms}</td></tr>`;
    })
    .join('');
  return `<h2 id="review">待核对</h2><table id="review-queue"><tr><th>时间</th><th>村民</th><th>货位</th><th>原因</th><th>处理</th></tr>${rows || '<tr><td colspan="5">没有待核对的记录</td></tr>'}</table>`;
}

/** Issue a card to a villager, or revoke a lost one: two small forms (a refused one shows why, with what was typed). */
export function cardsSection(csrf: string, refusal?: FormRefusal): string {
  const issue = ['villager', 'card'];
  const revoke = ['card'];
  return `<h2 id="cards">积分卡</h2>
<p>${formMessage(refusal, 'card', issue)}<form class="inline" method="post" id="card-issue" action="/api/cards/issue">${csrfField(csrf)}${requestField()}<label>村民编号 <input name="villager" required maxlength="64" value="${esc(kept(refusal, 'card', 'villager'))}"${focusIfWrong(refusal, 'card', 'villager', issue)}></label>${fieldMessage(refusal, 'card', 'villager')} <label>卡号（留空自动生成） <input name="card" maxlength="64" pattern="[A-Za-z0-9\\-]+" value="${esc(kept(refusal, 'card', 'card'))}"${focusIfWrong(refusal, 'card', 'card', issue)}></label>${fieldMessage(refusal, 'card', 'card')} <button type="submit">发卡</button></form></p>
<p>${formMessage(refusal, 'revoke', revoke)}<form class="inline" method="post" id="card-revoke" action="/api/cards/revoke">${csrfField(csrf)}<label>挂失卡号 <input name="card" required minlength="4" maxlength="64" pattern="[A-Za-z0-9\\-]+" value="${esc(kept(refusal, 'revoke', 'card'))}"${focusIfWrong(refusal, 'revoke', 'card', revoke)}></label>${fieldMessage(refusal, 'revoke', 'card')} <button type="submit">挂失</button></form></p>`;
}

const ROLE_ZH: Record<string, string> = { maintainer: '门店维护员', village_admin: '村管理员' };

/** The accounts, and for a village admin the form that adds one. */
export function accountsSection(accounts: AdminAccount[], csrf: string, canAdd: boolean): string {
  const rows = accounts
    .map((a) => `<tr><td>${esc(a.username)}</td><td>${esc(a.displayName)}</td><td>${esc(ROLE_ZH[a.role] ?? a.role)}</td><td>${a.lastLoginAt ? esc(time(a.lastLoginAt)) : '—'}</td><td class="${a.lockedUntil && a.lockedUntil > new Date().toISOString() ? 'bad' : ''}">${a.lockedUntil && a.lockedUntil > new Date().toISOString() ? `锁定至 ${esc(time(a.lockedUntil))}` : '正常'}</td></tr>`)
    .join('');
  const form = canAdd
    ? `<form class="login" method="post" action="/api/accounts" id="account-add">${csrfField(csrf)}<label>用户名 <input name="username" required maxlength="32"></label><label>姓名 <input name="display_name" required maxlength="100"></label><label>角色 <select name="role"><option value="maintainer">门店维护员</option><option value="village_admin">村管理员</option></select></label><label>密码（至少 10 位）<input name="password" type="password" autocomplete="new-password" required></label><label>再次输入密码 <input name="password_confirm" type="password" autocomplete="new-password" required></label><p><button type="submit">添加账号</button></p></form>`
    : '';
  return `<h2 id="accounts">管理账号</h2><table id="account-list"><tr><th>用户名</th><th>姓名</th><th>角色</th><th>最近登录</th><th>状态</th></tr>${rows}</table>${form}`;
}
