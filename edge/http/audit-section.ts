/** The admin page's audit log section: the latest actions, who took them, before → after. */
import type { AuditRecord } from '../ledger/audit.ts';
import { esc, time } from './admin-sections.ts';

export const ACTION_ZH: Record<string, string> = {
  'account.create': '创建管理账号',
  'account.lock': '账号因密码错误被锁定',
  'account.unlock': '解除账号锁定',
  'account.password': '重设密码',
  'villager.block': '冻结村民',
  'villager.unblock': '解冻村民',
  'review.waive': '核对：免扣',
  'review.charge': '核对：补扣积分',
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
