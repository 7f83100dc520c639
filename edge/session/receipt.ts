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
  /** Lines a maintainer must look at; never charged. */
  reviewCount: number;
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
  parts.push(`剩余积分 ${r.balance} 分。`);
  if (r.reviewCount > 0) parts.push(`有 ${r.reviewCount} 处货架变化将由管理员核对，不扣分。`);
  parts.push('谢谢光临！');
  return parts.join('');
}

export type AnnouncementReason = 'store_busy' | 'debt' | 'welcome' | 'settle_delayed' | 'not_recorded' | 'uncertain';

export interface Announcement { reason: AnnouncementReason; villagerId: string | null; text: string; at: number }

export function busyText(name: string | null): string {
  return `${name ? `${name}，` : ''}店内正有村民在兑换，请稍候，等门口提示后再刷脸或刷卡。`;
}

/** The face was close to a villager's but not sure enough: never a name, the person may be a stranger. */
export const UNCERTAIN_TEXT = '未能确认您的身份，请刷卡或扫码。';

export function debtText(name: string, debt: number): string {
  return `${name}，您还欠 ${debt} 分，请先挣取积分补上，补齐后就能进店兑换。`;
}

export function welcomeText(name: string, kind: 'shopping' | 'restock'): string {
  return kind === 'restock' ? `${name}，补货模式已开启，请推门进入。` : `${name}，欢迎光临，请推门进入。出门请按出门按钮。`;
}

/** The admission could not be written (disk full, I/O error): the door stays shut. */
export function notRecordedText(name: string): string {
  return `${name}，系统暂时无法记录进店，门未打开，请稍后再试或联系管理员。`;
}
