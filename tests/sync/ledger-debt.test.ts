/**
 * The ledger learns each store's debt as the stores send it (cloud-sync/ledger/debts.ts): two
 * real stores, one villager taking more than they have at each. A penalty beyond the balance at
 * one (the entry's `debt`), goods beyond it at the other (the session's `debt`, no entry when
 * nothing could be charged), then an award from the ledger that each store repays its own debt
 * from: at every step the ledger owes per store what each store holds (`villagers.debt`).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry, type LedgerRules } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { villagerDebt, type VillagerDebt } from '../../cloud-sync/ledger/debts.ts';
import { brokerKind, ledgerDbKind, startRig, uid, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';
import { expectReconciled, stockStore, visit } from './shop.ts';

const rulesOf = (s: TestStore): LedgerRules => ({ creditFloor: 0, store: s.id });

/** What the stores hold owed, as the ledger says it (stores owed only, by id). */
const heldAtStores = (stores: TestStore[], villager: string): VillagerDebt => {
  const owing = stores.map((s) => ({ store: s.id, debt: getVillager(s.db, villager)!.debt })).filter((o) => o.debt > 0).sort((x, y) => (x.store < y.store ? -1 : 1));
  return { debt: owing.reduce((n, o) => n + o.debt, 0), stores: owing };
};

describe(`the ledger's view of a villager's debt at the stores (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('a penalty and goods beyond the balance at two stores, then an award each repays its own from', async () => {
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'wang', name: '王五', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 25, created_at: new Date().toISOString() });
    await waitFor('the award in both stores', () => getVillager(a.db, 'wang')?.balance === 25 && getVillager(b.db, 'wang')?.balance === 25);
    stockStore(a.db);

    // b: a penalty of 30 with 25 on the balance: 25 charged, 5 owed there (the entry's `debt`)
    expect(applyEntry(b.db, { id: uid('pen-'), villagerId: 'wang', kind: 'penalty', points: -30, reason: '损坏货架', origin: 'admin' }, rulesOf(b))).toMatchObject({ status: 'applied', debtAdded: 5 });
    await waitFor('the penalty at a', () => getVillager(a.db, 'wang')?.balance === 0);
    // a: two soaps with nothing left: nothing charged, no entry, 20 owed there (the session's `debt`)
    expect(visit(a.db, 'wang', uid('sess-'), 2, rulesOf(a), () => new Date())).toMatchObject({ verdict: 'admit', settled: { charged: 0, debt: 20 } });
    await expectReconciled(rig, [a, b], ['wang']);
    expect(heldAtStores([a, b], 'wang').debt).toBe(25);
    await waitFor('the ledger owing what the stores hold', async () => JSON.stringify(await villagerDebt(rig.ledgerDb, rig.village, 'wang')) === JSON.stringify(heldAtStores([a, b], 'wang')));

    // an award of 15 from the ledger: a repays 15 of its 20, b its 5
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 15, created_at: new Date().toISOString() });
    await waitFor('both stores repaid', () => getVillager(a.db, 'wang')?.debt === 5 && getVillager(b.db, 'wang')?.debt === 0);
    await expectReconciled(rig, [a, b], ['wang']);
    expect(await villagerDebt(rig.ledgerDb, rig.village, 'wang')).toEqual({ debt: 5, stores: [{ store: a.id, debt: 5 }] });
  }, 300_000);

  it('a deduction that finds the balance at the floor: its debt reaches the ledger, and the award that repays it clears it there', async () => {
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhou', name: '周八', village: rig.village, status: 'active' });
    await waitFor('the villager in both stores', () => getVillager(a.db, 'zhou') !== undefined && getVillager(b.db, 'zhou') !== undefined);

    // a: the balance at the floor (0), a penalty of 30: nothing charged, 30 owed there
    expect(applyEntry(a.db, { id: uid('pen-'), villagerId: 'zhou', kind: 'penalty', points: -30, reason: '损坏货架', origin: 'admin' }, rulesOf(a)))
      .toMatchObject({ status: 'applied', debtAdded: 30, entry: { points: 0 } });
    await expectReconciled(rig, [a, b], ['zhou']);
    expect(heldAtStores([a, b], 'zhou')).toEqual({ debt: 30, stores: [{ store: a.id, debt: 30 }] });
    expect(await villagerDebt(rig.ledgerDb, rig.village, 'zhou')).toEqual(heldAtStores([a, b], 'zhou'));

    // an award of 30 from the ledger: a repays all of it, and the ledger owes nothing more
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'zhou', kind: 'award', points: 30, created_at: new Date().toISOString() });
    await waitFor('a repaid', () => getVillager(a.db, 'zhou')?.debt === 0);
    await expectReconciled(rig, [a, b], ['zhou']);
    expect(await villagerDebt(rig.ledgerDb, rig.village, 'zhou')).toEqual({ debt: 0, stores: [] });
  }, 300_000);
});
