/**
 * A last contact stamped by a clock that ran ahead (then corrected back) is no contact: the
 * store would otherwise count itself in reach until the clock catches up, with the ledger gone
 * and no offline limit. A contact ahead of now by no more than the allowed skew still counts.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { offlineAllowance, touchContact } from '../../edge/ledger/sync-state.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { highestOutboxSeq, markOutboxAcked } from '../../edge/ledger/outbox.ts';
import { tempLedger } from '../ledger/helpers.ts';

const limit = { dailyLimit: 50, offlineAfterS: 600, clockSkewS: 300 };
let l: ReturnType<typeof tempLedger>;
beforeEach(() => {
  l = tempLedger();
  addVillager(l.db, { id: 'sun', name: '孙七', village: 'v1' });
  markOutboxAcked(l.db, highestOutboxSeq(l.db), '2026-06-01T00:00:00.000Z'); // the villager's row reached the ledger
});
afterEach(() => l.cleanup());

it.each([
  // contact on record, now, allowance
  ['2026-06-01T16:00:00.000Z', '2026-06-01T15:00:00.000Z', 50], // stamped 1 h ahead: none
  ['2026-06-01T15:05:00.001Z', '2026-06-01T15:00:00.000Z', 50], // just past the skew: none
  ['2026-06-01T15:04:59.000Z', '2026-06-01T15:00:00.000Z', Number.POSITIVE_INFINITY], // within the skew
  ['2026-06-01T14:55:00.000Z', '2026-06-01T15:00:00.000Z', Number.POSITIVE_INFINITY], // 5 min ago
])('contact at %s, now %s: allowance %s', (contact, now, allowance) => {
  touchContact(l.db, contact);
  expect(offlineAllowance(l.db, 'sun', limit, new Date(now))).toBe(allowance);
});

it('without a configured skew, any contact later than now is none', () => {
  touchContact(l.db, '2026-06-01T15:00:01.000Z');
  expect(offlineAllowance(l.db, 'sun', { dailyLimit: 50, offlineAfterS: 600 }, new Date('2026-06-01T15:00:00.000Z'))).toBe(50);
});
