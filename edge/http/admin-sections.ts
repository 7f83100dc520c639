/**
 * The admin page's sections about the door and the till: who is inside now, what the door
 * decided and why, the latest receipts with the lines a maintainer must check, stock, and the
 * sync with the village ledger. Chinese, or English with `lang` `en` (words in ./admin-words.ts);
 * every value goes through `esc`.
 */
import type { EntryEventView, ReceiptView, StockView, StoreStateView, SyncView } from './queries.ts';
import type { Lang } from './door-words.ts';
import { BY, DECISION, detailPart, PHASE, REFUSED, REVIEW, say } from './admin-words.ts';
import { formatTime } from './time-format.ts';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);

/** The Chinese the JSON API answers beside each code (`decision_zh`, `phase_zh`, `reason_zh`). */
export const DECISION_ZH = DECISION.zh;
export const BY_ZH = BY.zh;
export const PHASE_ZH = PHASE.zh;
export const PHASE_EN = PHASE.en;
export const REVIEW_ZH = REVIEW.zh;
export const REFUSED_ZH = REFUSED.zh;


const T = {
  zh: {
    store: '当前门店', inside: '店内：', enteredBy: (by: string) => `，${by}进入`, restock: '（补货）', since: (t: string) => `，${t} 起`, product: '商品', slot: '货位', restockCount: '补货数量', count: '数量', points: '积分',
    noChange: '货架还没有变化', emptyCart: '购物车是空的', toReview: (n: number) => `${n} 处待核对：`, total: (n: number) => `合计 <strong>${n}</strong> 分`, sep: '；', list: '、', comma: '，',
    door: '门口记录', at: '时间', result: '结果', by: '方式', villager: '村民', unlocked: '开锁', detail: '说明', yes: '是', no: '否', noVisit: '还没有人来过',
    receipts: '最近小票', statement: '月结单（按村民、按商品，可下载 CSV）', closedAt: '结算时间', due: '应扣积分', charged: '实扣', balanceAfter: '结算后余额', review: '待核对', restocked: (m: string) => `补货：${m || '库存没有变化'}`, noGoods: '没有兑换商品',
    linePoints: (n: number) => `（${n} 分）`, reviewSlot: (s: string) => `货位 ${s}：`, grams: (g: number) => `（${g} 克）`, owes: (n: number) => `欠 ${n} 分`, noReceipt: '还没有结算', moved: (slot: string) => `（${slot}）`,
    stock: '商品库存', sku: '编码', name: '名称', price: '积分', stockCol: '库存', slots: '货位', slotSep: '，',
    sync: '村账本同步', syncOff: '未启用（配置 sync.enabled）', connection: '连接', connected: '已连接', offline: '未连接（离线照常营业，恢复后补传）', outbox: '待上传', rows: (n: number) => `${n} 条`,
    acked: '村账本已确认', ackRow: (n: number) => `第 ${n} 条`, notYet: '还没有', inbound: '已收到村账本消息', inboundTo: (n: number) => `至第 ${n} 条`, contact: '最后联系', refused: '拒收的消息', none: '无',
  },
  en: {
    store: 'The store now', inside: 'inside: ', enteredBy: (by: string) => `, came in by ${by}`, restock: ' (restocking)', since: (t: string) => `, since ${t}`, product: 'Product', slot: 'Slot', restockCount: 'Restocked', count: 'Count', points: 'Points',
    noChange: 'No change on the shelves yet', emptyCart: 'The cart is empty', toReview: (n: number) => `${n} to review: `, total: (n: number) => `Total <strong>${n}</strong> points`, sep: '; ', list: ', ', comma: ', ',
    door: 'Door log', at: 'Time', result: 'Result', by: 'By', villager: 'Villager', unlocked: 'Unlocked', detail: 'Detail', yes: 'yes', no: 'no', noVisit: 'Nobody has come yet',
    receipts: 'Latest receipts', statement: 'Month statement (by villager, by product, CSV)', closedAt: 'Settled at', due: 'Points due', charged: 'Charged', balanceAfter: 'Balance after', review: 'To review', restocked: (m: string) => `Restocked: ${m || 'no change in stock'}`, noGoods: 'nothing taken',
    linePoints: (n: number) => ` (${n} points)`, reviewSlot: (s: string) => `slot ${s}: `, grams: (g: number) => ` (${g} g)`, owes: (n: number) => `owes ${n} points`, noReceipt: 'Nothing settled yet', moved: (slot: string) => ` (${slot})`,
    stock: 'Stock', sku: 'SKU', name: 'Name', price: 'Points', stockCol: 'Stock', slots: 'Slots', slotSep: ', ',
    sync: 'Sync with the village ledger', syncOff: 'Off (config sync.enabled)', connection: 'Connection', connected: 'connected', offline: 'not connected (the store works offline and sends later)', outbox: 'Waiting to send', rows: (n: number) => `${n} rows`,
    acked: 'Acknowledged by the village ledger', ackRow: (n: number) => `row ${n}`, notYet: 'not yet', inbound: 'Received from the village ledger', inboundTo: (n: number) => `up to ${n}`, contact: 'Last contact', refused: 'Refused messages', none: 'none',
  },
};

function detailText(d: Record<string, unknown>, lang: Lang): string {
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => detailPart(k, v, lang))
    .join(' ')
    .slice(0, 160);
}

export function storeStateSection(s: StoreStateView, lang: Lang = 'zh', tz?: string): string {
  const t = T[lang];
  const who = s.villager ? `${esc(s.villager_name ?? s.villager)}${lang === 'zh' ? `（${esc(s.villager)}）` : ` (${esc(s.villager)})`}` : '';
  const how = s.entered_by ? esc(t.enteredBy(say(BY, lang, s.entered_by))) : '';
  const kind = s.kind === 'restock' ? t.restock : '';
  const since = s.since ? esc(t.since(formatTime(s.since, tz))) : '';
  const reviewText = (review: NonNullable<StoreStateView['cart']>['review']) => `${t.toReview(review.length)}${esc(review.map((r) => `${r.slot} ${say(REVIEW, lang, r.reason)}`).join(t.sep))}`;
  const restock = s.kind === 'restock' && s.cart
    ? `<table id="cart"><tr><th>${t.product}</th><th>${t.slot}</th><th>${t.restockCount}</th></tr>${s.cart.stock.map((m) => `<tr><td>${esc(m.name)}</td><td>${esc(m.slot)}</td><td>${m.count > 0 ? '+' : ''}${m.count}</td></tr>`).join('') || `<tr><td colspan="3">${t.noChange}</td></tr>`}</table>`
    : null;
  const cart = restock !== null
    ? `${restock}${s.cart && s.cart.review.length > 0 ? `<p class="bad">${reviewText(s.cart.review)}</p>` : ''}`
    : s.cart
    ? `<table id="cart"><tr><th>${t.product}</th><th>${t.slot}</th><th>${t.count}</th><th>${t.points}</th></tr>${s.cart.lines.map((l) => `<tr><td>${esc(l.name)}</td><td>${esc(l.slot)}</td><td>${l.count}</td><td>${l.points}</td></tr>`).join('') || `<tr><td colspan="4">${t.emptyCart}</td></tr>`}</table>
<p>${t.total(s.cart.total_points)}${s.cart.review.length > 0 ? ` · <span class="bad">${reviewText(s.cart.review)}</span>` : ''}</p>`
    : '';
  return `<h2>${t.store}</h2><p id="store-state" data-phase="${esc(s.phase)}"><strong>${esc(say(PHASE, lang, s.phase))}</strong>${who ? ` · ${t.inside}${who}${kind}${how}${since}` : ''}</p>${cart}`;
}

export function entryEventsSection(events: EntryEventView[], lang: Lang = 'zh', tz?: string): string {
  const t = T[lang];
  const rows = events
    .map((e) => `<tr data-decision="${esc(e.decision)}"><td>${esc(formatTime(e.at, tz))}</td><td class="${e.decision === 'matched' ? 'ok' : 'bad'}">${esc(say(DECISION, lang, e.decision))}</td><td>${esc(say(BY, lang, e.by))}</td><td>${esc(e.villager_name ?? e.villager ?? '—')}</td><td>${e.unlocked ? t.yes : t.no}</td><td class="detail">${esc(detailText(e.detail, lang))}</td></tr>`)
    .join('');
  return `<h2>${t.door}</h2><table id="entry-events"><tr><th>${t.at}</th><th>${t.result}</th><th>${t.by}</th><th>${t.villager}</th><th>${t.unlocked}</th><th>${t.detail}</th></tr>${rows || `<tr><td colspan="6">${t.noVisit}</td></tr>`}</table>`;
}

export function receiptsSection(receipts: ReceiptView[], lang: Lang = 'zh', tz?: string): string {
  const t = T[lang];
  const rows = receipts
    .map((r) => {
      const moved = r.stock.map((m) => `${m.name}${m.count > 0 ? '+' : ''}${m.count}${t.moved(m.slot)}`).join(t.list);
      const lines = r.kind === 'restock' ? t.restocked(moved) : r.lines.map((l) => `${l.name} ×${l.count}${t.linePoints(l.points)}`).join(t.list) || t.noGoods;
      const review = r.review.map((v) => {
        const detail = lang === 'zh' ? v.detail_zh : v.detail_en; // in words with product names, not skus (./review-detail.ts)
        return `<li>${esc(t.reviewSlot(v.slot))}${esc(say(REVIEW, lang, v.reason))}${v.delta_g !== null ? esc(t.grams(v.delta_g)) : ''}${detail ? ` — ${esc(detail)}` : ''}</li>`;
      }).join('');
      const debt = r.debt_points > 0 ? `<span class="bad">${t.owes(r.debt_points)}</span>` : '';
      return `<tr data-session="${esc(r.session)}"><td>${esc(formatTime(r.closed_at, tz))}</td><td>${esc(r.villager_name)}</td><td>${esc(lines)}</td><td>${r.total_points}</td><td>${r.charged_points}${debt ? ` ${debt}` : ''}</td><td>${r.balance_after ?? '—'}</td><td class="review">${review ? `<ul class="bad">${review}</ul>` : ''}</td></tr>`;
    })
    .join('');
  return `<h2>${t.receipts}</h2><p><a href="/statement" id="statement-link">${t.statement}</a></p><table id="receipts"><tr><th>${t.closedAt}</th><th>${t.villager}</th><th>${t.product}</th><th>${t.due}</th><th>${t.charged}</th><th>${t.balanceAfter}</th><th>${t.review}</th></tr>${rows || `<tr><td colspan="7">${t.noReceipt}</td></tr>`}</table>`;
}

export function stockSection(stock: StockView[], lang: Lang = 'zh'): string {
  const t = T[lang];
  const rows = stock
    .map((p) => `<tr><td>${esc(p.sku)}</td><td>${esc(p.name)}</td><td>${p.price}</td><td class="${p.stock > 0 ? '' : 'bad'}">${p.stock}</td><td>${esc(p.slots.map((s) => `${s.slot}: ${s.stock}`).join(t.slotSep))}</td></tr>`)
    .join('');
  return `<h2>${t.stock}</h2><table id="products"><tr><th>${t.sku}</th><th>${t.name}</th><th>${t.price}</th><th>${t.stockCol}</th><th>${t.slots}</th></tr>${rows}</table>`;
}

export function syncSection(s: SyncView, lang: Lang = 'zh', tz?: string): string {
  const t = T[lang];
  if (!s.enabled) return `<h2>${t.sync}</h2><p id="sync" data-enabled="false">${t.syncOff}</p>`;
  const refused = Object.entries(s.refused).filter(([, n]) => n > 0);
  const refusedText = refused.map(([r, n]) => `<span data-reason="${esc(r)}">${esc(say(REFUSED, lang, r))} ${n}</span>`).join(t.comma);
  const ack = s.last_acked_seq > 0 ? `${t.ackRow(s.last_acked_seq)}${s.last_ack_at ? `${t.comma}${esc(formatTime(s.last_ack_at, tz))}` : ''}` : t.notYet;
  return `<h2>${t.sync}</h2><table id="sync" data-enabled="true" data-connected="${s.connected}">
<tr><th>${t.connection}</th><td class="${s.connected ? 'ok' : 'bad'}">${s.connected ? t.connected : t.offline}</td></tr>
<tr><th>${t.outbox}</th><td id="sync-outbox">${t.rows(s.outbox_pending)}</td></tr>
<tr><th>${t.acked}</th><td id="sync-ack">${ack}</td></tr>
<tr><th>${t.inbound}</th><td id="sync-inbound">${t.inboundTo(s.inbound_seq)}</td></tr>
<tr><th>${t.contact}</th><td>${s.last_contact ? esc(formatTime(s.last_contact, tz)) : t.notYet}</td></tr>
<tr><th>${t.refused}</th><td id="sync-refused" class="${refused.length > 0 ? 'bad' : ''}">${refusedText || t.none}</td></tr></table>`;
}
