/** The offline spending limit: unbounded while the ledger is in reach, else the day's limit minus unconfirmed redemptions. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { markOutboxAckedSeqs, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { offlineAllowance, touchContact, unconfirmedSpendToday } from '../../edge/ledger/sync-state.ts';
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

  it('a new UTC day starts afresh, and an acknowledgement releases what it confirmed', () => {
    redeem('r1', 40, '2026-06-01T23:00:00.000Z');
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T23:30:00.000Z'))).toBe(10);
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-02T00:30:00.000Z'))).toBe(50);
    markOutboxAckedSeqs(l.db, pendingOutbox(l.db).map((r) => r.seq), '2026-06-01T23:40:00.000Z');
    expect(offlineAllowance(l.db, 'sun', limit, new Date('2026-06-01T23:45:00.000Z'))).toBe(50);
  });
});
