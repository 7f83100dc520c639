/**
 * A store whose clock runs more than sync.clock_skew_s ahead of the ledger: every `rows` batch
 * it signs is refused as issued in the future (`invalid`), so its sales never reach the ledger,
 * while the ledger's beats and stream events still reach it. Its own rows unacknowledged for
 * offline_after_s, it counts as offline for the offline limit and raises the clock_skew alarm
 * (the mirror of tests/sync/skew-double-spend.test.ts, a clock too slow).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { lastContact } from '../../edge/ledger/sync-state.ts';
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
    applyEntry(s.db, { id: uid('sess-'), villagerId: 'zhang', kind: 'redemption', points: -15, reason: '超市兑换 / store purchase', origin: 'store' }, { creditFloor: 0 }, clock);
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

  it('clocks right, after an outage longer than offline_after_s: no clock alarm while the backlog drains', async () => {
    const alarms: (string | undefined)[] = [];
    const s = await rig.addStore(uid('s'), { offline_after_s: 2 }, undefined, { clockAlarm: (d) => alarms.push(d) });
    await waitFor('online', () => s.agent.state().connected);
    await s.stop(); // the link is down
    addVillager(s.db, { id: 'zhang', name: '张三', village: rig.village });
    // An outage's worth of rows, written from 2.5 s ago on (longer than offline_after_s), more than the 1,000 in flight at once.
    const since = Date.now() - 2500;
    for (let i = 0; i < 1500; i++) applyEntry(s.db, { id: uid('aw-'), villagerId: 'zhang', kind: 'award', points: 1, origin: 'cli' }, { creditFloor: 0 }, () => new Date(since + i));
    await s.restart();
    await waitFor('backlog drained', () => countOutbox(s.db).pending === 0, 60_000);
    // Two more fresh beats after the drain: the alarm, had any been due, would have been raised.
    const drained = Date.now();
    await waitFor('a fresh beat since', () => Date.parse(lastContact(s.db) ?? '') > drained + 1000, 10_000);
    expect(alarms.filter((d) => d !== undefined)).toEqual([]);
  }, 60_000);
});
