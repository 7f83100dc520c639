/** Server-rendered pages, Chinese first. Every value is escaped. */
import type { StoreConfig } from '../config/schema.ts';
import type { HealthReport } from '../parts.ts';
import type { Villager } from '../ledger/villagers.ts';
import type { Product } from '../ledger/products.ts';
import type { StoreSession } from '../ledger/sessions.ts';
import type { EntryEventView, ReceiptView, StockView, StoreStateView, SyncView } from './queries.ts';
import { entryEventsSection, esc, PHASE_ZH, receiptsSection, stockSection, storeStateSection, syncSection, time } from './admin-sections.ts';
import { accountsSection, auditSection, cardsSection, reviewSection } from './audit-section.ts';
import type { AdminAccount } from '../ledger/admin-accounts.ts';
import type { ReviewItem } from '../ledger/review.ts';
import type { SessionUser } from './auth.ts';
import type { AuditRecord } from '../ledger/audit.ts';
import type { AlarmRow } from '../ledger/alarms.ts';
import { alarmsSection } from './alarms-section.ts';
import { formMessage, requestField, type FormRefusal } from './form-fields.ts';

export { esc };

export function layout(title: string, body: string, refreshS?: number): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
${refreshS ? `<meta http-equiv="refresh" content="${refreshS}">` : ''}<title>${esc(title)}</title>
<style>body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#222}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f3f3f3}td{white-space:nowrap}td.review,td.detail{white-space:normal}.ok{color:#080}.bad{color:#b00}h1{font-size:1.5rem}
form.login{max-width:22rem}form.login label{display:block;margin:.6rem 0 .2rem}form.login input,form.login select{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{padding:.4rem .9rem;font-size:1rem}.field-error{color:#b00;font-size:.9rem}form.inline{display:inline;margin:0}</style>
</head><body>${body}</body></html>`;
}

const STATUS_ZH: Record<string, string> = { ok: '正常', degraded: '降级', fault: '故障（需处理）', starting: '启动中', stopping: '停止中', failed: '故障', stopped: '已停止' };
const SESSION_ZH: Record<string, string> = { open: '进行中', settled: '已结算', cancelled: '已取消' };

export interface AdminPageData {
  store: StoreConfig;
  health: HealthReport;
  villagers: Villager[];
  /** Which slice of the villager list `villagers` is. */
  villagerPage: { page: number; perPage: number; total: number };
  sessions: StoreSession[];
  state: StoreStateView;
  events: EntryEventView[];
  receipts: ReceiptView[];
  stock: StockView[];
  sync: SyncView;
  /** Who is signed in, and the CSRF token the page's forms carry. */
  user: SessionUser;
  csrf: string;
  audit: AuditRecord[];
  review: ReviewItem[];
  accounts: AdminAccount[];
  /** The active alarms; undefined with alarms.enabled false. */
  alarms?: AlarmRow[] | undefined;
  /** A refused form (edge/http/form-refusal.ts): shown beside it, and the page does not reload itself. */
  refusal?: FormRefusal;
}

const ROLE_ZH: Record<string, string> = { maintainer: '门店维护员', village_admin: '村管理员' };

/**
 * Block or unblock: a button of the one form around the villager table (the CSRF token once per
 * page, not per row); the button sends the status and its own action URL. No script on the page.
 */
function statusButton(v: Villager): string {
  if (v.status === 'left') return '—';
  const to = v.status === 'blocked' ? 'active' : 'blocked';
  return `<button type="submit" name="status" value="${to}" formaction="/api/villagers/${esc(encodeURIComponent(v.id))}/status" data-action="${to === 'blocked' ? 'block' : 'unblock'}">${to === 'blocked' ? '冻结' : '解冻'}</button>`;
}

function villagerPager(p: AdminPageData['villagerPage']): string {
  if (p.total <= p.perPage && p.page === 1) return '';
  const first = (p.page - 1) * p.perPage + 1;
  const last = Math.min(p.total, p.page * p.perPage);
  const prev = p.page > 1 ? ` <a href="/?villagers=${p.page - 1}">上一页</a>` : '';
  const next = last < p.total ? ` <a href="/?villagers=${p.page + 1}">下一页</a>` : '';
  return `<p id="villager-pages">第 ${first > p.total ? 0 : first}–${last} 位，共 ${p.total} 位${prev}${next}</p>`;
}

/**
 * The parts of the admin page that change while it is open, each the HTML inside one
 * `<div data-part="NAME">`: the page's script (assets/admin.js) puts fresh ones in place
 * (`GET /api/admin-page`) instead of reloading. Forms that are typed in (cards, accounts) are
 * not parts, so a value being typed is never lost; the villager table's buttons belong to the
 * form around its part, which keeps the CSRF token.
 */
export type AdminPartData = Omit<AdminPageData, 'user' | 'csrf' | 'accounts'>;

export function adminParts(d: AdminPartData): Record<string, string> {
  const parts = Object.entries(d.health.parts)
    .map(([name, p]) => `<tr><td>${esc(name)}</td><td class="${p.health === 'ok' ? 'ok' : 'bad'}">${esc(STATUS_ZH[p.health] ?? p.health)}</td><td>${esc(p.detail ?? '')}</td></tr>`)
    .join('');
  const faults = d.health.faults
    .map((f) => `<tr data-fault="${esc(f.source)}"><td>${esc(f.source)}</td><td class="bad">${esc(f.code)}</td><td>${esc(time(f.since))} ${esc(f.detail)}</td></tr>`)
    .join('');
  const villagers = d.villagers
    .map((v) => `<tr><td>${esc(v.id)}</td><td>${esc(v.name)}</td><td>${esc(v.village)}</td><td>${esc(v.status === 'active' ? '正常' : v.status === 'blocked' ? '已冻结' : '已迁出')}</td><td class="balance">${v.balance}</td><td>${v.debt || ''}</td><td>${v.faceConsentAt ? '已同意' : '未同意'}</td><td>${statusButton(v)}</td></tr>`)
    .join('');
  const sessions = d.sessions
    .map((s) => `<tr><td>${esc(s.openedAt.replace('T', ' ').slice(0, 19))}</td><td>${esc(s.villagerId)}</td><td>${esc(s.kind === 'restock' ? '补货' : '购物')}</td><td>${esc(SESSION_ZH[s.status] ?? s.status)}</td><td>${esc(PHASE_ZH[s.state] ?? s.state)}</td><td>${s.totalPoints ?? ''}</td></tr>`)
    .join('');
  return {
    status: `<strong class="${d.health.status === 'ok' ? 'ok' : 'bad'}" id="status">${esc(STATUS_ZH[d.health.status] ?? d.health.status)}</strong>`,
    store: storeStateSection(d.state),
    alarms: alarmsSection(d.alarms),
    events: entryEventsSection(d.events),
    receipts: receiptsSection(d.receipts),
    review: reviewSection(d.review, null),
    stock: stockSection(d.stock),
    sync: syncSection(d.sync),
    villager_pages: villagerPager(d.villagerPage),
    villagers: `<table id="villagers"><tr><th>编号</th><th>姓名</th><th>村</th><th>状态</th><th>积分</th><th>欠分</th><th>人脸授权</th><th>操作</th></tr>${villagers}</table>`,
    sessions: `<table id="sessions"><tr><th>时间</th><th>村民</th><th>类型</th><th>状态</th><th>阶段</th><th>积分</th></tr>${sessions}</table>`,
    components: `<table id="components"><tr><th>组件</th><th>状态</th><th>说明</th></tr>${parts}${faults}</table>`,
    audit: auditSection(d.audit),
  };
}

const part = (name: string, html: string, inline = false): string => (inline ? `<span data-part="${name}">${html}</span>` : `<div data-part="${name}">${html}</div>`);

export function adminPage(d: AdminPageData): string {
  const p = adminParts(d);
  return layout(
    `${d.store.name} · 管理`,
    `<h1>${esc(d.store.name)} · 门店管理</h1>
<p id="signed-in">${esc(d.user.display_name)}（${esc(ROLE_ZH[d.user.role] ?? d.user.role)}）已登录 · <form class="inline" method="post" action="/logout"><input type="hidden" name="_csrf" value="${esc(d.csrf)}"><button type="submit" id="logout">退出登录</button></form></p>
<p>状态：${part('status', p.status!, true)} · 门店编号 ${esc(d.store.id)} · <a href="/live" id="live-link">实时页面</a> · <a href="/board">积分公示栏</a> · <span id="page-status" data-state="static">本页不会自动更新（需要启用 JavaScript）</span></p>
${part('store', p.store!)}
${part('alarms', p.alarms!)}
${part('events', p.events!)}
${part('receipts', p.receipts!)}
${part('review', p.review!)}
${part('stock', p.stock!)}
${part('sync', p.sync!)}
<h2>村民</h2>${formMessage(d.refusal, 'status')}${part('villager_pages', p.villager_pages!)}<form method="post" action="/api/villagers" id="villager-actions"><input type="hidden" name="_csrf" value="${esc(d.csrf)}">${part('villagers', p.villagers!)}</form>
<h2>最近购物</h2>${part('sessions', p.sessions!)}
<h2>组件</h2>${part('components', p.components!)}
${cardsSection(d.csrf, d.refusal)}
${accountsSection(d.accounts, d.csrf, d.user.role === 'village_admin')}
${part('audit', p.audit!)}
<script src="/assets/admin.js" defer></script>`,
  );
}

/**
 * The review queue with its forms, on a page of its own that does not reload itself. A purchase
 * is offered a refund while something of it is left to refund (`refundable`: the settlement and
 * review charges, less refunds made, as the refund route counts it), up to that.
 */
export function reviewPage(d: { store: StoreConfig; items: ReviewItem[]; csrf: string; products?: Product[]; receipts?: ReceiptView[]; refundable?: ReadonlyMap<string, { cost: number; refunded: number; left: number }>; refusal?: FormRefusal | undefined }): string {
  // a refused line that is no longer open (resolved meanwhile) has no row to show the message in
  const lost = d.refusal && d.refusal.form.startsWith('review-') && !d.items.some((i) => `review-${i.id}` === d.refusal!.form) ? formMessage(d.refusal, d.refusal.form) : '';
  const refunds = (d.receipts ?? [])
    .flatMap((r) => {
      const left = d.refundable?.get(r.session);
      return r.kind === 'shopping' && left && left.left > 0 ? [{ r, left }] : [];
    })
    .map(({ r, left }) => `<tr data-session="${esc(r.session)}"><td>${esc(time(r.closed_at))}</td><td>${esc(r.villager_name)}</td><td>${esc(r.lines.map((l) => `${l.name} ×${l.count}`).join('、') || '—')}</td><td data-cost>${left.cost}${left.cost !== r.total_points ? `<br><small>（结算 ${r.total_points}，核对补扣 ${left.cost - r.total_points}）</small>` : ''}</td><td data-refunded>${left.refunded || '—'}</td>
<td><form class="inline" method="post" action="/api/receipts/${esc(encodeURIComponent(r.session))}/refund"><input type="hidden" name="_csrf" value="${esc(d.csrf)}">${requestField()}<input name="points" type="number" min="1" max="${left.left}" required aria-label="退还积分（最多 ${left.left}）" title="最多还能退 ${left.left} 分" style="width:5rem"> <input name="reason" required maxlength="200" placeholder="原因（如：商品过期）" aria-label="退分原因"> <button type="submit" data-action="refund">退分</button></form></td></tr>`)
    .join('');
  return layout(`${d.store.name} · 待核对`, `<h1>${esc(d.store.name)} · 待核对</h1><p><a href="/">返回管理页</a></p>
<p>补扣：按实际拿走的商品扣积分（积分不足时记为欠分）；免扣：不扣积分；更正：选出实际拿走的商品和数量，按今天的价格扣分；已核对：结算时已照常扣过分的记录（库存不足、超出离线额度）只需核对，不能再扣分。每条只能处理一次。</p>
${lost}${reviewSection(d.items, d.csrf, (d.products ?? []).filter((p) => p.active), d.refusal)}
<h2 id="receipts">退分</h2><p>退分记为一笔新的退分流水（不改原来的扣分），同步到村账本；每笔购物最多退到它所扣的积分（结算时扣的加上核对补扣的），减去已退的。</p>
<table id="refunds"><tr><th>结算时间</th><th>村民</th><th>商品</th><th>应扣积分</th><th>已退</th><th>退分</th></tr>${refunds || '<tr><td colspan="6">—</td></tr>'}</table>`);
}
