/**
 * Who cleared an alarm by hand, at a village ledger of schema v17 or v18 and a store of this
 * version. Such a ledger reads the store's `alarms` list (and its `cleared`, v17) but never the
 * `alarm-history` topic (v19). A store of this version names its hand clears in the history
 * only: its list carries no `cleared`, because a ledger older than v17 refuses a list carrying
 * one whole (its schema is closed), and then shows none of that store's alarms as they stand
 * for the 7 days the store names the clear. So the v17 ledger shows the clear as a plain
 * clearing: the price of every older ledger reading the list, and the case the rule "update the
 * village ledger before its stores" avoids. Updated, the ledger takes the store's retained
 * history, which names the last 7 days' hand clears: who and why come then, the clearing time
 * the store's own. An older store's list naming the hand still marks it at a v17 ledger, and
 * that hand survives the update. On SQLite, and on PostgreSQL with DATABASE_URL set.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AlarmBoard, villagerIdTakenAlarm } from '../../edge/ops/alarms.ts';
import { publishAlarmsOnChange } from '../../edge/ops/alarm-publish.ts';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { alarmsMessage, type OpsLink } from '../../cloud-sync/agent/ops.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { recordAlarmList, storeAlarms, STORE_ALARMS_HAND_VERSION } from '../../cloud-sync/ledger/store-alarms.ts';
import { recordAlarmHistory, STORE_ALARM_HISTORY_VERSION } from '../../cloud-sync/ledger/store-alarm-history.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { opsCheckers, type AlarmHistory, type AlarmsMessage } from '../../cloud-sync/protocol/ops.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

const log = pino({ level: 'silent' });

/** A store's alarm board published as the daemon does (edge/main.ts), its messages kept for the test to hand to a ledger. */
function storeOf(db: Db, now: () => Date): { board: AlarmBoard; sent: { alarms: AlarmsMessage; history?: AlarmHistory }[] } {
  const board = new AlarmBoard(() => db, log, now);
  const sent: { alarms: AlarmsMessage; history?: AlarmHistory }[] = [];
  const ops = { publishAlarms: (alarms: AlarmsMessage, history?: AlarmHistory) => void sent.push({ alarms, history }), alarmsFrom: () => undefined } as unknown as OpsLink;
  publishAlarmsOnChange(board, () => ops, now);
  return { board, sent };
}

const hands = async (db: SqlDb) => db.query<{ subject: string; cleared_at: string | null; cleared_by: string | null; clear_note: string | null }>(
  'SELECT subject, cleared_at, cleared_by, clear_note FROM store_alarms ORDER BY subject',
);

describe(`who cleared an alarm by hand, at a v17 ledger (${ledgerDbKind})`, () => {
  let store: Db | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    if (store) closeLedger(store);
    store = undefined;
    await drop?.();
    drop = undefined;
  });

  const v17Ledger = async (): Promise<SqlDb> => {
    // v18 reads alarms as v17 does: the history came at v19
    expect(STORE_ALARM_HISTORY_VERSION).toBe(STORE_ALARMS_HAND_VERSION + 2);
    const t = await tempLedgerDb(STORE_ALARMS_HAND_VERSION);
    drop = t.drop;
    await addVillage(t.db, 'v1', '示范村', '2026-12-01T00:00:00.000Z');
    await registerStore(t.db, 'v1', 's1', 'k', 'unused');
    return t.db;
  };

  it("a store of this version: the v17 ledger shows a plain clearing; updated, it learns who and why from the store's history", async () => {
    const ledger = await v17Ledger();
    store = openLedger(':memory:');
    let now = new Date('2026-12-01T02:00:00.000Z');
    const { board, sent } = storeOf(store, () => now);
    villagerIdTakenAlarm(board)(['wei']);
    await recordAlarmList(ledger, 'v1', 's1', sent.at(-1)!.alarms, now);
    now = new Date('2026-12-01T02:10:00.000Z');
    board.clearByHand(board.active()[0]!.id, 'wang', '村里已更正邻村的编号');
    const { alarms, history } = sent.at(-1)!;

    // the list every ledger reads: no `cleared`, so a ledger older than v17 does not refuse it
    expect(alarms).toEqual({ at: now.toISOString(), active: [] });
    expect(opsCheckers.alarms.Check(alarms)).toBe(true);
    // taken a minute later (the line was slow): cleared then, by no hand the v17 ledger could know
    const listTaken = new Date('2026-12-01T02:11:00.000Z');
    expect(await recordAlarmList(ledger, 'v1', 's1', { ...alarms, at: listTaken.toISOString() }, listTaken)).toMatchObject({ cleared: 1, byHand: 0 });
    expect(await hands(ledger)).toEqual([{ subject: 'villager wei', cleared_at: listTaken.toISOString(), cleared_by: null, clear_note: null }]);

    // the history names the hand; updated, the ledger takes the store's retained copy at its connect
    expect(history!.ended).toMatchObject([{ subject: 'villager wei', cleared_by: 'wang', note: '村里已更正邻村的编号', cleared_at: now.toISOString() }]);
    await migrateLedger(ledger);
    const connect = new Date('2026-12-03T08:00:00.000Z');
    expect(await recordAlarmHistory(ledger, 'v1', 's1', history!, connect)).toMatchObject({ earlier: 1, byHand: 1 });
    expect(await hands(ledger)).toEqual([{ subject: 'villager wei', cleared_at: now.toISOString(), cleared_by: 'wang', clear_note: '村里已更正邻村的编号' }]);
    const [view] = await storeAlarms(ledger, ['v1'], 20);
    expect(view!.recent).toMatchObject([{ subject: 'villager wei', cleared_how: { en: 'cleared by hand by wang: 村里已更正邻村的编号', zh: '手动解除：wang，村里已更正邻村的编号' } }]);
  });

  it("an older store's list names the hand at the v17 ledger, and the hand stands after the update", async () => {
    const ledger = await v17Ledger();
    store = openLedger(':memory:');
    const now = new Date('2026-12-01T02:00:00.000Z');
    const board = new AlarmBoard(() => store!, log, () => now);
    // the store of the version before the history: its list carried the hand clears
    const list = (): AlarmsMessage => alarmsMessage(now.toISOString(), board.active(), board.clearedByHand());
    villagerIdTakenAlarm(board)(['wei']);
    await recordAlarmList(ledger, 'v1', 's1', list(), now);
    board.clearByHand(board.active()[0]!.id, 'wang', null);
    expect(list().cleared).toHaveLength(1);
    expect(await recordAlarmList(ledger, 'v1', 's1', list(), now)).toMatchObject({ cleared: 1, byHand: 1 });
    await migrateLedger(ledger);
    const [view] = await storeAlarms(ledger, ['v1'], 20);
    expect(view!.recent).toMatchObject([{ subject: 'villager wei', cleared_by: 'wang', clear_note: null, cleared_how: { en: 'cleared by hand by wang', zh: '手动解除：wang' } }]);
  });
});
