/**
 * The village sees who cleared a store's alarm by hand: the store's alarms message lists, beside
 * its active alarms, the ones a maintainer cleared by hand lately (who, when, the note; at most
 * HAND_CLEARED_MAX of the last HAND_CLEARED_DAYS), and the ledger keeps who and why on the
 * occurrence's history row and shows it on its API. An alarm that resolved by itself shows no
 * hand. A `cleared` list too long or malformed is refused and counted like any bad message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { silentLogger } from '../../edge/log.ts';
import { AlarmBoard, villagerIdTakenAlarm } from '../../edge/ops/alarms.ts';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { alarmsMessage } from '../../cloud-sync/agent/ops.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { storeAlarms, type StoreAlarmsView } from '../../cloud-sync/ledger/store-alarms.ts';
import { HAND_CLEARED_MAX, opsCheckers } from '../../cloud-sync/protocol/ops.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';

const log = pino({ level: 'silent' });

/** The store's alarm board, published to the village as the daemon does (edge/main.ts). */
function alarmsOf(s: TestStore): AlarmBoard {
  const board = new AlarmBoard(() => s.db, log);
  const publish = (): void => s.agent.ops.publishAlarms(alarmsMessage(new Date().toISOString(), board.active(), board.clearedByHand()));
  for (const e of ['raised', 'acknowledged', 'cleared'] as const) board.on(e, publish);
  return board;
}

describe(`the village sees who cleared a store's alarm by hand (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  const view = async (r: Rig, store: string): Promise<StoreAlarmsView> => (await storeAlarms(r.ledgerDb, [r.village], 20)).find((s) => s.store === store)!;

  it('a conflict cleared by hand shows who and why in the history and on the API; one that resolved by itself shows no hand', async () => {
    rig = await startRig();
    const s = await rig.addStore();
    await waitFor('the store online', () => s.agent.state().connected);
    const board = alarmsOf(s);
    villagerIdTakenAlarm(board)(['wei']);
    board.raise('scale_fault', 'A1', 'no reply from unit 11');
    await waitFor('both alarms at the ledger', async () => (await view(rig!, s.id)).active.length === 2);

    board.clear('scale_fault', 'A1');
    board.clearByHand(board.active()[0]!.id, 'wang', '村里已更正邻村的编号');
    await waitFor('both cleared at the ledger', async () => (await view(rig!, s.id)).recent.length === 2);
    await waitFor('the hand clear at the ledger', async () => (await view(rig!, s.id)).recent.some((a) => a.cleared_by !== null));
    const v = await view(rig, s.id);
    expect(v.active).toEqual([]);
    expect(v.recent.find((a) => a.kind === 'villager_id_taken')).toMatchObject({
      subject: 'villager wei', cleared_by: 'wang', clear_note: '村里已更正邻村的编号',
      cleared_how: { en: 'cleared by hand by wang: 村里已更正邻村的编号', zh: '手动解除：wang，村里已更正邻村的编号' },
    });
    expect(v.recent.find((a) => a.kind === 'scale_fault')).toMatchObject({ cleared_by: null, clear_note: null, cleared_how: null });

    // the list published again (a reconnect) changes nothing; a hand clear without a note names the account alone
    s.agent.ops.publishAlarms(alarmsMessage(new Date().toISOString(), board.active(), board.clearedByHand()));
    villagerIdTakenAlarm(board)(['zhou']);
    await waitFor('the second conflict at the ledger', async () => (await view(rig!, s.id)).active.length === 1);
    board.clearByHand(board.active()[0]!.id, 'li', null);
    await waitFor('the second hand clear at the ledger', async () => (await view(rig!, s.id)).recent.filter((a) => a.cleared_by !== null).length === 2);
    expect((await view(rig, s.id)).recent.find((a) => a.subject === 'villager zhou')).toMatchObject({ cleared_by: 'li', clear_note: null, cleared_how: { en: 'cleared by hand by li', zh: '手动解除：li' } });

    const app = buildLedgerApi({ db: rig.ledgerDb, service: rig.ledger, log: silentLogger(), tokens: [{ token: 'mine', role: 'village', village: rig.village }] });
    try {
      const res = await app.inject({ url: `/api/villages/${rig.village}/alarms`, headers: { authorization: 'Bearer mine' } });
      expect(res.statusCode, res.body).toBe(200);
      const recent = (res.json() as { stores: StoreAlarmsView[] }).stores[0]!.recent;
      expect(recent.find((a) => a.subject === 'villager wei')).toMatchObject({ cleared_by: 'wang', clear_note: '村里已更正邻村的编号', cleared_how: { zh: '手动解除：wang，村里已更正邻村的编号' } });
      expect(recent.find((a) => a.kind === 'scale_fault')).toMatchObject({ cleared_by: null, cleared_how: null });
    } finally {
      await app.close();
    }
  });

  it('a cleared list too long or malformed is refused and counted as invalid, and marks nothing', async () => {
    rig = await startRig();
    const s = await rig.addStore();
    await waitFor('the store online', () => s.agent.state().connected);
    const board = alarmsOf(s);
    villagerIdTakenAlarm(board)(['wei']);
    await waitFor('the alarm at the ledger', async () => (await view(rig!, s.id)).active.length === 1);
    const a = board.active()[0]!;
    board.clearByHand(a.id, 'wang', 'settled');
    await waitFor('cleared at the ledger', async () => (await view(rig!, s.id)).recent.length === 1);
    await rig.ledger.idle();

    const at = new Date(Date.now() + 1000).toISOString();
    const hand = (note: unknown) => ({ id: a.id, kind: a.kind, subject: a.subject, raised_at: a.raised_at, cleared_at: at, cleared_by: 'forger', note });
    const bad = [
      { at, active: [], cleared: Array.from({ length: HAND_CLEARED_MAX + 1 }, () => hand('x')) },
      { at, active: [], cleared: [hand(7)] },
      { at, active: [], cleared: [{ ...hand('x'), cleared_by: '' }] },
      { at, active: [], cleared: [{ ...hand('x'), extra: 1 }] },
      { at, active: [], cleared: 'all of them' },
    ];
    for (const m of bad) expect(opsCheckers.alarms.Check(m)).toBe(false);
    const p = await publisher(rig);
    try {
      const before = rig.ledger.refusals.get('invalid');
      for (const m of bad) await p.publish(storeTopic({ village: rig.village, store: s.id }, 'alarms'), JSON.stringify(m));
      await waitFor('the bad lists refused', () => rig!.ledger.refusals.get('invalid') >= before + bad.length);
      await rig.ledger.idle();
      expect(rig.ledger.refusals.get('invalid')).toBe(before + bad.length);
    } finally {
      await p.stop();
    }
    expect((await view(rig, s.id)).recent).toMatchObject([{ subject: 'villager wei', cleared_by: 'wang', clear_note: 'settled' }]);
  });
});

describe('the store lists its hand clears for the village', () => {
  let db: Db | undefined;
  afterEach(() => {
    if (db) closeLedger(db);
    db = undefined;
  });

  it('the last 7 days, at most 100, newest first, with the note; none when there are none (an older ledger reads the list)', () => {
    db = openLedger(':memory:');
    let now = new Date('2026-12-01T02:00:00.000Z');
    const b = new AlarmBoard(() => db!, log, () => now);
    const resolved = b.raise('scale_fault', 'A1', 'no reply');
    b.clear('scale_fault', 'A1');
    expect(alarmsMessage(now.toISOString(), b.active(), b.clearedByHand())).toEqual({ at: now.toISOString(), active: [] });

    const ids: number[] = [];
    for (let i = 0; i < HAND_CLEARED_MAX + 2; i++) {
      now = new Date(now.getTime() + 60_000);
      villagerIdTakenAlarm(b)([`v${i}`]);
      const a = b.active()[0]!;
      ids.push(a.id);
      b.clearByHand(a.id, 'wang', i === 0 ? null : `note ${i}`);
    }
    const msg = alarmsMessage(now.toISOString(), b.active(), b.clearedByHand());
    expect(opsCheckers.alarms.Check(msg)).toBe(true);
    expect(msg.cleared).toHaveLength(HAND_CLEARED_MAX);
    expect(msg.cleared![0]).toMatchObject({ id: ids.at(-1), kind: 'villager_id_taken', subject: `villager v${HAND_CLEARED_MAX + 1}`, cleared_by: 'wang', note: `note ${HAND_CLEARED_MAX + 1}`, cleared_at: now.toISOString() });
    expect(msg.cleared!.map((c) => c.id)).not.toContain(resolved.id);

    // a week on, the first is past the window; the one cleared without a note has none
    const first = Date.parse('2026-12-01T02:01:00.000Z');
    now = new Date(first + 7 * 86_400_000 + 30_000);
    expect(b.clearedByHand(7, 200).map((c) => c.id)).toEqual(ids.slice(1).reverse());
    now = new Date(first + 7 * 86_400_000 - 1000);
    const withFirst = alarmsMessage(now.toISOString(), [], b.clearedByHand(7, 200)).cleared!;
    expect(withFirst.at(-1)).toEqual({ id: ids[0], kind: 'villager_id_taken', subject: 'villager v0', raised_at: '2026-12-01T02:01:00.000Z', cleared_at: '2026-12-01T02:01:00.000Z', cleared_by: 'wang' });
    now = new Date(now.getTime() + 8 * 86_400_000);
    expect(b.clearedByHand()).toEqual([]);
  });
});
