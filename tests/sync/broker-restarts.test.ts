/**
 * The broker killed and restarted twenty times while a thousand sessions settle in two
 * stores. A "session" here is a visit through the door's policy and the ledger's settlement
 * (tests/sync/shop.ts), the functions the session engine calls, not a simulated walk past the
 * shelves. Half of each round settles while the broker is down. Only the in-process broker
 * can be restarted by the test; with MQTT_URL the same sessions settle over a broker that
 * stays up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LedgerRules } from '../../edge/ledger/entries.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { brokerKind, brokerRestartable, ledgerDbKind, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { expectReconciled, SOAP_PRICE, stockStore, visit } from './shop.ts';

const SESSIONS = 1000;
const RESTARTS = 20;
const villagers = ['wang', 'li', 'zhao', 'sun'];
const rules: LedgerRules = { creditFloor: 0, offline: { dailyLimit: 200, offlineAfterS: 600 } };

describe(`broker restarts while sessions settle (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it(`${SESSIONS} sessions, the broker restarted ${RESTARTS} times${brokerRestartable ? '' : ' (this broker cannot be restarted from here)'}: nothing lost, nothing twice`, async () => {
    const stores = [await rig.addStore(), await rig.addStore()];
    await waitFor('stores online', () => stores.every((s) => s.agent.state().connected));
    for (const v of villagers) {
      await rig.ledger.putVillager({ id: v, name: v, village: rig.village, status: 'active' });
      await rig.ledger.award(rig.village, { id: uid('aw-'), villager: v, kind: 'award', points: 100_000, created_at: new Date().toISOString() });
    }
    await waitFor('the awards in both stores', () => stores.every((s) => villagers.every((v) => getVillager(s.db, v)?.balance === 100_000)));
    for (const s of stores) stockStore(s.db);

    let settled = 0;
    const settle = (n: number): void => {
      for (const end = settled + n; settled < end; settled++) {
        const s = stores[settled % stores.length]!;
        const r = visit(s.db, villagers[settled % villagers.length]!, `visit-${settled}`, 1 + (settled % 3), rules, () => new Date());
        expect(r.settled?.status).toBe('settled');
      }
    };
    const perHalf = SESSIONS / RESTARTS / 2;
    let restarts = 0;
    for (let round = 0; round < RESTARTS; round++) {
      settle(perHalf);
      // the ledger has taken something since the last restart, so each restart cuts into a live drain
      const before = rig.ledger.counters.rows;
      await waitFor(`the ledger taking rows (round ${round})`, () => rig.ledger.counters.rows > before, 120_000);
      await rig.broker.stop();
      settle(perHalf);
      await rig.broker.start();
      if (brokerRestartable) restarts++;
    }
    expect(settled).toBe(SESSIONS);
    expect(restarts).toBe(brokerRestartable ? RESTARTS : 0);

    const balances = await expectReconciled(rig, stores, villagers, 300_000);
    // each villager's share of the sessions, at 1, 2 or 3 soaps in turn
    const spent = new Map(villagers.map((v) => [v, 0]));
    for (let i = 0; i < SESSIONS; i++) spent.set(villagers[i % villagers.length]!, spent.get(villagers[i % villagers.length]!)! + SOAP_PRICE * (1 + (i % 3)));
    for (const v of villagers) expect(balances.get(v)).toBe(100_000 - spent.get(v)!);
    // a session writes two rows (the redemption and the session) and the ledger holds each once
    for (const s of stores) {
      const held = await rig.ledgerDb.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM acked_ids WHERE village = $1 AND store = $2', [rig.village, s.id]);
      expect(Number(held[0]!.n)).toBe(countOutbox(s.db).total);
    }
    const redemptions = await rig.ledgerDb.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM entries WHERE village = $1 AND kind = 'redemption'", [rig.village]);
    expect(Number(redemptions[0]!.n)).toBe(SESSIONS);
  }, 600_000);
});
