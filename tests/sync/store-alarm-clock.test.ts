/**
 * The stores' alarms as the town and village pages read them (GET …/alarms: storeAlarms) carry a
 * store's times by its clock, but not beyond the ledger's receipt plus the allowed clock skew
 * (store-time.ts), as the roll-up, the board and the passbook take a store's entries: a store
 * whose clock runs days fast cannot show staff an alarm raised, seen or acknowledged in the
 * future, nor raised after it cleared, nor sort it below alarms raised since. A store offline
 * for days is believed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { recordAlarmList, storeAlarms } from '../../cloud-sync/ledger/store-alarms.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;

const T = Date.parse('2026-12-01T10:00:00.000Z');
const at = (ms: number) => new Date(T + ms).toISOString();
const HOUR = 3_600_000;
const DAYS3 = 3 * 24 * HOUR;
const alarm = (id: number, kind: string, raised: string, seen = raised, ack?: string) => ({
  id, kind, subject: 'door', severity: 'critical' as const, detail: kind, raised_at: raised, last_seen_at: seen, seen: 1,
  ...(ack ? { acknowledged_at: ack, acknowledged_by: 'wang' } : {}),
});

describe(`a store's alarm times by its clock, within the allowed skew (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  afterEach(async () => {
    await ledger?.drop();
    ledger = undefined;
  });

  it('a clock three days fast shows its alarms raised, seen and acknowledged when the ledger heard them; a store offline for days by its own time', async () => {
    ledger = await tempLedgerDb();
    const { db } = ledger;
    await addVillage(db, 'va', '前进村', at(-10 * 24 * HOUR));
    for (const s of ['fast', 'offline']) await registerStore(db, 'va', s, `${s}-key`, 'unused here');

    // the fast store's clock says three days on: the scale fails, a maintainer acknowledges it
    const scale = alarm(1, 'scale_fault', at(DAYS3), at(DAYS3), at(DAYS3 + 60_000));
    await recordAlarmList(db, 'va', 'fast', { at: at(DAYS3 + 60_000), active: [scale] }, new Date(T));
    // an hour on, its clock set right: the lock stops confirming; the scale's alarm still listed, seen again by the old stamp's clock
    const lock = alarm(2, 'lock_unconfirmed', at(HOUR));
    await recordAlarmList(db, 'va', 'fast', { at: at(HOUR), active: [{ ...scale, last_seen_at: at(DAYS3 + HOUR) }, lock] }, new Date(T + HOUR));
    // the offline store's camera failed two days ago, heard now
    await recordAlarmList(db, 'va', 'offline', { at: at(-2 * 24 * HOUR), active: [alarm(1, 'camera_gone', at(-2 * 24 * HOUR))] }, new Date(T + HOUR));

    const times = async () => Object.fromEntries((await storeAlarms(db, ['va'], 20)).map((s) => [s.store, {
      active: s.active.map((a) => [a.kind, a.raised_at, a.last_seen_at, a.acknowledged_at]),
      recent: s.recent.map((a) => [a.kind, a.raised_at, a.cleared_at]),
    }]));
    expect(await times()).toEqual({
      fast: { active: [['scale_fault', at(0), at(HOUR), at(HOUR)], ['lock_unconfirmed', at(HOUR), at(HOUR), null]], recent: [] },
      offline: { active: [['camera_gone', at(-2 * 24 * HOUR), at(-2 * 24 * HOUR), null]], recent: [] },
    });

    // the scale mended two hours on: cleared then, raised before it
    await recordAlarmList(db, 'va', 'fast', { at: at(2 * HOUR), active: [lock] }, new Date(T + 2 * HOUR));
    expect((await times()).fast).toEqual({ active: [['lock_unconfirmed', at(HOUR), at(HOUR), null]], recent: [['scale_fault', at(0), at(2 * HOUR)]] });
  });
});
