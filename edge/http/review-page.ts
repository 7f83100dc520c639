/**
 * The review queue with its forms, on a page of its own that does not reload itself (`/review`),
 * Chinese or English. A purchase is offered a refund while something of it is left to refund
 * (`refundable`: the settlement and review charges, less refunds made, as the refund route counts
 * it), up to that.
 */
import type { StoreConfig } from '../config/schema.ts';
import type { Product } from '../ledger/products.ts';
import type { ReviewItem } from '../ledger/review.ts';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';
import { EMPTY, formatTime } from './time-format.ts';
import { reviewSection } from './audit-section.ts';
import { otherLang } from './admin-words.ts';
import { formMessage, type FormRefusal } from './form-fields.ts';
import { refundTable, type RefundRow } from './refund-section.ts';
import { layout } from './pages.ts';
import { doneHtml, type DoneNotice } from './done-notice.ts';

const T = {
  zh: {
    title: '待核对', back: '返回管理页', list: '、', range: (a: number, b: number, n: number) => `第 ${a}–${b} 条，共 ${n} 条（最早的在前）`, prev: '上一页', next: '下一页',
    how: '补扣：按实际拿走的商品扣积分（积分不足时记为欠分）；免扣：不扣积分；更正：选出实际拿走的商品和数量，按今天的价格扣分；已核对：结算时已照常扣过分的记录（库存不足、超出离线额度）只需核对，不能再扣分。每条只能处理一次。',
    refunds: '退分', refundHow: '退分记为一笔新的退分流水（不改原来的扣分），同步到村账本；每笔购物最多退到它所扣的积分（结算时扣的加上核对补扣的），减去已退的。下面列出还有可退积分的购物，从最新的开始；更早的购物点“更早的购物”，或在村民页面找到该村民的购物。',
  },
  en: {
    title: 'To review', back: 'Back to admin', list: ', ', range: (a: number, b: number, n: number) => `Lines ${a}–${b} of ${n} (oldest first)`, prev: 'Previous page', next: 'Next page',
    how: 'Charge: points for what was really taken (below zero becomes debt); Waive: no points; Correct: choose the product and count really taken, charged at today\'s price; Checked: lines already charged at settlement (stock short, over the offline allowance) are only checked, never charged again. Each line is handled once.',
    refunds: 'Refunds', refundHow: 'A refund is a new refund entry (the charge stays as it was), sent to the village ledger; a purchase is refunded at most what it was charged (at settlement and by review), less what was refunded already. Below are the purchases with something left to refund, newest first; for older ones follow “Older purchases”, or find the villager\'s purchases on their page.',
  },
};

/** The refund forms' page of /review: the purchases, this page's cursor and the older page's. */
export interface ReviewRefunds { rows: readonly RefundRow[]; before?: string | undefined; next: string | null }

/** Which page of the open lines `items` is: the queue is listed a page at a time, oldest first. */
export interface ReviewQueuePage { page: number; perPage: number; total: number }

/** `Lines 51–74 of 74` with the links to the other pages, when the open lines do not fit on one. */
function queuePager(q: ReviewQueuePage, shown: number, lang: Lang): string {
  if (q.total <= q.perPage && q.page === 1) return '';
  const t = T[lang];
  const first = (q.page - 1) * q.perPage + 1;
  const prev = q.page > 1 ? ` <a href="/review?page=${q.page - 1}" data-page="prev">${t.prev}</a>` : '';
  const next = first - 1 + shown < q.total ? ` <a href="/review?page=${q.page + 1}" data-page="next">${t.next}</a>` : '';
  return `<p id="review-pages" data-open="${q.total}">${esc(t.range(shown > 0 ? first : 0, first - 1 + shown, q.total))}${prev}${next}</p>`;
}

export function reviewPage(d: { store: StoreConfig; items: ReviewItem[]; csrf: string; products?: Product[]; refunds?: ReviewRefunds; refusal?: FormRefusal | undefined; lang?: Lang; timeZone?: string | undefined; queue?: ReviewQueuePage; done?: DoneNotice | undefined }): string {
  const tz = d.timeZone;
  const lang = d.lang ?? 'zh';
  const t = T[lang];
  // a refused line that is no longer open (resolved meanwhile) has no row to show the message in
  const lost = d.refusal && d.refusal.form.startsWith('review-') && !d.items.some((i) => `review-${i.id}` === d.refusal!.form) ? formMessage(d.refusal, d.refusal.form) : '';
  const f = d.refunds ?? { rows: [], next: null };
  const pageHref = (before: string | null): string => `/review${before === null ? '' : `?refunds_before=${encodeURIComponent(before)}`}#receipts`;
  const refunds = refundTable({ rows: f.rows, csrf: d.csrf, lang, time: (at) => (at ? formatTime(at, tz) : EMPTY), refusal: d.refusal, before: f.before, olderHref: f.next === null ? null : pageHref(f.next), newestHref: f.before === undefined ? undefined : pageHref(null) });
  return layout(`${d.store.name} · ${t.title}`, `<h1>${esc(d.store.name)} · ${t.title}</h1><p><a href="/">${t.back}</a> · ${otherLang(lang, '/review')}</p>
${doneHtml(d.done, lang)}<p>${t.how}</p>
${lost}${reviewSection(d.items, d.csrf, (d.products ?? []).filter((p) => p.active), d.refusal, lang, tz, d.queue ? queuePager(d.queue, d.items.length, lang) : '')}
<h2 id="receipts">${t.refunds}</h2><p>${t.refundHow}</p>
${refunds}`, undefined, lang);
}
