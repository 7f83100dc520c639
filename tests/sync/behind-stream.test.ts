/**
 * Behind the village stream counts as offline for the offline limit once it lasts
 * offline_after_s (a store that cannot read the stream does not see other stores' sales), and
 * a streak of stream events refused as issued in the future raises the clock alarm.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { behindMark, noteVillageSeq, offlineAllowance, setInboundSeq, touchContact } from '../../edge/ledger/sync-state.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { enqueueOutbox, highestOutboxSeq, markOutboxAcked } from '../../edge/ledger/outbox.ts';
import { ClockSkewWatch, STREAK } from '../../cloud-sync/agent/clock-skew.ts';
import { silentLogger } from '../../edge/log.ts';
import { tempLedger } from '../ledger/helpers.ts';

const limit = { dailyLimit: 50, offlineAfterS: 600, clockSkewS: 300 };
const t = (hhmmss: string) => `2026-06-01T${hhmmss}.000Z`;

describe('behind the village stream', () => {
  let l: ReturnType<typeof tempLedger>;
  beforeEach(() => {
    l = tempLedger();
    addVillager(l.db, { id: 'sun', name: '孙七', village: 'v1' });
    markOutboxAcked(l.db, highestOutboxSeq(l.db), t('09:00:00')); // the villager's row reached the ledger
    setInboundSeq(l.db, 10);
  });
  afterEach(() => l.cleanup());
  const allowanceAt = (now: string) => {
    touchContact(l.db, now); // the ledger's beats keep coming
    return offlineAllowance(l.db, 'sun', limit, new Date(now));
  };

  it('a store that keeps up is never limited', () => {
    noteVillageSeq(l.db, 12, t('10:00:00'));
    setInboundSeq(l.db, 12);
    expect(allowanceAt(t('10:20:00'))).toBe(Number.POSITIVE_INFINITY);
    // the next beat finds it level: the mark goes
    noteVillageSeq(l.db, 12, t('10:20:30'));
    expect(behindMark(l.db)).toBeUndefined();
    // a new announced seq it reaches before the next beat, then another: each counts from its own beat
    noteVillageSeq(l.db, 13, t('10:21:00'));
    setInboundSeq(l.db, 13);
    noteVillageSeq(l.db, 20, t('10:40:00'));
    expect(behindMark(l.db)).toEqual({ seq: 20, since: t('10:40:00') });
    expect(allowanceAt(t('10:45:00'))).toBe(Number.POSITIVE_INFINITY);
  });

  it('a store stuck below an announced seq for offline_after_s is limited, until it catches up', () => {
    noteVillageSeq(l.db, 11, t('10:00:00'));
    expect(allowanceAt(t('10:09:59'))).toBe(Number.POSITIVE_INFINITY);
    // later beats announce more; the mark keeps its time while the store has not reached it
    noteVillageSeq(l.db, 15, t('10:05:00'));
    expect(behindMark(l.db)).toEqual({ seq: 11, since: t('10:00:00') });
    expect(allowanceAt(t('10:10:00'))).toBe(50);
    setInboundSeq(l.db, 11);
    expect(allowanceAt(t('10:10:01'))).toBe(Number.POSITIVE_INFINITY);
  });

  it('a mark from the future beyond the skew counts as behind (its age is unknown)', () => {
    noteVillageSeq(l.db, 11, t('16:00:00'));
    expect(allowanceAt(t('10:00:00'))).toBe(50);
  });
});

describe('own rows the ledger does not acknowledge', () => {
  let l: ReturnType<typeof tempLedger>;
  beforeEach(() => {
    l = tempLedger();
    addVillager(l.db, { id: 'sun', name: '孙七', village: 'v1' });
    markOutboxAcked(l.db, highestOutboxSeq(l.db), t('09:00:00'));
  });
  afterEach(() => l.cleanup());
  const allowanceAt = (now: string) => {
    touchContact(l.db, now); // the ledger's beats keep coming
    return offlineAllowance(l.db, 'sun', limit, new Date(now));
  };

  it('a row unacknowledged for offline_after_s counts as offline, though the ledger answers, until it is acknowledged', () => {
    const seq = enqueueOutbox(l.db, 'product', { op: 'upsert', sku: 'oil', name: 'oil', price: 1 }, t('10:00:00'));
    expect(allowanceAt(t('10:09:59'))).toBe(Number.POSITIVE_INFINITY);
    expect(allowanceAt(t('10:10:00'))).toBe(50);
    markOutboxAcked(l.db, seq, t('10:10:01'));
    expect(allowanceAt(t('10:10:02'))).toBe(Number.POSITIVE_INFINITY);
  });

  it('a row stamped later than now beyond the skew (a clock set back) counts as offline until acknowledged', () => {
    enqueueOutbox(l.db, 'product', { op: 'upsert', sku: 'oil', name: 'oil', price: 1 }, t('16:00:00'));
    expect(allowanceAt(t('10:00:00'))).toBe(50);
  });
});

describe('clock skew: own rows unacknowledged while the ledger answers', () => {
  it('raises the alarm once past offline_after_s, keeps it while the stream is refused too, clears when both are well', () => {
    const alarms: string[] = [];
    const w = new ClockSkewWatch({ log: silentLogger(), alarm: (d) => alarms.push(d === undefined ? 'cleared' : 'raised') });
    const after = 600_000;
    w.ownRows(t('10:00:00'), t('10:09:59'), after, 300_000);
    // the first word that the clock is fine clears an alarm an earlier run may have left (tests/sync/clock-skew-restart.test.ts)
    expect(alarms).toEqual(['cleared']);
    alarms.length = 0;
    w.ownRows(t('10:00:00'), t('10:09:59'), after, 300_000);
    expect(alarms).toEqual([]);
    w.ownRows(t('10:00:00'), t('10:10:00'), after, 300_000);
    w.ownRows(t('10:00:00'), t('10:10:30'), after, 300_000);
    expect(alarms).toEqual(['raised']);
    for (let i = 0; i < STREAK; i++) w.fromFuture(t('10:20:00'), t('10:10:00'));
    expect(alarms).toEqual(['raised', 'raised']); // raised again with the stream's detail
    w.ownRows(null, t('10:11:00'), after, 300_000); // rows acknowledged, the stream still refused
    expect(w.raised).toBe(true);
    w.accepted();
    expect(alarms).toEqual(['raised', 'raised', 'cleared']);
    // a row stamped beyond the skew in the future: its age is unknown
    w.ownRows(t('16:00:00'), t('10:12:00'), after, 300_000);
    expect(alarms).toEqual(['raised', 'raised', 'cleared', 'raised']);
  });
});

describe('clock skew: what the alarm says', () => {
  const details = (): { alarms: (string | undefined)[]; w: ClockSkewWatch } => {
    const alarms: (string | undefined)[] = [];
    return { alarms, w: new ClockSkewWatch({ log: silentLogger(), alarm: (d) => alarms.push(d) }) };
  };

  it("a fast clock: the ledger's fixed 5 minutes, not the store's sync.clock_skew_s, and to set the clock (NTP, doctor), in both languages", () => {
    const { alarms, w } = details();
    w.ownRows(t('10:00:00'), t('10:10:30'), 600_000, 60_000);
    const [en = '', zh = ''] = (alarms.at(-1) ?? '').split(' / ');
    expect(en).toContain('more than 5 minutes ahead of the ledger');
    expect(en).toContain('later than its own time plus 5 minutes');
    expect(en).not.toMatch(/beyond sync\.clock_skew_s/);
    expect(en).toContain('timedatectl set-ntp true');
    expect(en).toContain('store-edge doctor');
    expect(zh).toContain('快 5 分钟以上');
    expect(zh).not.toMatch(/超出 sync\.clock_skew_s/);
    expect(zh).toContain('timedatectl set-ntp true');
    expect(zh).toContain('store-edge doctor');
  });

  it('a slow clock: beyond sync.clock_skew_s, and to set the clock, in both languages', () => {
    const { alarms, w } = details();
    for (let i = 0; i < STREAK; i++) w.fromFuture(t('10:10:00'), t('10:00:00'));
    const [en = '', zh = ''] = (alarms.at(-1) ?? '').split(' / ');
    expect(en).toContain('beyond sync.clock_skew_s');
    expect(en).toContain('timedatectl set-ntp true');
    expect(zh).toContain('超出 sync.clock_skew_s');
    expect(zh).toContain('store-edge doctor');
  });
});

describe('clock skew refusals', () => {
  it.each([
    // refusals from the future, then accepted, alarms seen
    [STREAK - 1, false, []],
    [STREAK, false, ['raised']],
    [STREAK + 5, false, ['raised']],
    [STREAK, true, ['raised', 'cleared']],
  ] as const)('%i refused running, accepted after: %s → %j', (n, accepted, seen) => {
    const alarms: string[] = [];
    const w = new ClockSkewWatch({ log: silentLogger(), alarm: (d) => alarms.push(d === undefined ? 'cleared' : 'raised') });
    for (let i = 0; i < n; i++) w.fromFuture(t('10:10:00'), t('10:00:00'));
    if (accepted) w.accepted();
    expect(alarms).toEqual(seen);
  });

  it('an accepted event in between breaks the streak', () => {
    const alarms: string[] = [];
    const w = new ClockSkewWatch({ log: silentLogger(), alarm: (d) => alarms.push(d === undefined ? 'cleared' : 'raised') });
    for (let i = 0; i < 3 * STREAK; i++) {
      if (i % STREAK === STREAK - 1) w.accepted();
      else w.fromFuture(t('10:10:00'), t('10:00:00'));
    }
    // never raised: only the first accepted event's clearing of an alarm an earlier run may have left
    expect(alarms).toEqual(['cleared']);
  });
});
