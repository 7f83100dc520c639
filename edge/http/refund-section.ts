/**
 * The refund forms, one per settled purchase with something left to refund, on /review (every
 * villager's purchases, paged) and on a villager's page (theirs, paged): the same form, the same
 * route (edge/http/refund-actions.ts) and checks. A refused form is shown again with the message
 * beside its field and what was typed; a purchase no longer offered (refunded in full meanwhile,
 * from another tablet) has its refusal shown above the table.
 */
import type { RefundablePurchase } from '../ledger/refunds.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { fieldMessage, focusIfWrong, formMessage, kept, requestField, type FormRefusal } from './form-fields.ts';

/** A purchase as its refund form shows it: what was bought, by name and count. */
export interface RefundRow extends RefundablePurchase {
  lines: ReadonlyArray<{ name: string; count: number }>;
}

/** Purchases per page of refund forms. */
export const REFUND_PAGE = 20;

/** The name of a purchase's refund form (the refusal's `form`). */
export const refundForm = (session: string): string => `refund-${session}`;

const FIELDS = ['points', 'reason'];

const T = {
  zh: {
    closedAt: '结算时间', villager: '村民', goods: '商品', due: '应扣积分', refunded: '已退', refund: '退分', list: '、', none: '没有可退分的购物', older: '更早的购物', newest: '回到最新',
    split: (settled: number, extra: number) => `（结算 ${settled}，核对补扣 ${extra}）`, most: (n: number) => `退还积分（最多 ${n}）`, mostTitle: (n: number) => `最多还能退 ${n} 分`, reason: '原因（如：商品过期）', reasonLabel: '退分原因',
  },
  en: {
    closedAt: 'Settled at', villager: 'Villager', goods: 'Products', due: 'Points charged', refunded: 'Refunded', refund: 'Refund', list: ', ', none: 'No purchase left to refund', older: 'Older purchases', newest: 'Back to the newest',
    split: (settled: number, extra: number) => ` (settled ${settled}, charged at review ${extra})`, most: (n: number) => `Points to refund (at most ${n})`, mostTitle: (n: number) => `at most ${n} left to refund`, reason: 'Reason (e.g. past its date)', reasonLabel: 'Reason for the refund',
  },
};

export interface RefundSection {
  rows: readonly RefundRow[];
  csrf: string;
  lang: Lang;
  time: (iso: string | null) => string;
  refusal?: FormRefusal | undefined;
  /** The villager whose page this is (the forms say so, to be answered with it); absent: /review. */
  villager?: string;
  /** This page's cursor (the forms carry it, to be answered with this page again). */
  before?: string | undefined;
  /** The older page's link, and the newest page's when this is an older one. */
  olderHref?: string | null;
  newestHref?: string | undefined;
}

export function refundTable(d: RefundSection): string {
  const t = T[d.lang];
  const r = d.refusal;
  const page = `${d.villager !== undefined ? `<input type="hidden" name="_page" value="villager">` : ''}${d.before !== undefined ? `<input type="hidden" name="_before" value="${esc(d.before)}">` : ''}`;
  const lost = r && r.form.startsWith('refund-') && !d.rows.some((p) => refundForm(p.session) === r.form) ? `<p class="bad form-error" role="alert" id="refund-error" data-form="${esc(r.form)}">${esc(r.zh)}<br>${esc(r.en)}</p>` : '';
  const rows = d.rows
    .map((p) => {
      const form = refundForm(p.session);
      const cells = `<td>${esc(d.time(p.closedAt))}</td>${d.villager === undefined ? `<td>${esc(p.villagerName)}</td>` : ''}<td>${esc(p.lines.map((l) => `${l.name} ×${l.count}`).join(t.list) || '—')}</td><td data-cost>${p.cost}${p.cost !== p.totalPoints ? `<br><small>${esc(t.split(p.totalPoints, p.cost - p.totalPoints))}</small>` : ''}</td><td data-refunded>${p.refunded || '—'}</td>`;
      return `<tr data-session="${esc(p.session)}">${cells}
<td><form class="inline" method="post" action="/api/receipts/${esc(encodeURIComponent(p.session))}/refund"><input type="hidden" name="_csrf" value="${esc(d.csrf)}">${requestField()}${page}${formMessage(r, form, FIELDS)}<input name="points" type="number" min="1" max="${p.left}" required aria-label="${esc(t.most(p.left))}" title="${esc(t.mostTitle(p.left))}" style="width:5rem" value="${esc(kept(r, form, 'points'))}"${focusIfWrong(r, form, 'points', FIELDS)}> <input name="reason" required maxlength="200" placeholder="${t.reason}" aria-label="${t.reasonLabel}" value="${esc(kept(r, form, 'reason'))}"${focusIfWrong(r, form, 'reason', FIELDS)}> <button type="submit" data-action="refund">${t.refund}</button>${fieldMessage(r, form, 'points')}${fieldMessage(r, form, 'reason')}</form></td></tr>`;
    })
    .join('');
  const cols = d.villager === undefined ? 6 : 5;
  const links = [d.newestHref ? `<a href="${esc(d.newestHref)}" id="refunds-newest">${t.newest}</a>` : '', d.olderHref ? `<a href="${esc(d.olderHref)}" id="refunds-older">${t.older}</a>` : ''].filter(Boolean).join(' · ');
  return `${lost}<table id="refunds"><tr><th>${t.closedAt}</th>${d.villager === undefined ? `<th>${t.villager}</th>` : ''}<th>${t.goods}</th><th>${t.due}</th><th>${t.refunded}</th><th>${t.refund}</th></tr>${rows || `<tr><td colspan="${cols}">${t.none}</td></tr>`}</table>${links ? `<p>${links}</p>` : ''}`;
}
