/**
 * The store's month statement for the village accountant (`/statement?month=2026-11`): the
 * purchases settled in the month per villager (points charged, debt added, refunds, net) and
 * per product (count, points), the month taken in the store's time zone (`jobs.timezone`).
 * The same tables as CSV (`/statement.csv?month=…&part=villagers|products`): UTF-8 with a BOM so
 * Excel opens the Chinese, the column names Chinese first, a total row last. Behind the admin
 * login like every admin page. What counts where: edge/ledger/statement.ts.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Db } from '../ledger/db.ts';
import { statementRows, type StatementRows } from '../ledger/statement.ts';
import { systemClock, type Clock } from '../ledger/time.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { otherLang } from './admin-words.ts';
import { layout } from './pages.ts';
import { LangQuery, langOf, rememberLang } from './lang.ts';
import { formatTime } from './time-format.ts';
import { monthOf, monthRange, type MonthRange } from './statement-month.ts';

const MONTH = Type.String({ pattern: '^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$', description: 'The month, `YYYY-MM`, in the store\'s time zone; absent: this month' });
export const StatementQuery = Type.Object({ month: Type.Optional(MONTH), ...LangQuery }, { additionalProperties: false });
export const StatementCsvQuery = Type.Object({
  month: Type.Optional(MONTH),
  part: Type.Union([Type.Literal('villagers'), Type.Literal('products')], { default: 'villagers', description: 'Which table: per villager or per product' }),
  ...LangQuery,
}, { additionalProperties: false });

const T = {
  zh: {
    title: '月结单', back: '返回管理页', show: '查看', prev: '上个月', next: '下个月',
    period: (from: string, to: string, tz: string) => `按门店时区（${tz}）计：${from} 至 ${to}（不含）结算的购物，和这期间的退分。`,
    how: '实扣：结算时从余额扣的积分；新增欠分：余额不足时记的欠分；退分：这个月退回的积分（不论退的是哪个月的购物）；净额 = 实扣 + 新增欠分 − 退分。事后核对补扣的积分不在小票里，也不在此表中。',
    byVillager: '按村民', byProduct: '按商品', name: '姓名', id: '村民编号', receipts: '小票数', charged: '实扣积分', debt: '新增欠分', refunds: '退分', net: '净额',
    product: '商品名称', sku: '编码', count: '数量', points: '积分', total: '合计', none: '这个月没有购物或退分',
    csvVillagers: '下载按村民 CSV', csvProducts: '下载按商品 CSV',
    sum: (n: number, due: number) => `共 ${n} 张小票，应扣 ${due} 分。`,
  },
  en: {
    title: 'Month statement', back: 'Back to admin', show: 'Show', prev: 'Previous month', next: 'Next month',
    period: (from: string, to: string, tz: string) => `In the store's time zone (${tz}): purchases settled from ${from} up to ${to}, and refunds made then.`,
    how: 'Charged: points taken from the balance at settlement; Debt added: what went into debt when the balance was short; Refunds: points refunded this month (whatever month the purchase was); Net = charged + debt − refunds. Points charged later on review are not on the receipts and not here.',
    byVillager: 'By villager', byProduct: 'By product', name: 'Name', id: 'Villager id', receipts: 'Receipts', charged: 'Charged', debt: 'Debt added', refunds: 'Refunds', net: 'Net',
    product: 'Product', sku: 'SKU', count: 'Count', points: 'Points', total: 'Total', none: 'No purchases or refunds this month',
    csvVillagers: 'Download by villager (CSV)', csvProducts: 'Download by product (CSV)',
    sum: (n: number, due: number) => `${n} receipts, ${due} points due.`,
  },
};

/** The CSV columns, Chinese first. */
const VILLAGER_COLUMNS = ['姓名 name', '村民编号 villager_id', '小票数 receipts', '实扣积分 charged', '新增欠分 debt_added', '退分 refunds', '净额 net'];
const PRODUCT_COLUMNS = ['商品名称 name', '编码 sku', '数量 count', '积分 points'];

export interface StatementDeps {
  db: () => Db;
  storeName: string;
  /** The store's time zone (`jobs.timezone`); absent: the system's. */
  timeZone?: string | undefined;
  clock?: Clock;
}

export interface Statement { range: MonthRange; rows: StatementRows }

export const netOf = (v: { charged: number; debt: number; refunds: number }): number => v.charged + v.debt - v.refunds;

export function statement(db: Db, month: string, timeZone: string | undefined): Statement {
  const range = monthRange(month, timeZone);
  return { range, rows: statementRows(db, range.from, range.to) };
}

/** One CSV field: quoted when it must be, and a text starting like a formula kept as text. */
function field(v: string | number): string {
  if (typeof v === 'number') return String(v);
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const csv = (rows: Array<Array<string | number>>): string => `\uFEFF${rows.map((r) => r.map(field).join(',')).join('\r\n')}\r\n`;

export function statementCsv(s: Statement, part: 'villagers' | 'products'): string {
  const { villagers, products, totals } = s.rows;
  if (part === 'products') {
    return csv([PRODUCT_COLUMNS, ...products.map((p) => [p.name, p.sku, p.count, p.points]), ['合计 total', '', products.reduce((n, p) => n + p.count, 0), totals.total_points]]);
  }
  return csv([
    VILLAGER_COLUMNS,
    ...villagers.map((v) => [v.name ?? '', v.villager_id, v.receipts, v.charged, v.debt, v.refunds, netOf(v)]),
    ['合计 total', '', totals.receipts, totals.charged, totals.debt, totals.refunds, netOf(totals)],
  ]);
}

export function statementPage(d: { storeName: string; statement: Statement; lang: Lang; timeZone: string | undefined }): string {
  const t = T[d.lang];
  const { range, rows } = d.statement;
  const { villagers, products, totals } = rows;
  const tz = d.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const m = encodeURIComponent(range.month);
  const villagerRows = villagers.map((v) => `<tr data-villager="${esc(v.villager_id)}"><td>${esc(v.name ?? '—')}</td><td>${esc(v.villager_id)}</td><td>${v.receipts}</td><td>${v.charged}</td><td>${v.debt}</td><td>${v.refunds}</td><td>${netOf(v)}</td></tr>`).join('');
  const productRows = products.map((p) => `<tr data-sku="${esc(p.sku)}"><td>${esc(p.name)}</td><td>${esc(p.sku)}</td><td>${p.count}</td><td>${p.points}</td></tr>`).join('');
  const empty = villagers.length === 0 ? `<p id="statement-empty">${t.none}</p>` : '';
  return layout(`${d.storeName} · ${t.title} ${range.month}`, `<h1>${esc(d.storeName)} · ${t.title} ${esc(range.month)}</h1>
<p><a href="/">${t.back}</a> · ${otherLang(d.lang, `/statement?month=${m}`)}</p>
<form method="get" action="/statement"><input type="month" name="month" value="${esc(range.month)}" required> <button>${t.show}</button>
<a href="/statement?month=${esc(range.prev)}">${t.prev}</a> · <a href="/statement?month=${esc(range.next)}">${t.next}</a></form>
<p id="statement-period">${esc(t.period(formatTime(range.from, d.timeZone), formatTime(range.to, d.timeZone), tz))}</p>
<p>${t.how}</p>
<p id="statement-sum">${esc(t.sum(totals.receipts, totals.total_points))} <a href="/statement.csv?month=${m}&amp;part=villagers" download>${t.csvVillagers}</a> · <a href="/statement.csv?month=${m}&amp;part=products" download>${t.csvProducts}</a></p>
${empty}<h2>${t.byVillager}</h2><table id="statement-villagers"><tr><th>${t.name}</th><th>${t.id}</th><th>${t.receipts}</th><th>${t.charged}</th><th>${t.debt}</th><th>${t.refunds}</th><th>${t.net}</th></tr>${villagerRows}
<tr class="total"><th>${t.total}</th><td></td><td>${totals.receipts}</td><td>${totals.charged}</td><td>${totals.debt}</td><td>${totals.refunds}</td><td>${netOf(totals)}</td></tr></table>
<h2>${t.byProduct}</h2><table id="statement-products"><tr><th>${t.product}</th><th>${t.sku}</th><th>${t.count}</th><th>${t.points}</th></tr>${productRows}
<tr class="total"><th>${t.total}</th><td></td><td>${products.reduce((n, p) => n + p.count, 0)}</td><td>${totals.total_points}</td></tr></table>`, undefined, d.lang);
}

export function registerStatement(scope: FastifyInstance, deps: StatementDeps): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const monthAsked = (month: string | undefined): string => month ?? monthOf((deps.clock ?? systemClock)(), deps.timeZone);

  app.get('/statement', { schema: { querystring: StatementQuery } }, async (req, reply) => {
    rememberLang(req, reply);
    const s = statement(deps.db(), monthAsked(req.query.month), deps.timeZone);
    return reply.type('text/html; charset=utf-8').send(statementPage({ storeName: deps.storeName, statement: s, lang: langOf(req), timeZone: deps.timeZone }));
  });

  app.get('/statement.csv', { schema: { querystring: StatementCsvQuery } }, async (req, reply) => {
    const s = statement(deps.db(), monthAsked(req.query.month), deps.timeZone);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="store-statement-${s.range.month}-${req.query.part}.csv"`)
      .header('cache-control', 'no-store')
      .send(statementCsv(s, req.query.part));
  });
}
