/** Server-rendered pages: the shared layout and the admin page (`/`), Chinese or English. Every value is escaped. */
import type { StoreConfig } from '../config/schema.ts';
import type { HealthReport } from '../parts.ts';
import type { Villager } from '../ledger/villagers.ts';
import type { StoreSession } from '../ledger/sessions.ts';
import type { EntryEventView, ReceiptView, StockView, StoreStateView, SyncView } from './queries.ts';
import type { Lang } from './door-words.ts';
import { entryEventsSection, esc, receiptsSection, stockSection, storeStateSection, syncSection } from './admin-sections.ts';
import { formatTime } from './time-format.ts';
import { HEALTH, otherLang, PHASE, ROLE, say, SESSION_STATUS, VILLAGER_STATUS } from './admin-words.ts';
import { accountsSection, auditSection, cardsSection, reviewSection } from './audit-section.ts';
import type { AdminAccount } from '../ledger/admin-accounts.ts';
import type { ReviewItem } from '../ledger/review.ts';
import type { SessionUser } from './session-user.ts';
import type { AuditRecord } from '../ledger/audit.ts';
import type { AlarmRow } from '../ledger/alarms.ts';
import { alarmsSection } from './alarms-section.ts';
import { formMessage, type FormRefusal } from './form-fields.ts';

export { esc };

export function layout(title: string, body: string, refreshS?: number, lang: Lang = 'zh'): string {
  return `<!doctype html><html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
${refreshS ? `<meta http-equiv="refresh" content="${refreshS}">` : ''}<title>${esc(title)}</title>
<style>body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#222}table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f3f3f3}td{white-space:nowrap}td.review,td.detail{white-space:normal}.ok{color:#080}.bad{color:#b00}h1{font-size:1.5rem}
form.login{max-width:22rem}form.login label{display:block;margin:.6rem 0 .2rem}form.login input,form.login select{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{padding:.4rem .9rem;font-size:1rem}.field-error{color:#b00;font-size:.9rem}form.inline{display:inline;margin:0}
[data-part] table,#review-queue,#refunds,#active-alarms,#recent-alarms,#account-list{display:block;max-width:100%;overflow-x:auto}
#audit td,td:has(form){white-space:normal;overflow-wrap:anywhere}#audit td{min-width:4.5rem}</style>
</head><body>${body}</body></html>`;
}

const T = {
  zh: {
    block: '冻结', unblock: '解冻', prev: '上一页', next: '下一页', range: (a: number, b: number, n: number) => `第 ${a}–${b} 位，共 ${n} 位`, consent: '已同意', noConsent: '未同意', restock: '补货', shopping: '购物',
    id: '编号', name: '姓名', village: '村', status: '状态', points: '积分', debt: '欠分', face: '人脸授权', action: '操作', at: '时间', villager: '村民', kind: '类型', phase: '阶段', component: '组件', detail: '说明',
    title: '管理', heading: '门店管理', signedIn: (who: string, role: string) => `${who}（${role}）已登录`, logout: '退出登录', state: '状态：', storeId: '门店编号', live: '实时页面', board: '积分公示栏',
    static: '本页不会自动更新（需要启用 JavaScript）', villagers: '村民', sessions: '最近购物', components: '组件',
    reviewShown: (n: number, total: number) => `显示最早的 ${n} 条 / 共 ${total} 条`, reviewAll: '到待核对页处理全部',
  },
  en: {
    block: 'Block', unblock: 'Unblock', prev: 'Previous page', next: 'Next page', range: (a: number, b: number, n: number) => `Villagers ${a}–${b} of ${n}`, consent: 'consented', noConsent: 'no consent', restock: 'restocking', shopping: 'shopping',
    id: 'Id', name: 'Name', village: 'Village', status: 'Status', points: 'Points', debt: 'Debt', face: 'Face consent', action: 'Action', at: 'Time', villager: 'Villager', kind: 'Kind', phase: 'Phase', component: 'Component', detail: 'Detail',
    title: 'Admin', heading: 'Store admin', signedIn: (who: string, role: string) => `${who} (${role}) signed in`, logout: 'Log out', state: 'Status: ', storeId: 'store', live: 'Live page', board: 'Points board',
    static: 'This page does not update itself (it needs JavaScript)', villagers: 'Villagers', sessions: 'Latest visits', components: 'Components',
    reviewShown: (n: number, total: number) => `the oldest ${n} of ${total} shown`, reviewAll: 'review them all',
  },
};

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
  /** How many review lines are open (`review` is the oldest of them). */
  reviewOpen: number;
  accounts: AdminAccount[];
  /** The active alarms; undefined with alarms.enabled false. */
  alarms?: AlarmRow[] | undefined;
  /** A refused form (edge/http/form-refusal.ts): shown beside it, and the page does not reload itself. */
  refusal?: FormRefusal;
  /** The page's language (edge/http/lang.ts); Chinese by default. */
  lang?: Lang;
  /** The store's time zone (`jobs.timezone`); undefined: the system's. Every time on the page is shown in it (./time-format.ts). */
  timeZone?: string | undefined;
}

/**
 * Block or unblock: a button of the one form around the villager table (the CSRF token once per
 * page, not per row); the button sends the status and its own action URL. No script on the page.
 */
function statusButton(v: Villager, lang: Lang): string {
  if (v.status === 'left') return '—';
  const to = v.status === 'blocked' ? 'active' : 'blocked';
  return `<button type="submit" name="status" value="${to}" formaction="/api/villagers/${esc(encodeURIComponent(v.id))}/status" data-action="${to === 'blocked' ? 'block' : 'unblock'}">${to === 'blocked' ? T[lang].block : T[lang].unblock}</button>`;
}

function villagerPager(p: AdminPageData['villagerPage'], lang: Lang): string {
  const t = T[lang];
  if (p.total <= p.perPage && p.page === 1) return '';
  const first = (p.page - 1) * p.perPage + 1;
  const last = Math.min(p.total, p.page * p.perPage);
  const prev = p.page > 1 ? ` <a href="/?villagers=${p.page - 1}">${t.prev}</a>` : '';
  const next = last < p.total ? ` <a href="/?villagers=${p.page + 1}">${t.next}</a>` : '';
  return `<p id="villager-pages">${t.range(first > p.total ? 0 : first, last, p.total)}${prev}${next}</p>`;
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
  const lang = d.lang ?? 'zh';
  const tz = d.timeZone;
  const t = T[lang];
  const parts = Object.entries(d.health.parts)
    .map(([name, p]) => `<tr><td>${esc(name)}</td><td class="${p.health === 'ok' ? 'ok' : 'bad'}">${esc(say(HEALTH, lang, p.health))}</td><td>${esc(p.detail ?? '')}</td></tr>`)
    .join('');
  const faults = d.health.faults
    .map((f) => `<tr data-fault="${esc(f.source)}"><td>${esc(f.source)}</td><td class="bad">${esc(f.code)}</td><td>${esc(formatTime(f.since, tz))} ${esc(f.detail)}</td></tr>`)
    .join('');
  const villagers = d.villagers
    .map((v) => `<tr><td>${esc(v.id)}</td><td>${esc(v.name)}</td><td>${esc(v.village)}</td><td>${esc(say(VILLAGER_STATUS, lang, v.status))}</td><td class="balance">${v.balance}</td><td>${v.debt || ''}</td><td>${v.faceConsentAt ? t.consent : t.noConsent}</td><td>${statusButton(v, lang)}</td></tr>`)
    .join('');
  const sessions = d.sessions
    .map((s) => `<tr><td>${esc(formatTime(s.openedAt, tz))}</td><td>${esc(s.villagerId)}</td><td>${esc(s.kind === 'restock' ? t.restock : t.shopping)}</td><td>${esc(say(SESSION_STATUS, lang, s.status))}</td><td>${esc(say(PHASE, lang, s.state))}</td><td>${s.totalPoints ?? ''}</td></tr>`)
    .join('');
  return {
    status: `<strong class="${d.health.status === 'ok' ? 'ok' : 'bad'}" id="status">${esc(say(HEALTH, lang, d.health.status))}</strong>`,
    store: storeStateSection(d.state, lang, tz),
    alarms: alarmsSection(d.alarms, lang, tz),
    events: entryEventsSection(d.events, lang, tz),
    receipts: receiptsSection(d.receipts, lang, tz),
    review: reviewSection(d.review, null, [], undefined, lang, tz, d.reviewOpen > d.review.length ? `<p id="review-count" data-open="${d.reviewOpen}">${esc(t.reviewShown(d.review.length, d.reviewOpen))} · <a href="/review">${t.reviewAll}</a></p>` : ''),
    stock: stockSection(d.stock, lang),
    sync: syncSection(d.sync, lang, tz),
    villager_pages: villagerPager(d.villagerPage, lang),
    villagers: `<table id="villagers"><tr><th>${t.id}</th><th>${t.name}</th><th>${t.village}</th><th>${t.status}</th><th>${t.points}</th><th>${t.debt}</th><th>${t.face}</th><th>${t.action}</th></tr>${villagers}</table>`,
    sessions: `<table id="sessions"><tr><th>${t.at}</th><th>${t.villager}</th><th>${t.kind}</th><th>${t.status}</th><th>${t.phase}</th><th>${t.points}</th></tr>${sessions}</table>`,
    components: `<table id="components"><tr><th>${t.component}</th><th>${t.status}</th><th>${t.detail}</th></tr>${parts}${faults}</table>`,
    audit: auditSection(d.audit, lang, tz),
  };
}

const part = (name: string, html: string, inline = false): string => (inline ? `<span data-part="${name}">${html}</span>` : `<div data-part="${name}">${html}</div>`);

export function adminPage(d: AdminPageData): string {
  const lang = d.lang ?? 'zh';
  const t = T[lang];
  const p = adminParts(d);
  return layout(
    `${d.store.name} · ${t.title}`,
    `<h1>${esc(d.store.name)} · ${t.heading}</h1>
<p id="signed-in">${esc(t.signedIn(d.user.display_name, say(ROLE, lang, d.user.role)))} · <form class="inline" method="post" action="/logout"><input type="hidden" name="_csrf" value="${esc(d.csrf)}"><button type="submit" id="logout">${t.logout}</button></form></p>
<p>${t.state}${part('status', p.status!, true)} · ${t.storeId} ${esc(d.store.id)} · <a href="/live" id="live-link">${t.live}</a> · <a href="/board">${t.board}</a> · ${otherLang(lang, '/')} · <span id="page-status" data-state="static">${t.static}</span></p>
${part('store', p.store!)}
${part('alarms', p.alarms!)}
${part('events', p.events!)}
${part('receipts', p.receipts!)}
${part('review', p.review!)}
${part('stock', p.stock!)}
${part('sync', p.sync!)}
<h2>${t.villagers}</h2>${formMessage(d.refusal, 'status')}${part('villager_pages', p.villager_pages!)}<form method="post" action="/api/villagers" id="villager-actions"><input type="hidden" name="_csrf" value="${esc(d.csrf)}">${part('villagers', p.villagers!)}</form>
<h2>${t.sessions}</h2>${part('sessions', p.sessions!)}
<h2>${t.components}</h2>${part('components', p.components!)}
${cardsSection(d.csrf, d.refusal, lang)}
${accountsSection(d.accounts, d.csrf, d.user.role === 'village_admin', lang, d.refusal, d.timeZone)}
${part('audit', p.audit!)}
<script src="/assets/admin.js" defer></script>`,
    undefined,
    lang,
  );
}
