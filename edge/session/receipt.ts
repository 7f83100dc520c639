/**
 * The receipt and the door's announcements, in Chinese for the display and the speaker.
 * Pure text from numbers, so it is tested as a table.
 */
export interface ReceiptLine { sku: string; name: string; count: number; points: number }

export interface Receipt {
  sessionId: string;
  villagerId: string;
  villagerName: string;
  kind: 'shopping' | 'restock';
  lines: ReceiptLine[];
  totalPoints: number;
  chargedPoints: number;
  debtPoints: number;
  balance: number;
  /** Lines a maintainer must look at that were not charged (on a restock: every line, nothing is charged). */
  reviewCount: number;
  /** Shopping: sales beyond the stock on record (`stock_clipped`), charged as taken; the shelf is to be counted. */
  stockClipped: number;
  /** Points taken beyond today's offline allowance (charged as usual, and a line for the maintainer). */
  offlineOverPoints: number;
  /** Restock: items added (positive) or removed (negative) per product. */
  stock: Array<{ sku: string; name: string; count: number }>;
  text: string;
  at: number;
  /** Duration of the settlement transaction (cart, ledger, outbox), ms. */
  settleMs: number;
}

export function receiptText(r: Omit<Receipt, 'text' | 'at' | 'settleMs'>): string {
  const who = `${r.villagerName}，您好！`;
  if (r.kind === 'restock') {
    const moved = r.stock.map((s) => `${s.name}${s.count > 0 ? '+' : ''}${s.count}`).join('、');
    const review = r.reviewCount > 0 ? `另有 ${r.reviewCount} 处重量变化需要核对。` : '';
    return `${who}补货完成：${moved || '库存没有变化'}。${review}辛苦了！`;
  }
  const parts: string[] = [who];
  if (r.lines.length === 0) parts.push('本次没有兑换商品。');
  else parts.push(`本次兑换：${r.lines.map((l) => `${l.name} ×${l.count}（${l.points} 分）`).join('、')}，共 ${r.totalPoints} 分。`);
  if (r.debtPoints > 0) {
    parts.push(`积分不足：已扣 ${r.chargedPoints} 分，还欠 ${r.debtPoints} 分，请先挣取积分补上，补齐前暂不能进店兑换。`);
  }
  if (r.offlineOverPoints > 0) {
    parts.push(`本店离线期间，本次超出今日离线额度 ${r.offlineOverPoints} 分，已照常扣分，管理员会核对。/ The store is offline: ${r.offlineOverPoints} points over today's offline allowance, charged as usual; a maintainer will check. `);
  }
  parts.push(`剩余积分 ${r.balance} 分。`);
  if (r.reviewCount > 0) parts.push(`有 ${r.reviewCount} 处货架变化将由管理员核对，不扣分。`);
  if (r.stockClipped > 0) parts.push(`有 ${r.stockClipped} 处货架的库存记录少于实际拿取，已按实际拿取扣分，管理员会盘点。`);
  parts.push('谢谢光临！');
  return parts.join('');
}

export type AnnouncementReason = 'store_busy' | 'debt' | 'offline_limit' | 'welcome' | 'settle_delayed' | 'not_recorded' | 'uncertain' | 'no_consent' | 'spoof' | 'challenge' | 'challenge_repeat';

export interface Announcement { reason: AnnouncementReason; villagerId: string | null; text: string; at: number }

export function busyText(name: string | null): string {
  return `${name ? `${name}，` : ''}店内正有村民在兑换，请稍候，等门口提示后再刷脸或刷卡。`;
}

/** The face was close to a villager's but not sure enough: never a name, the person may be a stranger. */
export const UNCERTAIN_TEXT = '未能确认您的身份，请刷卡或扫码。';

/**
 * A face matched a villager whose consent to face recognition is not on record (withdrawn): no
 * name either, the face may not be used to address them.
 */
export const NO_CONSENT_TEXT = '刷脸进门未开通，请刷卡或扫码。/ Face entry is not enabled for you: please use your card or QR code.';

/**
 * The face at the door was decided a spoof (a photo or a screen) and is held refused while it stays
 * (entry.match.spoof_hold_ms): said once, when the hold begins, without a name; a live villager
 * wrongly refused still has the card and the QR code.
 */
export const SPOOF_TEXT = '未能确认是真人，请刷卡或扫码。/ The door could not confirm a live face: please use your card or QR code.';

export function debtText(name: string, debt: number): string {
  return `${name}，您还欠 ${debt} 分，请先挣取积分补上，补齐后就能进店兑换。`;
}

/**
 * `offlineCap`: while the village ledger is out of reach, the points the villager may still
 * spend today, said at the door so the cap is known before shopping (bilingual, like every
 * message about the offline limit).
 */
export function welcomeText(name: string, kind: 'shopping' | 'restock', offlineCap?: number): string {
  if (kind === 'restock') return `${name}，补货模式已开启，请推门进入。`;
  const cap = offlineCap === undefined ? '' : `本店暂时离线，您今天在本店最多还能兑换 ${offlineCap} 分。/ The store is offline: you may spend up to ${offlineCap} points here today. `;
  return `${name}，欢迎光临，请推门进入。${cap}出门请按出门按钮。`;
}

/** The store is offline and today's offline allowance is used up: the door stays shut. */
export function offlineLimitText(name: string | null): string {
  return `${name ? `${name}，` : ''}本店暂时与村账本断开，您今天在本店的离线兑换额度已用完，门未打开；联网后或明天即可兑换。/ The store is offline and your offline allowance for today is used up; the door stays shut. You can shop again once the store is back online, or tomorrow.`;
}

/** The villager's account could not be read at the door (a disk I/O error): the door stays shut; no name, it could not be read either. */
export const LEDGER_FAULT_TEXT = '系统暂时无法读取账户，门未打开，请稍后再试或联系管理员。/ The store cannot read your account just now; the door stays shut. Please try again later or call the maintainer.';

/** The admission could not be written (disk full, I/O error): the door stays shut. */
export function notRecordedText(name: string): string {
  return `${name}，系统暂时无法记录进店，门未打开，请稍后再试或联系管理员。`;
}
