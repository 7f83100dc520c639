/**
 * The village ledger keeps the stores' alarms: it takes each store's retained list of active
 * alarms (raised, acknowledged at the store, cleared), keeps them as they stand and as history,
 * catches up from the retained list after being away, ignores a late older list and an unknown
 * store's list, refuses malformed lists, and shows a village only its own stores' alarms. A list
 * stamped ahead of the ledger's clock (a store clock that ran fast, a forged retained list) does
 * not hide the store's later lists.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { silentLogger } from '../../edge/log.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { alarmsMessage } from '../../cloud-sync/agent/ops.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { recordAlarmList, storeAlarms, type StoreAlarmsView } from '../../cloud-sync/ledger/store-alarms.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, tempLedgerDb, uid, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';

const log = pino({ level: 'silent' });

/** The store's alarm board, published to the village as the daemon does (edge/main.ts). */
function alarmsOf(s: TestStore): AlarmBoard {
  const board = new AlarmBoard(() => s.db, log);
  const publish = (): void => s.agent.ops.publishAlarms(alarmsMessage(new Date().toISOString(), board.active()));
  for (const e of ['raised', 'acknowledged', 'cleared'] as const) board.on(e, publish);
  return board;
}

describe(`the village ledger keeps the stores' alarms (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  const view = async (r: Rig, store: string): Promise<StoreAlarmsView> => (await storeAlarms(r.ledgerDb, [r.village], 20)).find((s) => s.store === store)!;

  it('raised, acknowledged and cleared at the store: current state and history per store, also after the ledger was away', async () => {
    rig = await startRig();
    const s = await rig.addStore();
    const quiet = await rig.addStore();
    await waitFor('the stores online', () => s.agent.state().connected && quiet.agent.state().connected);
    const board = alarmsOf(s);
    const scale = board.raise('scale_fault', 'A1', 'no reply from unit 11');
    board.raise('camera_gone', 'camera', 'no frames for 30 s');
    await waitFor('both alarms at the ledger', async () => (await view(rig!, s.id)).active.length === 2);
    board.acknowledge(scale.id, 'wang', '秤的线松了，明早接好');
    await waitFor('the acknowledgement at the ledger', async () => (await view(rig!, s.id)).active.some((a) => a.acknowledged_by === 'wang'));
    board.clear('camera_gone', 'camera');
    await waitFor('the camera alarm cleared at the ledger', async () => (await view(rig!, s.id)).recent.length === 1);
    let v = await view(rig, s.id);
    expect(v.active).toMatchObject([{ kind: 'scale_fault', subject: 'A1', id: scale.id, acknowledged_by: 'wang', ack_note: '秤的线松了，明早接好', cleared_at: null }]);
    expect(v.recent).toMatchObject([{ kind: 'camera_gone', detail: 'no frames for 30 s' }]);
    expect(v.recent[0]!.cleared_at).not.toBeNull();
    expect(v.list_at).not.toBeNull();
    expect(await view(rig, quiet.id)).toMatchObject({ active: [], recent: [], list_at: null });

    // the ledger goes away; meanwhile the scale is mended, and the disk runs low; back, it reads the retained list
    await rig.stopLedger();
    board.clear('scale_fault', 'A1');
    board.raise('disk_low', '/data', '700 MiB free');
    rig.startLedger();
    await waitFor('the list taken after the restart', async () => (await view(rig!, s.id)).active.some((a) => a.kind === 'disk_low'));
    v = await view(rig, s.id);
    expect(v.active.map((a) => a.kind)).toEqual(['disk_low']);
    expect(v.recent.map((a) => a.kind).sort()).toEqual(['camera_gone', 'scale_fault']);
    // the history keeps who acknowledged the scale alarm
    expect(v.recent.find((a) => a.kind === 'scale_fault')).toMatchObject({ acknowledged_by: 'wang' });

    // a late, older list is ignored; a malformed one is refused and counted; an unknown store's is left alone
    const m = await publisher(rig);
    try {
      const before = rig.ledger.refusals.get('invalid');
      await m.publish(storeTopic({ village: rig.village, store: s.id }, 'alarms'), JSON.stringify({ at: '2020-01-01T00:00:00.000Z', active: [] }));
      const stranger = uid('nobody');
      rig.broker.leaves(uid('x-'), [storeTopic({ village: rig.village, store: stranger }, 'alarms')]);
      await m.publish(storeTopic({ village: rig.village, store: stranger }, 'alarms'), JSON.stringify({ at: new Date().toISOString(), active: [] }));
      await m.publish(storeTopic({ village: rig.village, store: s.id }, 'alarms'), JSON.stringify({ at: 'yesterday', active: 'none' }));
      await waitFor('the malformed list refused', () => rig!.ledger.refusals.get('invalid') >= before + 1);
      await rig.ledger.idle();
      expect(rig.ledger.refusals.get('invalid')).toBe(before + 1);
      expect((await storeAlarms(rig.ledgerDb, [rig.village], 5)).map((x) => x.store)).not.toContain(stranger);
      expect((await view(rig, s.id)).active.map((a) => a.kind)).toEqual(['disk_low']);
      // the store's own list, published again (a reconnect), changes nothing
      s.agent.ops.publishAlarms(alarmsMessage(new Date().toISOString(), board.active()));
      await rig.ledger.idle();
      expect((await view(rig, s.id)).recent).toHaveLength(2);
    } finally {
      await m.stop();
    }
  });

  it('on the API: a village sees only its own stores, the town every village or one; villagers and other villages are refused', async () => {
    rig = await startRig();
    const s = await rig.addStore();
    await waitFor('the store online', () => s.agent.state().connected);
    const other = uid('vo');
    await addVillage(rig.ledgerDb, other, '邻村', new Date().toISOString());
    const board = alarmsOf(s);
    board.raise('lock_not_confirmed', 'relock', 'relay did not confirm', 'critical');
    await waitFor('the alarm at the ledger', async () => (await view(rig!, s.id)).active.length === 1);

    const app = buildLedgerApi({ db: rig.ledgerDb, service: rig.ledger, log: silentLogger(), tokens: [{ token: 'town', role: 'town' }, { token: 'mine', role: 'village', village: rig.village }, { token: 'theirs', role: 'village', village: other }] });
    try {
      const get = (url: string, token?: string) => app.inject({ url, headers: token ? { authorization: `Bearer ${token}` } : {} });
      const own = await get(`/api/villages/${rig.village}/alarms`, 'mine');
      expect(own.statusCode, own.body).toBe(200);
      expect(own.json().stores).toMatchObject([{ village: rig.village, store: s.id, active: [{ kind: 'lock_not_confirmed', severity: 'critical' }] }]);
      expect((await get(`/api/villages/${rig.village}/alarms`, 'theirs')).statusCode).toBe(404);
      expect((await get(`/api/villages/${other}/alarms`, 'theirs')).json()).toEqual({ stores: [] });
      expect((await get(`/api/villages/${rig.village}/alarms`)).statusCode).toBe(401);
      expect((await get('/api/town/alarms', 'mine')).statusCode).toBe(403);
      const town = await get(`/api/town/alarms?village=${rig.village}`, 'town');
      expect(town.json().stores.map((x: StoreAlarmsView) => x.store)).toEqual([s.id]);
      expect((await get('/api/town/alarms?village=nowhere', 'town')).statusCode).toBe(404);
      const all = await get('/api/town/alarms', 'town');
      expect(all.json().stores.some((x: StoreAlarmsView) => x.store === s.id)).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('keeps a store text with a NUL character (PostgreSQL text holds none) without it, and one row per occurrence listed twice', async () => {
    const { db, drop } = await tempLedgerDb();
    try {
      await addVillage(db, 'v1', '村', new Date().toISOString());
      await registerStore(db, 'v1', 's1', 'k', 'unused');
      const t = '2026-12-01T02:00:00.000Z';
      const a = { id: 1, kind: 'scale_fault', subject: 'A\u00001', severity: 'warning' as const, detail: 'bad\u0000 reply', raised_at: t, last_seen_at: t, seen: 1 };
      expect(await recordAlarmList(db, 'v1', 's1', { at: t, active: [a, a] }, new Date())).toEqual({ stale: false, raised: 1, updated: 0, cleared: 0, byHand: 0 });
      expect((await storeAlarms(db, ['v1'], 5))[0]!.active).toMatchObject([{ subject: 'A1', detail: 'bad reply' }]);
    } finally {
      await drop();
    }
  });

  it('a list stamped beyond the ledger\'s time and the skew is taken at its receive time: the store\'s later lists are not stale, and nothing is cleared in the future', async () => {
    const { db, drop } = await tempLedgerDb();
    try {
      const village = uid('v');
      await addVillage(db, village, '村', new Date().toISOString());
      await registerStore(db, village, 's1', 'k', 'unused');
      const alarm = (id: number, kind: string, at: string) => ({ id, kind, subject: 'door', severity: 'critical' as const, detail: kind, raised_at: at, last_seen_at: at, seen: 1 });
      const now = new Date('2026-12-01T10:00:00.000Z');
      const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
      await recordAlarmList(db, village, 's1', { at: at(0), active: [alarm(1, 'scale_fault', at(0))] }, now);
      // the store's clock ran a day fast (or a forged list stamped 2099): it says nothing is wrong
      for (const ahead of [at(86_400_000), '2099-01-01T00:00:00Z']) {
        expect(await recordAlarmList(db, village, 's1', { at: ahead, active: [] }, new Date(now.getTime() + 1000))).toMatchObject({ stale: false });
      }
      // cleared at the receive time, not in the store's future
      expect((await storeAlarms(db, [village], 20))[0]!.recent).toMatchObject([{ kind: 'scale_fault', cleared_at: at(1000) }]);
      // five minutes on, the clock set right, the lock stops confirming
      const later = new Date(now.getTime() + 5 * 60_000);
      expect(await recordAlarmList(db, village, 's1', { at: later.toISOString(), active: [alarm(7, 'lock_unconfirmed', later.toISOString())] }, later)).toMatchObject({ stale: false, raised: 1 });
      const view = (await storeAlarms(db, [village], 20))[0]!;
      expect({ active: view.active.map((a) => a.kind), list_at: view.list_at }).toEqual({ active: ['lock_unconfirmed'], list_at: later.toISOString() });
      // a list older than the one taken is still stale (a retained copy delivered late); fractional digits compare as times
      expect(await recordAlarmList(db, village, 's1', { at: at(4 * 60_000), active: [] }, new Date(later.getTime() + 1000))).toMatchObject({ stale: true });
      const tick = new Date(later.getTime() + 60_000);
      expect(await recordAlarmList(db, village, 's1', { at: '2026-12-01T10:06:00Z', active: [alarm(7, 'lock_unconfirmed', later.toISOString())] }, tick)).toMatchObject({ stale: false });
      expect(await recordAlarmList(db, village, 's1', { at: '2026-12-01T10:06:00.5Z', active: [alarm(7, 'lock_unconfirmed', later.toISOString())] }, tick)).toMatchObject({ stale: false });
    } finally {
      await drop();
    }
  });
});
