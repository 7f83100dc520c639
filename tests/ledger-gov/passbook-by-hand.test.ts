/**
 * Points given by hand at a store PC (`store-edge points award|penalty|adjust`) reach the village
 * ledger with the reference `by-hand:store-pc` (edge/ledger/entries.ts BY_HAND_REFERENCE), a field
 * every version of the protocol carries and keeps. The passbook tells such a line from a village
 * award or a purchase: `by_hand`, and the kind 店内手工调整 beside the entry's own kind. Before,
 * 200000 points typed in at an unmanned store showed as a plain 调整 of `store: demo-store`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import { BY_HAND_REFERENCE } from '../../edge/ledger/entries.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { signer } from './store-clock-fixture.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;
const AT = '2026-11-20T04:00:00.000Z';

describe(`a store's entry made by hand in the passbook (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    await ledger?.drop();
    g = undefined;
    ledger = undefined;
  });

  it('marks the line made by hand at the store PC, and only that one', async () => {
    ledger = await tempLedgerDb();
    await addVillage(ledger.db, 'va', '前进村', '2026-09-01T00:00:00.000Z');
    await ledger.db.run("INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ('nephew', 'va', '侄子', 'active', $1, $1)", ['2026-09-01T00:00:00.000Z']);
    await registerStore(ledger.db, 'va', 'demo-store', 'k', 'unused here');
    await applyStoreRows(ledger.db, 'va', 'demo-store', [
      { id: 'demo-store:1', seq: 1, topic: 'entry', created_at: AT, payload: { id: 'cli:1', villager: 'nephew', kind: 'adjustment', points: 200000, balance_after: 200000, reference: BY_HAND_REFERENCE, reason: '系统调整', origin: 'cli', created_at: AT } },
      { id: 'demo-store:2', seq: 2, topic: 'entry', created_at: AT, payload: { id: 'r1', villager: 'nephew', kind: 'redemption', points: -5, balance_after: 199995, reference: 'session:s1', reason: '盐', origin: 'store', created_at: AT } },
    ], signer, new Date(AT));
    g = await govApp({ db: ledger.db, village: 'va', clock: () => new Date('2026-12-02T02:00:00.000Z') });
    const res = await g.call(g.va, 'GET', '/api/villages/va/villagers/nephew/passbook');
    expect(res.statusCode, res.body).toBe(200);
    const lines = (res.json() as { lines: { id: string; kind: string; by_hand: boolean; store: string | null }[] }).lines;
    expect(lines.map(({ id, kind, by_hand, store }) => ({ id, kind, by_hand, store }))).toEqual([
      { id: 'cli:1', kind: '调整（店内手工调整）', by_hand: true, store: 'demo-store' },
      { id: 'r1', kind: '兑换', by_hand: false, store: 'demo-store' },
    ]);
  });
});
