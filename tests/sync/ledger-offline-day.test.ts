/**
 * The village ledger away for a simulated day. The stores and the ledger share an injected
 * clock that jumps an hour at a time: the stores stay connected to the broker and keep
 * selling (under the offline limit, since the ledger has gone quiet), their outboxes grow,
 * and when the ledger comes back a day later each outbox drains in seq order.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LedgerRules } from '../../edge/ledger/entries.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { checkers, decode } from '../../cloud-sync/protocol/payloads.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { brokerKind, ledgerDbKind, startRig, uid, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';
import { expectReconciled, SOAP_PRICE, stockStore, visit } from './shop.ts';

const HOUR = 3_600_000;
const villagers = ['wang', 'li', 'zhao'];
const rules: LedgerRules = { creditFloor: 0, offline: { dailyLimit: 50, offlineAfterS: 600 } };

/** Real time shifted by `offset`: every part of the test reads this one clock. */
function shiftedClock() {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), jumpTo: (t: number) => { offset = t - Date.now(); } };
}

/** The first time each row of each store went out, in the order it went: a drain in order sends them in seq order. */
async function watchRows(rig: Rig, stores: TestStore[]): Promise<{ firstSent: Map<string, number[]>; stop: () => Promise<void> }> {
  const firstSent = new Map(stores.map((s) => [s.id, [] as number[]]));
  const seen = new Set<string>();
  const m = new SyncMqtt({ url: rig.broker.url, clientId: uid('watch-'), persistentSession: false });
  m.on('message', (topic, payload) => {
    const env = decode(payload, checkers.envelope);
    if (!env.ok || env.value.kind !== 'rows' || !checkers.rows.Check(env.value.body)) return;
    for (const r of env.value.body.rows) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      firstSent.get(env.value.store ?? '')?.push(r.seq);
    }
  });
  const up = new Promise<void>((resolve) => m.once('connect', () => resolve()));
  m.start(stores.map((s) => storeTopic({ village: rig.village, store: s.id }, 'up/rows')));
  await up;
  return { firstSent, stop: () => m.stop() };
}

describe(`the village ledger offline for a simulated day (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('the stores keep selling within the limit, the outbox grows, and it drains in order when the ledger is back', async () => {
    const clock = shiftedClock();
    const stores = [await rig.addStore(undefined, {}, clock.now), await rig.addStore(undefined, {}, clock.now)];
    const watch = await watchRows(rig, stores);
    await waitFor('stores online', () => stores.every((s) => s.agent.state().connected));
    for (const v of villagers) {
      await rig.ledger.putVillager({ id: v, name: v, village: rig.village, status: 'active' });
      await rig.ledger.award(rig.village, { id: uid('aw-'), villager: v, kind: 'award', points: 1000, created_at: new Date().toISOString() });
    }
    await waitFor('the awards in both stores', () => stores.every((s) => villagers.every((v) => getVillager(s.db, v)?.balance === 1000)));
    for (const s of stores) stockStore(s.db);
    await waitFor('the stores drained before the outage', () => stores.every((s) => countOutbox(s.db).pending === 0));

    await rig.stopLedger();
    // from five past midnight (UTC) tomorrow, a visit by every villager in every store each hour
    const today = new Date();
    const dayStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1, 0, 5);
    const admitted = new Map(stores.map((s) => [s.id, 0]));
    const pending: number[][] = [];
    for (let hour = 0; hour < 24; hour++) {
      clock.jumpTo(dayStart + hour * HOUR);
      for (const s of stores) {
        for (const v of villagers) {
          const r = visit(s.db, v, `${s.id}-${v}-${hour}`, 1, rules, clock.now);
          expect(['admit', 'offline_limit']).toContain(r.verdict);
          if (r.verdict === 'admit') admitted.set(s.id, admitted.get(s.id)! + 1);
        }
      }
      pending.push(stores.map((s) => countOutbox(s.db).pending));
      // the agents run meanwhile: they send into a broker with no ledger behind it
      await new Promise((r) => setImmediate(r));
    }
    // 50 points a day at 10 a visit: five visits per villager per store, the other nineteen refused at the door
    for (const s of stores) expect(admitted.get(s.id)).toBe(villagers.length * (rules.offline!.dailyLimit / SOAP_PRICE));
    // a settled visit writes two rows (the redemption and the session); nothing was acknowledged
    for (let i = 1; i < pending.length; i++) for (const k of [0, 1]) expect(pending[i]![k]).toBeGreaterThanOrEqual(pending[i - 1]![k]!);
    for (const [k, s] of stores.entries()) expect(pending.at(-1)![k]).toBe(2 * admitted.get(s.id)!);
    expect(stores.every((s) => s.agent.state().connected)).toBe(true);

    // the ledger back a day later, on the same clock
    clock.jumpTo(dayStart + 24 * HOUR);
    rig.startLedger(clock.now);
    const balances = await expectReconciled(rig, stores, villagers);
    for (const v of villagers) expect(balances.get(v)).toBe(1000 - 2 * 50);
    for (const s of stores) {
      const sent = watch.firstSent.get(s.id)!;
      expect(sent.length).toBe(countOutbox(s.db).total);
      expect(sent).toEqual([...sent].sort((x, y) => x - y));
      const held = await rig.ledgerDb.query<{ contiguous_seq: number | string }>('SELECT contiguous_seq FROM stores WHERE village = $1 AND id = $2', [rig.village, s.id]);
      expect(Number(held[0]!.contiguous_seq)).toBe(countOutbox(s.db).total);
    }
    await watch.stop();
  }, 300_000);
});
