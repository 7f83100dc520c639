/**
 * `--alarm-keep-days` shorter than the stores' alarm history (ALARM_HISTORY_DAYS, 7): the
 * ledger's retention deletes an acknowledged alarm that cleared longer ago than it keeps, while
 * the store's retained `alarm-history` still lists it for the rest of its 7 days. The ledger
 * takes that history again at every connect of the store and at its own restart: it must not
 * add the deleted occurrence back. Nor may it add one it never held that the purge would
 * delete at once (dealt with at the store, ended before the ledger's horizon); one nobody
 * acknowledged, and one that ended within the period, are added as ever.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { tempDir } from '../ledger/helpers.ts';
import { runLedger } from '../../cloud-sync/ledger/run.ts';
import { newKeyPair } from '../../cloud-sync/protocol/sign.ts';
import { silentLogger } from '../../edge/log.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { publishAlarmsOnChange } from '../../edge/ops/alarm-publish.ts';
import { LedgerRetention } from '../../cloud-sync/ledger/retention.ts';
import { purgeStoreAlarms, recordAlarmList, storeAlarms, type StoreAlarmsView } from '../../cloud-sync/ledger/store-alarms.ts';
import { recordAlarmHistory } from '../../cloud-sync/ledger/store-alarm-history.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import type { EndedAlarm } from '../../cloud-sync/protocol/ops.ts';
import { Uplink } from '../../harness/sync/uplink.ts';
import { brokerKind, ledgerDbKind, startRig, tempLedgerDb, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const KEEP_DAYS = 3;

describe(`--alarm-keep-days under the stores' 7-day alarm history (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  let line: Uplink | undefined;
  afterEach(async () => {
    await line?.close();
    await rig?.close();
    rig = undefined;
    line = undefined;
  });

  const view = async (r: Rig, store: string): Promise<StoreAlarmsView> => (await storeAlarms(r.ledgerDb, [r.village], 20)).find((s) => s.store === store)!;
  const kinds = async (r: Rig, store: string): Promise<string[]> => (await view(r, store)).recent.map((a) => a.kind).sort();

  it('an acknowledged alarm the retention deleted is not added back from the history, at a reconnect or a ledger restart', async () => {
    rig = await startRig({ ledger: { alarmKeepDays: KEEP_DAYS } });
    const u = new URL(rig.broker.url);
    line = new Uplink({ host: u.hostname, port: Number(u.port) });
    const s = await rig.addStore(uid('s'), { broker_url: await line.reserve() });
    await line.open();
    await waitFor('the store online', () => s.agent.state().connected);
    // the store's clock, stepped by the test
    const T = Date.now();
    let now = new Date(T - 5 * DAY);
    const board = new AlarmBoard(() => s.db, pino({ level: 'silent' }), () => now);
    publishAlarmsOnChange(board, () => s.agent.ops, () => now);

    board.raise('scale_fault', 'A1', 'no reply from unit 11');
    board.raise('camera_gone', 'camera', 'no frames');
    await waitFor('both alarms at the ledger', async () => (await view(rig!, s.id)).active.length === 2);
    now = new Date(T - 5 * DAY + HOUR);
    board.acknowledge(board.active().find((a) => a.kind === 'scale_fault')!.id, 'wang', '换了秤');
    now = new Date(T - 4 * DAY);
    board.clear('scale_fault', 'A1');
    board.clear('camera_gone', 'camera');
    now = new Date(T - 2 * DAY);
    board.raise('disk_low', '/data', '3% free');
    board.acknowledge(board.active()[0]!.id, 'li', '清理了日志');
    now = new Date(T - DAY);
    board.clear('disk_low', '/data');
    now = new Date(T);
    await waitFor('the three cleared at the ledger', async () => (await kinds(rig!, s.id)).join() === 'camera_gone,disk_low,scale_fault');

    // the retention job, as `ledger serve --alarm-keep-days 3` runs it: the acknowledged one of 4 days ago goes
    await new LedgerRetention({ db: rig.ledgerDb, log: silentLogger(), options: { evidenceKeepDays: 0, alarmKeepDays: KEEP_DAYS, cron: 'off', timezone: 'Asia/Shanghai' } }).runOnce();
    expect(await kinds(rig, s.id)).toEqual(['camera_gone', 'disk_low']);

    // the store connects again: its history (7 days) still lists the deleted one
    const taken = async (): Promise<string | null> => (await view(rig!, s.id)).history_received_at;
    let before = await taken();
    await line.close();
    await waitFor('the store offline', () => !s.agent.state().connected);
    await line.open();
    await waitFor('the store back online', () => s.agent.state().connected);
    await waitFor('the history taken again after the reconnect', async () => (await taken()) !== before);
    expect(await kinds(rig, s.id)).toEqual(['camera_gone', 'disk_low']);

    // the ledger restarted reads the retained history anew
    before = await taken();
    await rig.stopLedger();
    rig.startLedger();
    await waitFor('the history taken again after the ledger restarted', async () => (await taken()) !== before);
    expect(await kinds(rig, s.id)).toEqual(['camera_gone', 'disk_low']);
  });

  it('a history adds no occurrence the purge would delete at once; it adds the rest, and still closes what the ledger holds', async () => {
    const t = await tempLedgerDb();
    const drop = t.drop;
    try {
      const db = t.db;
      const T = Date.now();
      const ago = (days: number): string => new Date(T - days * DAY).toISOString();
      await addVillage(db, 'va', '村 A', ago(10));
      for (const store of ['s1', 's2']) await registerStore(db, 'va', store, 'k', 'unused');
      let id = 1;
      const ended = (kind: string, clearedDaysAgo: number, how: { acked?: true; by?: string } = {}): EndedAlarm => ({
        id: id++, kind, subject: 'x', severity: 'warning', detail: kind, raised_at: ago(clearedDaysAgo + 1), last_seen_at: ago(clearedDaysAgo + 1), seen: 1,
        ...(how.acked ? { acknowledged_at: ago(clearedDaysAgo + 0.5), acknowledged_by: 'wang' } : {}),
        cleared_at: ago(clearedDaysAgo), cleared_by: how.by ?? 'resolved',
      });
      // s1 held this one active, acknowledged, when its line went down; the rest it never heard of
      const heldActive = ended('outbox_growing', 5, { acked: true });
      const { cleared_at: _c, cleared_by: _b, ...asListed } = heldActive;
      await recordAlarmList(db, 'va', 's1', { at: ago(6), active: [asListed] }, new Date(T - 6 * DAY));
      const list = [
        heldActive,
        ended('scale_fault', 4, { acked: true }), // acknowledged, ended before the horizon: the purge would delete it
        ended('villager_id_taken', 4, { by: 'li' }), // cleared by hand: likewise
        ended('camera_gone', 4), // nobody looked: kept for ever, so added
        ended('disk_low', 2, { acked: true }), // within the period: added
      ];
      const history = { at: ago(0), since: ago(7), ended: list };
      expect(await recordAlarmHistory(db, 'va', 's1', history, new Date(T), undefined, KEEP_DAYS)).toMatchObject({ added: 2, closed: 1 });
      const s1 = async (): Promise<string[]> => (await storeAlarms(db, ['va'], 20)).find((s) => s.store === 's1')!.recent.map((a) => a.kind).sort();
      expect(await s1()).toEqual(['camera_gone', 'disk_low', 'outbox_growing']);
      // the held one closed at the store's time, beyond the horizon: the next purge takes it, and the history taken again adds nothing
      expect((await purgeStoreAlarms(db, KEEP_DAYS, new Date(T))).deleted).toBe(1);
      expect(await recordAlarmHistory(db, 'va', 's1', history, new Date(T), undefined, KEEP_DAYS)).toMatchObject({ added: 0, closed: 0 });
      expect(await s1()).toEqual(['camera_gone', 'disk_low']);
      // 0 keeps the history for ever: every one is added
      expect(await recordAlarmHistory(db, 'va', 's2', history, new Date(T), undefined, 0)).toMatchObject({ added: 5 });
    } finally {
      await drop();
    }
  });

  it('`ledger serve` gives its --alarm-keep-days to the MQTT side, which takes the stores\' histories', async () => {
    rig = await startRig();
    const s = await rig.addStore(uid('s'));
    await waitFor('the store online', () => s.agent.state().connected);
    const T = Date.now();
    let now = new Date(T - 5 * DAY);
    const board = new AlarmBoard(() => s.db, pino({ level: 'silent' }), () => now);
    publishAlarmsOnChange(board, () => s.agent.ops, () => now);
    board.raise('scale_fault', 'A1', 'no reply from unit 11');
    board.raise('camera_gone', 'camera', 'no frames');
    board.acknowledge(board.active().find((a) => a.kind === 'scale_fault')!.id, 'wang', '换了秤');
    now = new Date(T - 4 * DAY);
    board.clear('scale_fault', 'A1');
    board.clear('camera_gone', 'camera');
    now = new Date(T);
    await waitFor('the history at the rig\'s ledger', async () => (await kinds(rig!, s.id)).length === 2);

    // a second ledger, as `ledger serve --alarm-keep-days 3` starts it, reads the retained history at its connect
    const t = tempDir('ledger-keep-');
    const keyFile = path.join(t.dir, 'ledger-key.pem');
    writeFileSync(keyFile, newKeyPair().privatePem);
    const tokensFile = path.join(t.dir, 'tokens.json');
    writeFileSync(tokensFile, JSON.stringify([{ token: 'town-token-0123456789', role: 'town' }]));
    const clientId = uid('ledger-keep-');
    rig.broker.leaves(clientId);
    const served = await runLedger({ brokerUrl: rig.broker.url, sqliteFile: path.join(t.dir, 'l.sqlite'), keyFile, keyId: 'k1', tokensFile, host: '127.0.0.1', port: 0, log: silentLogger(), clientId, retention: { alarmKeepDays: KEEP_DAYS, evidenceKeepDays: 0, cron: 'off' } });
    try {
      await addVillage(served.db, rig.village, '示范村', new Date(T).toISOString());
      await registerStore(served.db, rig.village, s.id, 'k', 'unused');
      // the store was not known at the connect: its history again, as at its next change
      board.raise('disk_low', '/data', '3% free');
      const view2 = async (): Promise<StoreAlarmsView | undefined> => (await storeAlarms(served.db, [rig!.village], 20)).find((x) => x.store === s.id);
      await waitFor('the history at the served ledger', async () => (await view2())?.history_at != null);
      expect((await view2())!.recent.map((a) => a.kind)).toEqual(['camera_gone']);
    } finally {
      await served.stop();
      t.cleanup();
    }
  });
});
