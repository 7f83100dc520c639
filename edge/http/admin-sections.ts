/**
 * The admin page's sections about the door and the till: who is inside now, what the door
 * decided and why, the latest receipts with the lines a maintainer must check, stock, and the
 * sync with the village ledger.
 * Chinese first; every value goes through `esc`.
 */
import type { EntryEventView, ReceiptView, StockView, StoreStateView, SyncView } from './queries.ts';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);

/** Why the door opened or not, as the maintainer reads it. */
export const DECISION_ZH: Record<string, string> = {
  matched: '已放行',
  uncertain: '无法确认，请刷卡或扫码',
  unknown: '未识别',
  low_quality: '画面质量不足',
  spoof: '疑似照片或屏幕',
  blocked: '已冻结或欠分',
  offline_limit: '离线额度已用完',
  store_busy: '店内有人，请稍候',
  no_consent: '未授权刷脸',
  invalid_code: '无效的二维码或卡',
};

export const BY_ZH: Record<string, string> = { face: '刷脸', qr: '二维码', card: '积分卡', admin: '管理员' };

export const PHASE_ZH: Record<string, string> = {
  idle: '空闲（店内无人）',
  entering: '已开锁，等待进门',
  shopping: '购物中',
  restocking: '补货中',
  exiting: '正在离店',
  settling: '结算中',
  settled: '已结算',
  fault: '故障',
  unknown: '未知',
};

/** Review reasons (edge/session/cart.ts, and the restock stock check in the session engine). */
export const REVIEW_ZH: Record<string, string> = {
  not_whole_count: '重量不是整件数',
  unexpected_increase: '货位重量意外增加',
  wrong_slot_return: '商品放错货位',
  moved_out: '商品被放到别的货位',
  not_stable: '离店时货架仍在晃动',
  scale_unavailable: '秤没有读数',
  no_product: '货位没有绑定商品',
  stock_clipped: '取走的比账上库存多（库存已记为 0，请盘点；购物已照常扣分）',
  offline_limit: '离线期间超出每日额度（已照常扣分）',
};

const zh = (map: Record<string, string>, key: string): string => map[key] ?? key;
/**
 * One formatter for every time on the page: `toLocaleString` builds a new one per call (about
 * 1 ms each), which on a page of dozens of rows is most of its cost. Same text as
 * `toLocaleString('zh-CN', { hour12: false })`.
 */
const TIME_ZH = new Intl.DateTimeFormat('zh-CN', { hour12: false, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
export const time = (iso: string | null): string => (iso ? TIME_ZH.format(new Date(iso)) : '');

/** The door's detail keys (edge/entry/pipeline.ts) as the maintainer reads them; others as they are. */
const DETAIL_ZH: Record<string, string> = { card: '卡号', token: '二维码', distance: '人脸距离', margin: '领先第二名', frames: '帧数', seen: '各帧结果', why: '原因', unlockError: '开锁失败', offlineAllowance: '今日离线余额', debt: '欠分' };

function detailText(d: Record<string, unknown>): string {
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${DETAIL_ZH[k] ?? k} ${typeof v === 'number' ? Math.round(v * 1000) / 1000 : typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : JSON.stringify(v)}`)
    .join(' ')
    .slice(0, 160);
}

export function storeStateSection(s: StoreStateView): string {
  const who = s.villager ? `${esc(s.villager_name ?? s.villager)}（${esc(s.villager)}）` : '';
  const how = s.entered_by ? `，${esc(zh(BY_ZH, s.entered_by))}进入` : '';
  const kind = s.kind === 'restock' ? '（补货）' : '';
  const since = s.since ? `，${esc(time(s.since))} 起` : '';
  const restock = s.kind === 'restock' && s.cart
    ? `<table id="cart"><tr><th>商品</th><th>货位</th><th>补货数量</th></tr>${s.cart.stock.map((m) => `<tr><td>${esc(m.name)}</td><td>${esc(m.slot)}</td><td>${m.count > 0 ? '+' : ''}${m.count}</td></tr>`).join('') || '<tr><td colspan="3">货架还没有变化</td></tr>'}</table>`
    : null;
  const cart = restock !== null
    ? `${restock}${s.cart && s.cart.review.length > 0 ? `<p class="bad">${s.cart.review.length} 处待核对：${esc(s.cart.review.map((r) => `${r.slot} ${zh(REVIEW_ZH, r.reason)}`).join('；'))}</p>` : ''}`
    : s.cart
    ? `<table id="cart"><tr><th>商品</th><th>货位</th><th>数量</th><th>积分</th></tr>${s.cart.lines.map((l) => `<tr><td>${esc(l.name)}</td><td>${esc(l.slot)}</td><td>${l.count}</td><td>${l.points}</td></tr>`).join('') || '<tr><td colspan="4">购物车是空的</td></tr>'}</table>
<p>合计 <strong>${s.cart.total_points}</strong> 分${s.cart.review.length > 0 ? ` · <span class="bad">${s.cart.review.length} 处待核对：${esc(s.cart.review.map((r) => `${r.slot} ${zh(REVIEW_ZH, r.reason)}`).join('；'))}</span>` : ''}</p>`
    : '';
  return `<h2>当前门店</h2><p id="store-state" data-phase="${esc(s.phase)}"><strong>${esc(zh(PHASE_ZH, s.phase))}</strong>${who ? ` · 店内：${who}${kind}${how}${since}` : ''}</p>${cart}`;
}

export function entryEventsSection(events: EntryEventView[]): string {
  const rows = events
    .map((e) => `<tr data-decision="${esc(e.decision)}"><td>${esc(time(e.at))}</td><td class="${e.decision === 'matched' ? 'ok' : 'bad'}">${esc(zh(DECISION_ZH, e.decision))}</td><td>${esc(zh(BY_ZH, e.by))}</td><td>${esc(e.villager_name ?? e.villager ?? '—')}</td><td>${e.unlocked ? '是' : '否'}</td><td class="detail">${esc(detailText(e.detail))}</td></tr>`)
    .join('');
  return `<h2>门口记录</h2><table id="entry-events"><tr><th>时间</th><th>结果</th><th>方式</th><th>村民</th><th>开锁</th><th>说明</th></tr>${rows || '<tr><td colspan="6">还没有人来过</td></tr>'}</table>`;
}

export function receiptsSection(receipts: ReceiptView[]): string {
  const rows = receipts
    .map((r) => {
      const moved = r.stock.map((m) => `${m.name}${m.count > 0 ? '+' : ''}${m.count}（${m.slot}）`).join('、');
      const lines = r.kind === 'restock' ? `补货：${moved || '库存没有变化'}` : r.lines.map((l) => `${l.name} ×${l.count}（${l.points} 分）`).join('、') || '没有兑换商品';
      const review = r.review.map((v) => `<li>货位 ${esc(v.slot)}：${esc(zh(REVIEW_ZH, v.reason))}${v.delta_g !== null ? `（${v.delta_g} 克）` : ''}${v.detail ? ` — ${esc(v.detail)}` : ''}</li>`).join('');
      const debt = r.debt_points > 0 ? `<span class="bad">欠 ${r.debt_points} 分</span>` : '';
      return `<tr data-session="${esc(r.session)}"><td>${esc(time(r.closed_at))}</td><td>${esc(r.villager_name)}</td><td>${esc(lines)}</td><td>${r.total_points}</td><td>${r.charged_points}${debt ? ` ${debt}` : ''}</td><td>${r.balance_after ?? '—'}</td><td class="review">${review ? `<ul class="bad">${review}</ul>` : ''}</td></tr>`;
    })
    .join('');
  return `<h2>最近小票</h2><table id="receipts"><tr><th>结算时间</th><th>村民</th><th>商品</th><th>应扣积分</th><th>实扣</th><th>结算后余额</th><th>待核对</th></tr>${rows || '<tr><td colspan="7">还没有结算</td></tr>'}</table>`;
}

export function stockSection(stock: StockView[]): string {
  const rows = stock
    .map((p) => `<tr><td>${esc(p.sku)}</td><td>${esc(p.name)}</td><td>${p.price}</td><td class="${p.stock > 0 ? '' : 'bad'}">${p.stock}</td><td>${esc(p.slots.map((s) => `${s.slot}: ${s.stock}`).join('，'))}</td></tr>`)
    .join('');
  return `<h2>商品库存</h2><table id="products"><tr><th>编码</th><th>名称</th><th>积分</th><th>库存</th><th>货位</th></tr>${rows}</table>`;
}

/** Why the store refused a message from the village ledger (cloud-sync/protocol/payloads.ts). */
export const REFUSED_ZH: Record<string, string> = {
  unsigned: '未签名',
  forged: '签名不符',
  replayed: '重复或过期序号',
  expired: '已过期',
  invalid: '格式不正确',
};

export function syncSection(s: SyncView): string {
  if (!s.enabled) return '<h2>村账本同步</h2><p id="sync" data-enabled="false">未启用（配置 sync.enabled）</p>';
  const refused = Object.entries(s.refused).filter(([, n]) => n > 0);
  const refusedText = refused.map(([r, n]) => `<span data-reason="${esc(r)}">${esc(zh(REFUSED_ZH, r))} ${n}</span>`).join('，');
  const ack = s.last_acked_seq > 0 ? `第 ${s.last_acked_seq} 条${s.last_ack_at ? `，${esc(time(s.last_ack_at))}` : ''}` : '还没有';
  return `<h2>村账本同步</h2><table id="sync" data-enabled="true" data-connected="${s.connected}">
<tr><th>连接</th><td class="${s.connected ? 'ok' : 'bad'}">${s.connected ? '已连接' : '未连接（离线照常营业，恢复后补传）'}</td></tr>
<tr><th>待上传</th><td id="sync-outbox">${s.outbox_pending} 条</td></tr>
<tr><th>村账本已确认</th><td id="sync-ack">${ack}</td></tr>
<tr><th>已收到村账本消息</th><td id="sync-inbound">至第 ${s.inbound_seq} 条</td></tr>
<tr><th>最后联系</th><td>${s.last_contact ? esc(time(s.last_contact)) : '还没有'}</td></tr>
<tr><th>拒收的消息</th><td id="sync-refused" class="${refused.length > 0 ? 'bad' : ''}">${refusedText || '无'}</td></tr></table>`;
}
