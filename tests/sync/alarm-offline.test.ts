/**
 * An alarm that came and went while the store was offline reaches the village all the same: the
 * store loses its line to the broker, an alarm is raised and cleared (by hand, or by itself: a
 * door lock that failed for an hour), the line comes back, and the village ledger's history
 * (GET …/alarms, what /village and /town show) has each occurrence with the store's raise and
 * clear times and who cleared it. One the ledger held active before the line went down clears
 * at the store's time, not at the reconnect. Reconnecting again, or the ledger restarting and
 * reading the retained messages anew, applies nothing twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { silentLogger } from '../../edge/log.ts';
import { AlarmBoard, villagerIdTakenAlarm } from '../../edge/ops/alarms.ts';
import { publishAlarmsOnChange } from '../../edge/ops/alarm-publish.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { storeAlarms, type StoreAlarmsView } from '../../cloud-sync/ledger/store-alarms.ts';
import { Uplink } from '../../harness/sync/uplink.ts';
import { brokerKind, ledgerDbKind, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';

const MIN = 60_000;

describe(`an alarm raised and cleared while the store was offline reaches the village (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  let line: Uplink | undefined;
  afterEach(async () => {
    await line?.close();
    await rig?.close();
    rig = undefined;
    line = undefined;
  });

  const view = async (r: Rig, store: string): Promise<StoreAlarmsView> => (await storeAlarms(r.ledgerDb, [r.village], 20)).find((s) => s.store === store)!;

  it('with its raise and clear times and who cleared it, once, across reconnects and a ledger restart', async () => {
    rig = await startRig();
    const u = new URL(rig.broker.url);
    line = new Uplink({ host: u.hostname, port: Number(u.port) });
    const s = await rig.addStore(uid('s'), { broker_url: await line.reserve() });
    await line.open();
    await waitFor('the store online', () => s.agent.state().connected);
    // the store's clock, stepped by the test: each raise and clear at a time of its own
    const T0 = Date.now() - 3 * 60 * MIN;
    let now = new Date(T0);
    const at = (m: number): string => new Date(T0 + m * MIN).toISOString();
    const board = new AlarmBoard(() => s.db, pino({ level: 'silent' }), () => now);
    publishAlarmsOnChange(board, () => s.agent.ops);

    board.raise('scale_fault', 'A1', 'no reply from unit 11');
    await waitFor('the scale fault at the ledger', async () => (await view(rig!, s.id)).active.length === 1);

    await line.close();
    await waitFor('the store offline', () => !s.agent.state().connected);
    now = new Date(T0 + 10 * MIN);
    villagerIdTakenAlarm(board)(['wei']);
    now = new Date(T0 + 20 * MIN);
    board.clearByHand(board.active().find((a) => a.kind === 'villager_id_taken')!.id, 'wang', '村里已更正邻村的编号');
    now = new Date(T0 + 30 * MIN);
    board.raise('lock_not_confirmed', 'door', 'the lock did not confirm', 'critical');
    now = new Date(T0 + 90 * MIN);
    board.clear('lock_not_confirmed', 'door');
    now = new Date(T0 + 100 * MIN);
    board.clear('scale_fault', 'A1');
    expect(board.active()).toEqual([]);

    await line.open();
    await waitFor('the store back online', () => s.agent.state().connected);
    await waitFor('the three occurrences in the village history', async () => (await view(rig!, s.id)).recent.length === 3);
    await waitFor('the scale fault cleared at the store\'s time', async () => (await view(rig!, s.id)).recent.find((a) => a.kind === 'scale_fault')?.cleared_at === at(100));
    const expected = [
      { kind: 'scale_fault', subject: 'A1', raised_at: at(0), cleared_at: at(100), cleared_by: null, clear_note: null },
      { kind: 'lock_not_confirmed', subject: 'door', severity: 'critical', raised_at: at(30), cleared_at: at(90), cleared_by: null, clear_note: null, cleared_how: null },
      { kind: 'villager_id_taken', subject: 'villager wei', raised_at: at(10), cleared_at: at(20), cleared_by: 'wang', clear_note: '村里已更正邻村的编号', cleared_how: { en: 'cleared by hand by wang: 村里已更正邻村的编号', zh: '手动解除：wang，村里已更正邻村的编号' } },
    ];
    const first = await view(rig, s.id);
    expect(first.active).toEqual([]);
    expect(first.recent).toMatchObject(expected);

    // the village reads the same on the ledger's API
    const app = buildLedgerApi({ db: rig.ledgerDb, service: rig.ledger, log: silentLogger(), tokens: [{ token: 'mine', role: 'village', village: rig.village }] });
    try {
      const res = await app.inject({ url: `/api/villages/${rig.village}/alarms`, headers: { authorization: 'Bearer mine' } });
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as { stores: StoreAlarmsView[] }).stores.find((x) => x.store === s.id)!.recent).toMatchObject(expected);
    } finally {
      await app.close();
    }

    // sent again: a reconnect, then the ledger restarting (the retained messages read anew)
    const taken = async (): Promise<string | null> => (await view(rig!, s.id)).history_received_at;
    let before = await taken();
    await line.close();
    await waitFor('the store offline again', () => !s.agent.state().connected);
    await line.open();
    await waitFor('the history taken again after the reconnect', async () => (await taken()) !== before);
    before = await taken();
    await rig.stopLedger();
    rig.startLedger();
    await waitFor('the history taken again after the ledger restarted', async () => (await taken()) !== before);
    const again = await view(rig, s.id);
    expect(again.active).toEqual([]);
    expect(again.recent).toEqual(first.recent);
  });

  it('a store restarted while offline sends its alarms at its first connect, not only at its next change', async () => {
    rig = await startRig();
    const u = new URL(rig.broker.url);
    line = new Uplink({ host: u.hostname, port: Number(u.port) });
    const s = await rig.addStore(uid('s'), { broker_url: await line.reserve() });
    await line.open();
    await waitFor('the store online', () => s.agent.state().connected);
    const log = pino({ level: 'silent' });
    const board = new AlarmBoard(() => s.db, log);
    publishAlarmsOnChange(board, () => s.agent.ops);
    villagerIdTakenAlarm(board)(['wei']);
    await waitFor('the conflict at the ledger', async () => (await view(rig!, s.id)).active.length === 1);

    // the line goes down, the maintainer clears the conflict, the store's daemon restarts before the line is back
    await line.close();
    await waitFor('the store offline', () => !s.agent.state().connected);
    board.clearByHand(board.active()[0]!.id, 'wang', '村里已更正');
    await s.stop();
    await s.restart();
    publishAlarmsOnChange(new AlarmBoard(() => s.db, log), () => s.agent.ops);
    await line.open();
    await waitFor('the store back online', () => s.agent.state().connected);
    await waitFor('the conflict cleared by hand at the ledger', async () => (await view(rig!, s.id)).recent.some((a) => a.cleared_by === 'wang'));
    expect((await view(rig, s.id)).active).toEqual([]);
  });
});
