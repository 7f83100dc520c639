/** The offline spending limit: unbounded while the ledger is in reach, else the day's limit minus unconfirmed redemptions; the door's standing and the settlement that consult it. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { markOutboxAckedSeqs, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { noteVillageSeq, offlineAllowance, touchContact, unconfirmedSpendToday } from '../../edge/ledger/sync-state.ts';
import { offlineOverPoints, openSession, sessionReview, settleSession } from '../../edge/ledger/sessions.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { refundSession } from '../../edge/ledger/refunds.ts';
import { doorPolicy } from '../../edge/entry/decision.ts';
import { doorStanding } from '../../edge/ledger/entry-events.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';

const limit = { dailyLimit: 50, offlineAfterS: 600 };
const clockAt = (t: string) => () => new Date(t);

describe('offline allowance', () => {
  let l: ReturnType<typeof tempLedger>;
  beforeEach(() => {
    l = tempLedger();
    addVillager(l.db, { id: 'sun', name: '孙七', village: 'v1' }, clockAt('2026-06-01T00:00:00.000Z'));
    applyEntry(l.db, { id: 'aw', villagerId: 'sun', kind: 'award', points: 500, origin: 'cli' }, { creditFloor: 0 }, clockAt('2026-06-01T00:00:00.000Z'));
    markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), '2026-06-01T00:00:01.000Z');
  });
  afterEach(() => l.cleanup());

  const redeem = (id: string, points: number, t: string) => applyEntry(l.db, { id, villagerId: 'sun', kind: 'redemption', points: -points, origin: 'store' }, { creditFloor: 0 }, clockAt(t));

  it('is unbounded while the ledger was heard from recently', () => {
    touchContact(l.db, '2026-06-01T09:55:00.000Z');
    redeem('r1', 80, '2026-06-01T09:56:00.000Z');
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T10:00:00.000Z'))).toBe(Number.POSITIVE_INFINITY);
  });

  it('never heard from, or silent too long: the daily limit minus what is unconfirmed today', () => {
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T10:00:00.000Z'))).toBe(50);
    touchContact(l.db, '2026-06-01T08:00:00.000Z');
    redeem('r1', 30, '2026-06-01T09:00:00.000Z');
    redeem('r2', 15, '2026-06-01T09:30:00.000Z');
    expect(unconfirmedSpendToday(l.db, 'sun', '2026-06-01T10:00:00.000Z')).toBe(45);
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T10:00:00.000Z'))).toBe(5);
    redeem('r3', 20, '2026-06-01T09:40:00.000Z');
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T10:00:00.000Z'))).toBe(0);
  });

  it('a new day (in a store on UTC) starts afresh, and an acknowledgement releases what it confirmed', () => {
    const utc = { ...limit, timeZone: 'UTC' };
    redeem('r1', 40, '2026-06-01T23:00:00.000Z');
    expect(offlineAllowance(l.db, 'sun', utc, new Date('2026-06-01T23:30:00.000Z'))).toBe(10);
    expect(offlineAllowance(l.db, 'sun', utc, new Date('2026-06-02T00:30:00.000Z'))).toBe(50);
    markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), '2026-06-01T23:40:00.000Z');
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T23:45:00.000Z'))).toBe(50);
  });

  it('counts per calendar day of the store\'s time zone, not per UTC day: 07:59 and 08:00 in Shanghai are one day', () => {
    const shanghai = { ...limit, timeZone: 'Asia/Shanghai' };
    redeem('r0', 45, '2026-06-01T15:59:00.000Z'); // 23:59 on 1 June in Shanghai
    expect(offlineAllowance(l.db, 'sun', shanghai, new Date('2026-06-01T15:59:30.000Z'))).toBe(5);
    redeem('r1', 40, '2026-06-01T23:59:00.000Z'); // 07:59 on 2 June in Shanghai
    // 08:00:30 in Shanghai (00:00:30 UTC, a new UTC day): still 2 June there, 40 spent, 1 June's 45 not
    expect(unconfirmedSpendToday(l.db, 'sun', '2026-06-02T00:00:30.000Z', undefined, 'Asia/Shanghai')).toBe(40);
    expect(offlineAllowance(l.db, 'sun', shanghai, new Date('2026-06-02T00:00:30.000Z'))).toBe(10);
    // and 3 June in Shanghai starts afresh
    expect(offlineAllowance(l.db, 'sun', shanghai, new Date('2026-06-02T16:00:30.000Z'))).toBe(50);
  });

  it('behind the stream, what was redeemed since it fell behind counts though acknowledged', () => {
    redeem('r0', 10, '2026-06-01T08:00:00.000Z'); // before: acknowledged, seen by every store
    markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), '2026-06-01T08:00:01.000Z');
    noteVillageSeq(l.db, 7, '2026-06-01T09:00:00.000Z'); // the stream at 7, the store at 0
    touchContact(l.db, '2026-06-01T09:59:00.000Z'); // acks and beats keep coming
    redeem('r1', 30, '2026-06-01T09:30:00.000Z');
    markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), '2026-06-01T09:30:01.000Z');
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T10:00:00.000Z'))).toBe(20);
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-02T00:30:00.000Z'))).toBe(50); // a new day
  });
});

describe('the offline limit where the store consults it', () => {
  let l: ReturnType<typeof tempLedger>;
  const rules = { creditFloor: 0, offline: limit };
  beforeEach(() => {
    l = tempLedger();
    addVillager(l.db, { id: 'sun', name: '孙七', village: 'v1' }, clockAt('2026-06-01T00:00:00.000Z'));
    applyEntry(l.db, { id: 'aw', villagerId: 'sun', kind: 'award', points: 500, origin: 'cli' }, { creditFloor: 0 }, clockAt('2026-06-01T00:00:00.000Z'));
    upsertProduct(l.db, { sku: 'oil', name: '食用油', price: 20, unitG: 900, toleranceG: 20 });
    upsertSlot(l.db, { slot: 'S1', address: 1, sku: 'oil', stock: 100 });
    // In reach means the ledger acknowledges this store's rows too (an old row unacknowledged counts as offline).
    markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), '2026-06-01T00:00:01.000Z');
  });
  afterEach(() => l.cleanup());

  const shop = (id: string, count: number, t: string) => {
    openSession(l.db, { id, kind: 'shopping', villagerId: 'sun', enteredBy: 'card', state: 'shopping', context: {} }, clockAt(t));
    return settleSession(l.db, { sessionId: id, lines: [{ sku: 'oil', slot: 'S1', count }], review: [] }, rules, clockAt(t));
  };

  it("the door's standing carries the allowance only while the ledger is out of reach", () => {
    expect(doorStanding(l.db, 'sun')).not.toHaveProperty('offlineAllowance');
    expect(doorStanding(l.db, 'sun', rules, new Date('2026-06-01T10:00:00.000Z'))?.offlineAllowance).toBe(50);
    touchContact(l.db, '2026-06-01T09:59:00.000Z');
    expect(doorStanding(l.db, 'sun', rules, new Date('2026-06-01T10:00:00.000Z'))).not.toHaveProperty('offlineAllowance');
  });

  it('a maintainer restocks, spending nothing: no offline allowance at the door, even with a limit of 0', () => {
    addVillager(l.db, { id: 'ma', name: '马管理员', village: 'v1', isMaintainer: true }, clockAt('2026-06-01T00:00:00.000Z'));
    expect(doorStanding(l.db, 'ma', { creditFloor: 0, offline: { dailyLimit: 0, offlineAfterS: 600 } }, new Date('2026-06-01T10:00:00.000Z'))).not.toHaveProperty('offlineAllowance');
    expect(doorStanding(l.db, 'sun', { creditFloor: 0, offline: { dailyLimit: 0, offlineAfterS: 600 } }, new Date('2026-06-01T10:00:00.000Z'))?.offlineAllowance).toBe(0);
  });

  it('a settlement within the allowance is plain; the one that crosses it is charged in full with a review line for the excess', () => {
    const first = shop('s1', 2, '2026-06-01T10:00:00.000Z'); // 40 of 50
    expect(first.review).toEqual([]);
    const second = shop('s2', 2, '2026-06-01T10:10:00.000Z'); // 40 more with 10 left
    expect(second).toMatchObject({ status: 'settled', charged: 40, debt: 0 });
    expect(second.review).toEqual([expect.objectContaining({ slot: '*', reason: 'offline_limit' })]);
    expect(second.review[0]?.detail).toMatch(/30 over the limit.*超出 30 分/);
    expect(offlineOverPoints(sessionReview(l.db, 's2'))).toBe(30);
    expect(getVillager(l.db, 'sun')?.balance).toBe(420);
    // used up: the door now refuses until the ledger confirms or the day ends
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T10:20:00.000Z'))).toBe(0);
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-02T00:00:00.000Z'))).toBe(50);
  });

  it('counts what the villager took: a refund of a purchase counted today gives it back, one of an acknowledged purchase does not', () => {
    shop('s0', 1, '2026-06-01T08:00:00.000Z'); // 20, acknowledged: the ledger and every store have it
    markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), '2026-06-01T08:00:01.000Z');
    shop('s1', 2, '2026-06-01T09:00:00.000Z'); // 40 of 50, offline
    const now = new Date('2026-06-01T09:30:00.000Z');
    expect(offlineAllowance(l.db, 'sun', limit, now)).toBe(10);
    refundSession(l.db, 's0', { points: 20, reason: '称重错误 misweighed' }, rules, clockAt('2026-06-01T09:10:00.000Z'));
    expect(offlineAllowance(l.db, 'sun', limit, now)).toBe(10);
    refundSession(l.db, 's1', { points: 15, reason: '称重错误 misweighed' }, rules, clockAt('2026-06-01T09:15:00.000Z'));
    expect(offlineAllowance(l.db, 'sun', limit, now)).toBe(25);
    refundSession(l.db, 's1', { points: 25, reason: '称重错误 misweighed' }, rules, clockAt('2026-06-01T09:20:00.000Z'));
    expect(getVillager(l.db, 'sun')?.balance).toBe(500); // every purchase refunded
    expect(offlineAllowance(l.db, 'sun', limit, now)).toBe(50);
    expect(doorPolicy(doorStanding(l.db, 'sun', rules, now), 'card', false)).toBe('admit');
  });

  it('a debt repaid here from points earned here is not spending', () => {
    applyEntry(l.db, { id: 'pen', villagerId: 'sun', kind: 'penalty', points: -530, origin: 'cli' }, { creditFloor: 0 }, clockAt('2026-05-31T10:00:00.000Z'));
    markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), '2026-05-31T10:00:01.000Z');
    expect(getVillager(l.db, 'sun')?.debt).toBe(30);
    // Offline: 100 awarded at the store (store-edge points award), 30 of it repays the debt.
    applyEntry(l.db, { id: 'aw2', villagerId: 'sun', kind: 'award', points: 100, origin: 'cli' }, rules, clockAt('2026-06-01T08:00:00.000Z'));
    expect(getVillager(l.db, 'sun')?.balance).toBe(70);
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T09:00:00.000Z'))).toBe(50);
  });

  it('in reach of the ledger a settlement has no offline review line, whatever the amount', () => {
    touchContact(l.db, '2026-06-01T09:59:00.000Z');
    expect(shop('s1', 10, '2026-06-01T10:00:00.000Z').review).toEqual([]);
    expect(getVillager(l.db, 'sun')?.balance).toBe(300);
  });
});
