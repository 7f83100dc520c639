import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { applyEntry, findBalanceMismatches, listEntries } from '../../edge/ledger/entries.ts';
import { addVillager, getVillager, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { upsertProduct, upsertSlot, inventory } from '../../edge/ledger/products.ts';
import { openSession, settleSession, getOpenSession, saveSessionState, cancelSession, sessionLines, sessionReview } from '../../edge/ledger/sessions.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { pendingOutbox } from '../../edge/ledger/outbox.ts';
import { ErrorCode } from '../../edge/errors.ts';
import { codeOf, tempLedger } from './helpers.ts';

let t: ReturnType<typeof tempLedger>;
const rules = { creditFloor: 0 };
beforeEach(() => {
  t = tempLedger();
  addVillager(t.db, { id: 'li', name: '李大爷', village: '前进村' });
  addVillager(t.db, { id: 'zhang', name: '张婶', village: '前进村' });
  upsertProduct(t.db, { sku: 'oil', name: '花生油 1L', price: 30, unitG: 920, toleranceG: 20 });
  upsertProduct(t.db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
  upsertSlot(t.db, { slot: 'A1', address: 1, sku: 'oil', stock: 10 });
  upsertSlot(t.db, { slot: 'A2', address: 2, sku: 'salt', stock: 20 });
});
afterEach(() => t.cleanup());


describe('store sessions in the ledger', () => {
  it('settles once: lines priced, redemption written, stock moved, outbox row; a second settle is a no-op', () => {
    applyEntry(t.db, { id: 'a1', villagerId: 'li', kind: 'award', points: 100, origin: 'cli' }, rules);
    openSession(t.db, { id: 's1', kind: 'shopping', villagerId: 'li', enteredBy: 'face', state: 'shopping', context: {} });
    const lines = [{ sku: 'oil', slot: 'A1', count: 1 }, { sku: 'salt', slot: 'A2', count: 2 }];
    const r = settleSession(t.db, { sessionId: 's1', lines, review: [{ slot: 'A2', reason: 'not_whole_count', deltaG: -610 }] }, rules);
    expect(r.status).toBe('settled');
    if (r.status !== 'settled') return;
    expect(r.charged).toBe(36);
    expect(r.balance).toBe(64);
    expect(inventory(t.db)).toEqual({ oil: 9, salt: 18 });
    expect(sessionLines(t.db, 's1').map((l) => l.points)).toEqual([30, 6]);
    expect(sessionReview(t.db, 's1')).toEqual([{ slot: 'A2', reason: 'not_whole_count', deltaG: -610, detail: null }]);
    expect(pendingOutbox(t.db).some((o) => o.topic === 'session')).toBe(true);

    const again = settleSession(t.db, { sessionId: 's1', lines, review: [] }, rules);
    expect(again.status).toBe('already_settled');
    expect(getVillager(t.db, 'li')!.balance).toBe(64);
    expect(listEntries(t.db, 'li').filter((e) => e.kind === 'redemption')).toHaveLength(1);
    expect(inventory(t.db)).toEqual({ oil: 9, salt: 18 });
    expect(codeOf(() => saveSessionState(t.db, 's1', 'shopping', {}))).toBe(ErrorCode.ALREADY_SETTLED);
  });

  it('selling more than the ledger thought a slot held asks for a count, and still charges what was weighed', () => {
    applyEntry(t.db, { id: 'a1', villagerId: 'li', kind: 'award', points: 500, origin: 'cli' }, rules);
    openSession(t.db, { id: 's1', kind: 'shopping', villagerId: 'li', enteredBy: 'card', state: 'shopping', context: {} });
    const r = settleSession(t.db, { sessionId: 's1', lines: [{ sku: 'oil', slot: 'A1', count: 12 }], review: [] }, rules);
    expect(r).toMatchObject({ status: 'settled', charged: 360 });
    expect(inventory(t.db).oil).toBe(0);
    expect(sessionReview(t.db, 's1')).toEqual([expect.objectContaining({ slot: 'A1', reason: 'stock_clipped' })]);
  });

  it('allows one open session at a time, in the database as well', () => {
    openSession(t.db, { id: 's1', kind: 'shopping', villagerId: 'li', enteredBy: 'card', state: 'entering', context: {} });
    expect(codeOf(() => openSession(t.db, { id: 's2', kind: 'shopping', villagerId: 'zhang', enteredBy: 'face', state: 'entering', context: {} }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(() => t.db.prepare("INSERT INTO store_sessions (id, kind, villager_id, entered_by, state, opened_at, updated_at) VALUES ('s3', 'shopping', 'zhang', 'face', 'x', 'now', 'now')").run()).toThrow(/UNIQUE/);
    cancelSession(t.db, 's1', 'door never opened');
    expect(getOpenSession(t.db)).toBeUndefined();
    openSession(t.db, { id: 's2', kind: 'shopping', villagerId: 'zhang', enteredBy: 'face', state: 'entering', context: {} });
  });

  it('exit rule: a balance too small is charged down to the floor and the rest becomes debt, repaid from the next award', () => {
    applyEntry(t.db, { id: 'a1', villagerId: 'zhang', kind: 'award', points: 20, origin: 'cli' }, rules);
    openSession(t.db, { id: 's1', kind: 'shopping', villagerId: 'zhang', enteredBy: 'qr', state: 'shopping', context: {} });
    const r = settleSession(t.db, { sessionId: 's1', lines: [{ sku: 'oil', slot: 'A1', count: 1 }], review: [] }, { creditFloor: -5 });
    expect(r).toMatchObject({ status: 'settled', charged: 25, debt: 5, balance: -5 });
    expect(getVillager(t.db, 'zhang')!.debt).toBe(5);
    const award = applyEntry(t.db, { id: 'a2', villagerId: 'zhang', kind: 'award', points: 12, origin: 'ledger' }, { creditFloor: -5 });
    expect(award.status === 'applied' && award.debtRepaid?.points).toBe(-5);
    expect(getVillager(t.db, 'zhang')).toMatchObject({ balance: 2, debt: 0 });
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });

  it('refuses unknown products and bad counts without writing anything', () => {
    openSession(t.db, { id: 's1', kind: 'shopping', villagerId: 'li', enteredBy: 'face', state: 'shopping', context: {} });
    expect(codeOf(() => settleSession(t.db, { sessionId: 's1', lines: [{ sku: 'nope', slot: 'A1', count: 1 }], review: [] }, rules))).toBe(ErrorCode.UNKNOWN_PRODUCT);
    expect(codeOf(() => settleSession(t.db, { sessionId: 's1', lines: [{ sku: 'oil', slot: 'A1', count: -1 }], review: [] }, rules))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => settleSession(t.db, { sessionId: 'nope', lines: [], review: [] }, rules))).toBe(ErrorCode.UNKNOWN_SESSION);
    expect(getOpenSession(t.db)?.id).toBe('s1');
    expect(inventory(t.db)).toEqual({ oil: 10, salt: 20 });
  });

  it('refuses bad products: negative or fractional prices, zero weight, tolerance too wide', () => {
    const base = { sku: 'x', name: 'x', price: 1, unitG: 100, toleranceG: 5 };
    for (const patch of [{ price: -1 }, { price: 1.5 }, { unitG: 0 }, { toleranceG: 60 }, { sku: 'bad sku' }, { name: '' }]) {
      expect(codeOf(() => upsertProduct(t.db, { ...base, ...patch })), JSON.stringify(patch)).toBe(ErrorCode.INVALID_ARGUMENT);
    }
    expect(codeOf(() => upsertSlot(t.db, { slot: 'B1', address: 9, sku: 'ghost' }))).toBe(ErrorCode.UNKNOWN_PRODUCT);
    expect(codeOf(() => upsertSlot(t.db, { slot: 'B1', address: 300, sku: null }))).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('snapshots from the village ledger', () => {
  it('apply all or nothing, idempotently', () => {
    const snap = {
      villagers: [{ id: 'wang', name: '王', village: '前进村' }],
      entries: [
        { id: 'L1', villager: 'wang', kind: 'award' as const, points: 10, created_at: '2026-11-01T00:00:00Z' },
        { id: 'L2', villager: 'wang', kind: 'penalty' as const, points: -3, created_at: '2026-11-02T00:00:00Z' },
      ],
    };
    expect(applySnapshot(t.db, snap, rules)).toMatchObject({ applied: 2, duplicates: 0 });
    expect(applySnapshot(t.db, snap, rules)).toMatchObject({ applied: 0, duplicates: 2 });
    expect(getVillager(t.db, 'wang')!.balance).toBe(7);
    const bad = { villagers: [], entries: [{ id: 'L3', villager: 'wang', kind: 'award' as const, points: 5, created_at: 'x' }, { id: 'L4', villager: 'wang', kind: 'award' as const, points: 1.5, created_at: 'x' }] };
    expect(codeOf(() => applySnapshot(t.db, bad, rules))).toBe(ErrorCode.INVALID_ARGUMENT);
    const unknown = { villagers: [], entries: [{ id: 'L5', villager: 'wang', kind: 'award' as const, points: 5, created_at: 'x' }, { id: 'L6', villager: 'ghost', kind: 'award' as const, points: 1, created_at: 'x' }] };
    expect(codeOf(() => applySnapshot(t.db, unknown, rules))).toBe(ErrorCode.UNKNOWN_VILLAGER);
    expect(getVillager(t.db, 'wang')!.balance).toBe(7); // L5 was rolled back with the rest
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });

  it('repays a recorded shortfall from points the snapshot brings, and leaves a local block in place', () => {
    applyEntry(t.db, { id: 'a1', villagerId: 'zhang', kind: 'award', points: 10, origin: 'cli' }, rules);
    openSession(t.db, { id: 's1', kind: 'shopping', villagerId: 'zhang', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(t.db, { sessionId: 's1', lines: [{ sku: 'oil', slot: 'A1', count: 1 }], review: [] }, rules);
    expect(getVillager(t.db, 'zhang')).toMatchObject({ balance: 0, debt: 20 });
    setVillagerStatus(t.db, 'li', 'blocked');
    const r = applySnapshot(t.db, {
      villagers: [{ id: 'zhang', name: '张婶', village: '前进村' }, { id: 'li', name: '李大爷', village: '前进村' }],
      entries: [{ id: 'L9', villager: 'zhang', kind: 'award', points: 50, created_at: '2026-11-03T00:00:00Z' }],
    }, rules);
    expect(r.debtRepaid).toBe(1);
    expect(getVillager(t.db, 'zhang')).toMatchObject({ balance: 30, debt: 0 });
    expect(getVillager(t.db, 'li')!.status).toBe('blocked');
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });
});

describe('debt repayment ids', () => {
  it('an award with the longest allowed id still repays a debt', () => {
    applyEntry(t.db, { id: 'a1', villagerId: 'zhang', kind: 'award', points: 10, origin: 'cli' }, rules);
    openSession(t.db, { id: 's1', kind: 'shopping', villagerId: 'zhang', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(t.db, { sessionId: 's1', lines: [{ sku: 'oil', slot: 'A1', count: 1 }], review: [] }, rules);
    const longId = 'x'.repeat(128);
    const r = applyEntry(t.db, { id: longId, villagerId: 'zhang', kind: 'award', points: 50, origin: 'ledger' }, { ...rules, store: 's'.repeat(64) });
    expect(r.status === 'applied' && r.debtRepaid?.points).toBe(-20);
    expect(r.status === 'applied' && r.debtRepaid?.id).toMatch(/^debt#[0-9a-f]{40}@s{64}$/);
    expect(getVillager(t.db, 'zhang')).toMatchObject({ balance: 30, debt: 0 });
  });

  it("names the store: each store's repayment from one award is its own entry; the same award again repays nothing more", () => {
    applyEntry(t.db, { id: 'a1', villagerId: 'zhang', kind: 'award', points: 10, origin: 'cli' }, rules);
    openSession(t.db, { id: 's1', kind: 'shopping', villagerId: 'zhang', enteredBy: 'card', state: 'shopping', context: {} });
    settleSession(t.db, { sessionId: 's1', lines: [{ sku: 'oil', slot: 'A1', count: 1 }], review: [] }, rules);
    const award = { id: 'road-1', villagerId: 'zhang', kind: 'award' as const, points: 50, origin: 'ledger' as const };
    const r = applyEntry(t.db, award, { ...rules, store: 'store-2' });
    expect(r.status === 'applied' && r.debtRepaid?.id).toBe('road-1#debt@store-2');
    expect(applyEntry(t.db, award, { ...rules, store: 'store-2' }).status).toBe('duplicate');
    expect(listEntries(t.db, 'zhang').filter((e) => e.id.startsWith('road-1#debt'))).toHaveLength(1);
    expect(getVillager(t.db, 'zhang')).toMatchObject({ balance: 30, debt: 0 });
  });
});
