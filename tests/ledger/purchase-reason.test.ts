/**
 * What a store purchase says in a villager's history (the phone page, the passbook, the
 * ledger): Chinese first, as every other reason, and what was bought, briefly: the first few
 * goods by name, and how many in all past them. The entry's kind and reference stay what the
 * programs read; the reason is for people.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry, listEntries } from '../../edge/ledger/entries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, purchaseReason, settleSession } from '../../edge/ledger/sessions.ts';
import { pendingOutbox } from '../../edge/ledger/outbox.ts';
import { tempLedger } from './helpers.ts';

let t: ReturnType<typeof tempLedger>;
const rules = { creditFloor: 0 };
const goods = [['oil', '花生油', 30], ['soy', '酱油', 8], ['salt', '食盐', 3], ['rice', '大米 5kg', 60], ['egg', '鸡蛋', 12]] as const;
beforeEach(() => {
  t = tempLedger();
  addVillager(t.db, { id: 'li', name: '李大爷', village: '前进村' });
  goods.forEach(([sku, name, price], i) => {
    upsertProduct(t.db, { sku, name, price, unitG: 500, toleranceG: 20 });
    upsertSlot(t.db, { slot: `A${i + 1}`, address: i + 1, sku, stock: 20 });
  });
});
afterEach(() => t.cleanup());

const settle = (id: string, lines: Array<{ sku: string; slot: string; count: number }>) => {
  openSession(t.db, { id, kind: 'shopping', villagerId: 'li', enteredBy: 'face', state: 'shopping', context: {} });
  return settleSession(t.db, { sessionId: id, lines, review: [] }, rules);
};
const redemptions = () => listEntries(t.db, 'li').filter((e) => e.kind === 'redemption');

describe('a store purchase names its goods, Chinese first', () => {
  it('花生油×1、酱油×2: in the entry and in the row sent to the village ledger, kind and reference unchanged', () => {
    applyEntry(t.db, { id: 'a1', villagerId: 'li', kind: 'award', points: 100, origin: 'cli' }, rules);
    settle('s1', [{ sku: 'oil', slot: 'A1', count: 1 }, { sku: 'soy', slot: 'A2', count: 2 }]);
    const [e] = redemptions();
    expect(e).toMatchObject({ reason: '超市兑换：花生油×1、酱油×2 / store purchase: 3 items', reference: 'session:s1', points: -46 });
    const row = pendingOutbox(t.db).find((o) => o.topic === 'entry' && (o.payload as { id: string }).id === 'redemption:s1');
    expect(row?.payload).toMatchObject({ kind: 'redemption', reason: '超市兑换：花生油×1、酱油×2 / store purchase: 3 items' });
  });

  it('many goods: the first three named, the rest counted (等N件), one product from two slots once', () => {
    applyEntry(t.db, { id: 'a1', villagerId: 'li', kind: 'award', points: 500, origin: 'cli' }, rules);
    upsertSlot(t.db, { slot: 'B1', address: 9, sku: 'oil', stock: 20 });
    settle('s2', [{ sku: 'oil', slot: 'A1', count: 1 }, { sku: 'soy', slot: 'A2', count: 1 }, { sku: 'oil', slot: 'B1', count: 1 }, { sku: 'salt', slot: 'A3', count: 2 }, { sku: 'rice', slot: 'A4', count: 1 }, { sku: 'egg', slot: 'A5', count: 3 }]);
    expect(redemptions()[0]!.reason).toBe('超市兑换：花生油×2、酱油×1、食盐×2等9件 / store purchase: 9 items');
  });

  it('the repayment of a debt says so in Chinese first', () => {
    applyEntry(t.db, { id: 'a1', villagerId: 'li', kind: 'award', points: 10, origin: 'cli' }, rules);
    settle('s3', [{ sku: 'oil', slot: 'A1', count: 1 }]);
    applyEntry(t.db, { id: 'a2', villagerId: 'li', kind: 'award', points: 50, origin: 'cli' }, rules);
    const repaid = redemptions().find((e) => e.reference === 'debt:a2');
    expect(repaid).toMatchObject({ points: -20, reason: '偿还欠分 / repayment of an earlier shortfall' });
  });
});

describe('purchaseReason', () => {
  it('stays short whatever the names and counts: each name cut, at most three named', () => {
    const long = '特别长的商品名称'.repeat(20);
    const r = purchaseReason(Array.from({ length: 40 }, (_, i) => ({ name: `${long}${i}`, count: 999 })));
    expect(r.length).toBeLessThanOrEqual(120);
    expect(r).toMatch(/^超市兑换：.+等39960件 \/ store purchase: 39960 items$/);
    expect(purchaseReason([{ name: '食盐', count: 1 }])).toBe('超市兑换：食盐×1 / store purchase: 1 item');
    expect(purchaseReason([])).toBe('超市兑换 / store purchase');
  });
});
