/**
 * Entry ids are unique across stores: two stores of one village each charging their own first
 * review line (numbered per store) both reach the village ledger, and every balance agrees.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyEntry, redeemAtExit } from '../../edge/ledger/entries.ts';
import { inTransaction } from '../../edge/ledger/db.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox, enqueueOutbox } from '../../edge/ledger/outbox.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { listOpenReview, resolveReviewLine } from '../../edge/ledger/review.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';
import { stockStore } from './shop.ts';

const at = () => new Date().toISOString();
const rules = { creditFloor: 0 };

/** A visit whose settlement leaves one review line, charged 7 by the maintainer. */
function chargedReview(s: TestStore, sessionId: string): string {
  stockStore(s.db);
  openSession(s.db, { id: sessionId, kind: 'shopping', villagerId: 'zhang', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(s.db, { sessionId, lines: [], review: [{ slot: 'S1', reason: 'not_stable' }] }, rules);
  const line = listOpenReview(s.db)[0]!;
  const r = resolveReviewLine(s.db, line.id, { resolution: 'charge', points: 7 }, rules);
  return r.entry!.id;
}

describe(`entry ids across stores (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("two stores' first review charges are two entries at the ledger, and the balances agree", async () => {
    rig = await startRig();
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('both stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-1', villager: 'zhang', kind: 'award', points: 100, created_at: at() });
    await waitFor('the award in both stores', () => getVillager(a.db, 'zhang')?.balance === 100 && getVillager(b.db, 'zhang')?.balance === 100);

    const ids = [chargedReview(a, 'sess-a'), chargedReview(b, 'sess-b')];
    // each store numbers its review lines from 1; the entries must still differ
    expect(new Set(ids).size).toBe(2);
    await waitFor('both charges at the ledger', async () => (await balanceOf(rig!.ledgerDb, 'zhang')) === 86);
    await waitFor('both stores drained and level', () =>
      countOutbox(a.db).pending === 0 && countOutbox(b.db).pending === 0 && getVillager(a.db, 'zhang')?.balance === 86 && getVillager(b.db, 'zhang')?.balance === 86);
  });

  it('two stores repaying their own debt from one award make two repayments, and every balance agrees', async () => {
    rig = await startRig();
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('both stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-1', villager: 'zhang', kind: 'award', points: 5, created_at: at() });
    await waitFor('the award in both stores', () => getVillager(a.db, 'zhang')?.balance === 5 && getVillager(b.db, 'zhang')?.balance === 5);
    // a visit over the balance at each store: the rest is that store's debt
    const shop = (s: TestStore, id: string, points: number) => inTransaction(s.db, 'settling', () => redeemAtExit(s.db, { id, villagerId: 'zhang', points, origin: 'store' }, rules, at()));
    expect(shop(a, 'redemption:sess-a', 20)).toMatchObject({ charged: 5, debt: 15 });
    await waitFor('store B sees the charge', () => getVillager(b.db, 'zhang')?.balance === 0);
    expect(shop(b, 'redemption:sess-b', 10)).toMatchObject({ charged: 0, debt: 10 });

    // one award: each store takes its own debt from it
    await rig.ledger.award(rig.village, { id: 'road-1', villager: 'zhang', kind: 'award', points: 50, created_at: at() });
    await waitFor('both repayments at the ledger', async () => (await balanceOf(rig!.ledgerDb, 'zhang')) === 25);
    await waitFor('both stores drained and level', () =>
      countOutbox(a.db).pending === 0 && countOutbox(b.db).pending === 0 && getVillager(a.db, 'zhang')?.balance === 25 && getVillager(b.db, 'zhang')?.balance === 25);
    expect([getVillager(a.db, 'zhang')?.debt, getVillager(b.db, 'zhang')?.debt]).toEqual([0, 0]);
    expect(rig.ledger.counters.clashes).toBe(0);
  });

  it('a store entry the ledger cannot apply (a villager id the protocol does not carry) is acknowledged, and counted as unapplied', async () => {
    rig = await startRig();
    const a = await rig.addStore();
    await waitFor('the store online', () => a.agent.state().connected);
    // as an older store wrote it, before its villager ids were limited to what the protocol carries
    inTransaction(a.db, 'an old row', () => enqueueOutbox(a.db, 'entry', { id: 'r-1', villager: 'cun3:042', kind: 'redemption', points: -30, created_at: at() }, at()));
    a.agent.kick();
    await waitFor('the row acknowledged', () => countOutbox(a.db).pending === 0);
    await waitFor('the row counted as unapplied', () => rig!.ledger.counters.unapplied === 1);
  });

  it('an entry id the ledger holds already with other content is not applied, and is counted and logged as a clash', async () => {
    rig = await startRig();
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('both stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-1', villager: 'zhang', kind: 'award', points: 100, created_at: at() });
    await waitFor('the award in both stores', () => getVillager(a.db, 'zhang')?.balance === 100 && getVillager(b.db, 'zhang')?.balance === 100);
    // an id both stores make (as review charges once did): the second is another entry, not a
    // repeat. Both made before either hears of the other's (each store takes the ledger's stream
    // too, and would refuse its own as a repeat once it held the other's).
    applyEntry(a.db, { id: 'same-id', villagerId: 'zhang', kind: 'redemption', points: -5, origin: 'store' }, rules);
    applyEntry(b.db, { id: 'same-id', villagerId: 'zhang', kind: 'redemption', points: -9, origin: 'store' }, rules);
    await waitFor('the clash counted', () => rig!.ledger.counters.clashes === 1);
    // one of the two applied, whichever came first; the other not
    expect([95, 91]).toContain(await balanceOf(rig.ledgerDb, 'zhang'));
    // acknowledged all the same: sending it again would change nothing
    await waitFor('both stores drained', () => countOutbox(a.db).pending === 0 && countOutbox(b.db).pending === 0);
  });
});
