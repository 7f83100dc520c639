/**
 * A store whose clock runs more than sync.clock_skew_s ahead of the ledger: every `rows` batch
 * it signs is refused as issued in the future (`invalid`), so its sales never reach the ledger,
 * while the ledger's beats and stream events still reach it. Its own rows unacknowledged for
 * offline_after_s, it counts as offline for the offline limit and raises the clock_skew alarm
 * (the mirror of tests/sync/skew-double-spend.test.ts, a clock too slow).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { offlineAllowance } from '../../edge/ledger/sync-state.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, ledgerDbKind, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';

const limit = { dailyLimit: 20, offlineAfterS: 2, clockSkewS: 300 };

describe(`a store clock 10 minutes fast (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig(); });
  afterEach(async () => { await rig.close(); });

  it('its rows refused by the ledger, it counts as offline after offline_after_s and raises the clock alarm; once its clock is right the rows drain', async () => {
    let offsetMs = 0;
    const clock = () => new Date(Date.now() + offsetMs);
    const alarms: (string | undefined)[] = [];
    const s = await rig.addStore(uid('s'), { offline_after_s: 2 }, clock, { clockAlarm: (d) => alarms.push(d) });
    await waitFor('online', () => s.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'zhang', kind: 'award', points: 100, reason: 'x', created_at: new Date().toISOString() });
    await waitFor('award at the store', () => getVillager(s.db, 'zhang')?.balance === 100);
    // In reach once a beat has answered since it connected (the stream alone is not contact then).
    await waitFor('in reach', () => offlineAllowance(s.db, 'zhang', limit, clock()) === Number.POSITIVE_INFINITY);

    offsetMs = 10 * 60_000;
    applyEntry(s.db, { id: uid('sess-'), villagerId: 'zhang', kind: 'redemption', points: -15, reason: 'store purchase', origin: 'store' }, { creditFloor: 0 }, clock);
    s.agent.kick();
    await waitFor('the ledger refuses its rows', () => (rig.ledger.refusals.toJSON().invalid ?? 0) >= 1);
    // Beats keep coming, yet its rows stay unacknowledged: after offline_after_s it is limited
    // (20 a day, 15 of them spent here unconfirmed) and the alarm says why.
    await new Promise((r) => setTimeout(r, 2500));
    const inContact = () => clock().getTime() - Date.parse(s.agent.state().last_contact ?? '') < 1500;
    await waitFor('the store limited, though in contact', () => inContact() && offlineAllowance(s.db, 'zhang', limit, clock()) === 5, 10_000);
    await waitFor('the clock alarm raised', () => alarms.at(-1) !== undefined);
    expect(alarms.at(-1)).toMatch(/ahead/);
    expect(await balanceOf(rig.ledgerDb, 'zhang')).toBe(100);
    expect(countOutbox(s.db).pending).toBe(1);

    // The clock set right: the rows drain, the limit and the alarm go.
    offsetMs = 0;
    await waitFor('the ledger has the sale', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === 85);
    await waitFor('the store in reach again', () => offlineAllowance(s.db, 'zhang', limit, clock()) === Number.POSITIVE_INFINITY);
    await waitFor('the clock alarm cleared', () => alarms.length >= 2 && alarms.at(-1) === undefined);
  }, 60_000);
});
