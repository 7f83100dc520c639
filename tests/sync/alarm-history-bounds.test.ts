/**
 * The store's alarm history (`alarm-history`, retained) is bounded: the alarms that ended in the
 * last ALARM_HISTORY_DAYS, the newest ALARM_HISTORY_MAX in full, the rest of that window counted
 * by kind and subject; older ones are neither listed nor counted (the store keeps them itself,
 * alarms.keep_days). The village ledger takes each occurrence once, keeps the store's latest
 * count of what it left out (never adds the counts up), ignores fields it does not know, and
 * refuses a malformed history as `invalid`. The active list no longer carries `cleared`, so a
 * ledger older than that field reads it again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { AlarmBoard, villagerIdTakenAlarm } from '../../edge/ops/alarms.ts';
import { alarmHistoryMessage, alarmsMessage } from '../../cloud-sync/agent/ops.ts';
import { ALARM_HISTORY_MAX, AlarmSchema, opsCheckers, type AlarmHistory } from '../../cloud-sync/protocol/ops.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import { onAlarmHistory, recordAlarmHistory } from '../../cloud-sync/ledger/store-alarm-history.ts';
import { recordAlarmList, storeAlarms } from '../../cloud-sync/ledger/store-alarms.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** A store offline three days whose door lock flapped every 5 minutes, with a conflict cleared by hand and an alarm ended 8 days before. */
function flappingStore(db: Db, end: number): { board: AlarmBoard; history: () => AlarmHistory; set: (t: number) => void } {
  let now = new Date(end - 11 * DAY);
  const board = new AlarmBoard(() => db, pino({ level: 'silent' }), () => now);
  const set = (t: number): void => void (now = new Date(t));
  board.raise('scale_fault', 'A1', 'no reply');
  set(end - 8 * DAY - MIN);
  board.clear('scale_fault', 'A1');
  for (let t = end - 3 * DAY; t < end - 60 * MIN; t += 5 * MIN) {
    set(t);
    board.raise('lock_not_confirmed', 'door', 'the lock did not confirm', 'critical');
    set(t + 2 * MIN);
    board.clear('lock_not_confirmed', 'door');
  }
  set(end - 30 * MIN);
  villagerIdTakenAlarm(board)(['wei']);
  set(end - 20 * MIN);
  board.clearByHand(board.active()[0]!.id, 'wang', '村里已更正');
  set(end);
  const history = (): AlarmHistory => {
    const e = board.ended();
    return alarmHistoryMessage(now.toISOString(), e.since, e.listed, e.unlisted);
  };
  return { board, history, set };
}

describe('the store bounds its alarm history', () => {
  let db: Db | undefined;
  afterEach(() => {
    if (db) closeLedger(db);
    db = undefined;
  });

  it('the newest 100 ended in full, the rest of 7 days counted by kind and subject, nothing older; the list carries no `cleared`', () => {
    db = openLedger(':memory:');
    const end = Date.parse('2026-12-04T08:00:00.000Z');
    const { board, history } = flappingStore(db, end);
    const flaps = Math.ceil((3 * DAY - 60 * MIN) / (5 * MIN));
    const h = history();
    expect(opsCheckers.alarmHistory.Check(h)).toBe(true);
    expect(h.since).toBe(new Date(end - 7 * DAY).toISOString());
    expect(h.ended).toHaveLength(ALARM_HISTORY_MAX);
    expect(h.ended[0]).toMatchObject({ kind: 'villager_id_taken', subject: 'villager wei', cleared_by: 'wang', note: '村里已更正', cleared_at: new Date(end - 20 * MIN).toISOString() });
    expect(h.ended[1]).toMatchObject({ kind: 'lock_not_confirmed', subject: 'door', severity: 'critical', cleared_by: 'resolved' });
    expect(h.ended[1]).not.toHaveProperty('note');
    expect(h.ended.map((e) => Date.parse(e.cleared_at))).toEqual(h.ended.map((e) => Date.parse(e.cleared_at)).sort((a, b) => b - a));
    // the flaps past the newest 100, counted; the scale fault ended 8 days ago: neither listed nor counted
    const oldest = new Date(end - 3 * DAY).toISOString();
    expect(h.unlisted).toEqual({ count: flaps - 99, groups: [{ kind: 'lock_not_confirmed', subject: 'door', count: flaps - 99, first_raised_at: oldest, last_cleared_at: expect.any(String) as string }] });
    expect(h.ended.some((e) => e.kind === 'scale_fault')).toBe(false);
    // bounded whatever the days offline: ~100 items of at most 2000 characters of detail each
    const bytes = Buffer.byteLength(JSON.stringify(h));
    expect(bytes).toBeLessThan(64 * 1024);
    console.log(`alarm history of ${flaps + 1} ended alarms in 3 days: ${h.ended.length} listed, ${h.unlisted!.count} counted, ${bytes} bytes`);

    // the active list has no `cleared`: a ledger whose schema is closed without it (before v17) reads it
    const list = alarmsMessage(new Date(end).toISOString(), board.active());
    expect(list).toEqual({ at: new Date(end).toISOString(), active: [] });
    const older = TypeCompiler.Compile(Type.Object({ at: Type.String(), active: Type.Array(AlarmSchema) }, { additionalProperties: false }));
    expect(older.Check(list)).toBe(true);
  });
});

describe(`the village ledger takes a store's alarm history once (${ledgerDbKind})`, () => {
  let ledger: Awaited<ReturnType<typeof tempLedgerDb>> | undefined;
  let store: Db | undefined;
  afterEach(async () => {
    await ledger?.drop();
    if (store) closeLedger(store);
    ledger = undefined;
    store = undefined;
  });

  it('adds each occurrence once, keeps the latest count of the rest, bounds a future clearing, ignores unknown fields, refuses a malformed one', async () => {
    ledger = await tempLedgerDb();
    const { db } = ledger;
    const end = Date.now();
    await addVillage(db, 'va', '前进村', new Date(end - 30 * DAY).toISOString());
    await registerStore(db, 'va', 's1', 's1-key', 'unused here');
    store = openLedger(':memory:');
    const s = flappingStore(store, end);
    const h = s.history();
    const heard = new Date(end + MIN);

    expect(await recordAlarmHistory(db, 'va', 's1', h, heard)).toEqual({ stale: false, added: 100, closed: 0, earlier: 0, byHand: 1 });
    // the same history again (a retransmit, the retained copy at a reconnect): nothing
    expect(await recordAlarmHistory(db, 'va', 's1', h, heard)).toEqual({ stale: false, added: 0, closed: 0, earlier: 0, byHand: 0 });
    const first = (await storeAlarms(db, ['va'], 200))[0]!;
    expect(first.recent).toHaveLength(100);
    expect(first.unlisted).toEqual(h.unlisted);
    expect(first.recent[0]).toMatchObject({ kind: 'villager_id_taken', cleared_by: 'wang', clear_note: '村里已更正' });

    // one more flap: exactly one added; the count of the rest is the store's latest, not a sum
    s.set(end + 2 * MIN);
    s.board.raise('lock_not_confirmed', 'door', 'the lock did not confirm', 'critical');
    s.set(end + 3 * MIN);
    s.board.clear('lock_not_confirmed', 'door');
    const h2 = s.history();
    expect(await recordAlarmHistory(db, 'va', 's1', h2, new Date(end + 4 * MIN))).toEqual({ stale: false, added: 1, closed: 0, earlier: 0, byHand: 0 });
    const second = (await storeAlarms(db, ['va'], 200))[0]!;
    expect(second.recent).toHaveLength(101);
    expect(second.unlisted!.count).toBe(h.unlisted!.count + 1);
    // the older history delivered late: nothing added, its count does not replace the newer one
    expect(await recordAlarmHistory(db, 'va', 's1', h, new Date(end + 5 * MIN))).toMatchObject({ stale: true, added: 0 });
    expect((await storeAlarms(db, ['va'], 200))[0]!.unlisted).toEqual(second.unlisted);

    // an occurrence the ledger holds active (its list) clears at the store's time; one cleared in the future by a fast clock, at the receipt
    const raised = new Date(end - 10 * MIN).toISOString();
    const camera = { id: 9000, kind: 'camera_gone', subject: 'cam0', severity: 'warning' as const, detail: 'gone', raised_at: raised, last_seen_at: raised, seen: 1 };
    await recordAlarmList(db, 'va', 's1', { at: raised, active: [camera] }, new Date(end - 9 * MIN));
    const future = new Date(end + 2 * DAY).toISOString();
    const scaleRaised = new Date(end - 5 * MIN).toISOString();
    const more: AlarmHistory & { extra: unknown } = {
      ...h2, at: new Date(end + 6 * MIN).toISOString(), extra: { from: 'a later store' },
      ended: [
        { ...camera, seen: 3, last_seen_at: new Date(end - 8 * MIN).toISOString(), cleared_at: new Date(end - 7 * MIN).toISOString(), cleared_by: 'resolved', shape: 'new' } as AlarmHistory['ended'][number],
        { ...camera, id: 9001, kind: 'scale_fault', subject: 'B2', raised_at: scaleRaised, last_seen_at: scaleRaised, cleared_at: future, cleared_by: 'resolved' },
        ...h2.ended.slice(0, 98),
      ],
    };
    expect(opsCheckers.alarmHistory.Check(more)).toBe(true);
    const receipt = new Date(end + 7 * MIN);
    expect(await recordAlarmHistory(db, 'va', 's1', more, receipt)).toEqual({ stale: false, added: 1, closed: 1, earlier: 0, byHand: 0 });
    const third = (await storeAlarms(db, ['va'], 200))[0]!;
    expect(third.active).toEqual([]);
    expect(third.recent.find((a) => a.kind === 'camera_gone')).toMatchObject({ seen: 3, cleared_at: new Date(end - 7 * MIN).toISOString(), cleared_by: null });
    expect(third.recent.find((a) => a.kind === 'scale_fault' && a.subject === 'B2')).toMatchObject({ cleared_at: receipt.toISOString() });

    // malformed: refused whole and counted; an unknown store's is left alone, uncounted
    const refusals = new RefusalCounter();
    const bad = [
      { ...h2, ended: [...h2.ended, h2.ended[0]] },
      { ...h2, ended: [{ ...h2.ended[0], cleared_by: '' }] },
      { ...h2, unlisted: { count: -1, groups: [] } },
      { ...h2, since: 'yesterday' },
    ];
    for (const m of bad) expect(await onAlarmHistory(db, 'va', 's1', Buffer.from(JSON.stringify(m)), receipt, refusals)).toBeUndefined();
    expect(refusals.get('invalid')).toBe(bad.length);
    expect(await onAlarmHistory(db, 'va', 'nobody', Buffer.from(JSON.stringify(h2)), receipt, refusals)).toBeUndefined();
    expect(refusals.get('invalid')).toBe(bad.length);
    expect((await storeAlarms(db, ['va'], 200))[0]!.recent).toHaveLength(third.recent.length);
  });
});
