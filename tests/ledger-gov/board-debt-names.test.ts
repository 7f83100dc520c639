/**
 * Two things the public board got wrong: the month's redeemed points left out a store's
 * repayment of a debt (the goods a villager took beyond their balance, paid for by the next
 * points earned), so a purchase of 30 with 10 in hand showed 10; and a masked compound surname
 * (诸葛志实) kept only its first character (诸**), which is not the family name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { addLedgerEntry, addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import { computeBoard, maskName } from '../../cloud-sync/ledger/board/compute.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { signer } from './store-clock-fixture.ts';

describe('masking a name keeps the family name, a compound one whole', () => {
  it('keeps both characters of a compound surname (诸葛志实 → 诸葛**), one of a single surname', () => {
    expect(maskName('诸葛志实')).toBe('诸葛**');
    for (const [name, masked] of [['欧阳娜娜', '欧阳**'], ['上官婉儿', '上官**'], [' 慕容晓晓 ', '慕容**'], ['司马相如', '司马**'], ['张三', '张**'], ['欧小明', '欧**'], ['𠮷野家', '𠮷**']]) {
      expect(maskName(name!)).toBe(masked);
    }
  });

  it('keeps one character of a three-character name: the pair may be a single surname and a given name (归海涛: 归 and 海涛)', () => {
    for (const [name, masked] of [['归海涛', '归**'], ['宗政伟', '宗**'], ['乐正华', '乐**'], ['濮阳明', '濮**'], ['司马光', '司**'], ['诸葛亮', '诸**']]) {
      expect(maskName(name!)).toBe(masked);
    }
  });

  it('never shows a whole two-character name, even one that reads as a compound surname (钟离: 钟 and 离)', () => {
    expect(maskName('钟离')).toBe('钟**');
    expect(maskName('司马')).toBe('司**');
    expect(maskName('')).toBe('某**');
  });
});

describe(`the month's redeemed points count a repayment of store debt (${ledgerDbKind})`, () => {
  let ledger: Awaited<ReturnType<typeof tempLedgerDb>> | undefined;
  afterEach(async () => {
    await ledger?.drop();
    ledger = undefined;
  });

  it('10 points in hand, oil worth 30 taken: 10 charged, 20 repaid later, 30 redeemed this month', async () => {
    ledger = await tempLedgerDb();
    const { db } = ledger;
    // mid-month (village time), so that every row is in the month whatever day the test runs
    const now = new Date('2026-12-15T04:00:00.000Z');
    const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();
    await addVillage(db, 'va', '前进村', at(600));
    await db.run("INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ('zhang', 'va', '张三', 'active', $1, $1)", [at(600)]);
    await registerStore(db, 'va', 'shop', 'shop-key', 'unused here');
    await addLedgerEntry(db, 'va', { id: 'award-0', villager: 'zhang', kind: 'award', points: 10, reason: '清扫街巷', created_at: at(30) }, signer, new Date(at(30)));
    // the store: a purchase of 30 charged 10 (the rest is the villager's debt at the store)
    await applyStoreRows(db, 'va', 'shop', [
      { id: 'shop:1', seq: 1, topic: 'session', created_at: at(20), payload: { id: 'shop-s1', kind: 'shopping', villager: 'zhang', total_points: 30, lines: [{ sku: 'oil', count: 1, points: 30 }], opened_at: at(21), closed_at: at(20) } },
      { id: 'shop:2', seq: 2, topic: 'entry', created_at: at(20), payload: { id: 'shop-r1', villager: 'zhang', kind: 'redemption', points: -10, reference: 'session:shop-s1', created_at: at(20) } },
    ], signer, new Date(at(20)));
    expect((await computeBoard(db, 'va', now)).totals?.redeemed).toBe(10);
    // the next award (at the ledger) repays the debt at the store: 偿还欠分 −20
    await addLedgerEntry(db, 'va', { id: 'award-1', villager: 'zhang', kind: 'award', points: 25, reason: '志愿服务', created_at: at(10) }, signer, new Date(at(10)));
    await applyStoreRows(db, 'va', 'shop', [
      { id: 'shop:3', seq: 3, topic: 'entry', created_at: at(5), payload: { id: 'award-1#debt@shop', villager: 'zhang', kind: 'redemption', points: -20, reference: 'debt:award-1', reason: '偿还欠分 / repayment of an earlier shortfall', created_at: at(5) } },
    ], signer, new Date(at(5)));
    const totals = (await computeBoard(db, 'va', now)).totals;
    // both awards here are plain ledger awards, no approved claim: points for no deed, so not issued on the board
    expect(totals).toMatchObject({ issued: 0, redeemed: 30 });
  });
});
