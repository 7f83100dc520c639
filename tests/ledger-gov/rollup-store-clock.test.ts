/**
 * The roll-up counts a store's entries and sales in the month they were made, by the store's
 * clock, but not beyond the ledger's receipt plus the allowed clock skew (store-time.ts): a store
 * whose clock runs months fast puts its sales in the month they arrived, not in a month to come.
 * A store offline for days is believed: its rows count in the month they were made.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyStoreRows, DEFAULT_SKEW_MS } from '../../cloud-sync/ledger/rows.ts';
import { addVillage, registerStore, type Signer } from '../../cloud-sync/ledger/tables.ts';
import { rollup } from '../../cloud-sync/ledger/governance/rollup.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;
const signer: Signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };

/** A store's sale of `points` made at `at` (its clock): the session row and its redemption entry. */
const sold = (store: string, seq: number, points: number, at: string): Row[] => [
  { id: `${store}:${seq}`, seq, topic: 'session', created_at: at, payload: { id: `${store}-s${seq}`, kind: 'shopping', villager: 'zhang', total_points: points, lines: [{ sku: 'salt', count: 1, points }], opened_at: at, closed_at: at } },
  { id: `${store}:${seq + 1}`, seq: seq + 1, topic: 'entry', created_at: at, payload: { id: `${store}-r${seq}`, villager: 'zhang', kind: 'redemption', points: -points, created_at: at } },
];

describe(`roll-up months of a store's rows by its clock, within the allowed skew (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  afterEach(async () => {
    await ledger?.drop();
    ledger = undefined;
  });

  it('a clock three months fast counts in the month of receipt; a store offline since last month, and one a little fast, by their own time', async () => {
    ledger = await tempLedgerDb();
    const { db } = ledger;
    await addVillage(db, 'va', '前进村', '2026-09-01T00:00:00.000Z');
    await db.run("INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ('zhang', 'va', '张三', 'active', $1, $1)", ['2026-09-01T00:00:00.000Z']);
    for (const s of ['fast', 'offline', 'near']) await registerStore(db, 'va', s, `${s}-key`, 'unused here');
    const received = new Date('2026-11-20T04:00:00.000Z');
    // fast: its clock says February; offline: made on 30 October (village time), sent on 20 November;
    // near: two minutes ahead, within the skew, and past midnight of the 1st of December (village time).
    await applyStoreRows(db, 'va', 'fast', sold('fast', 1, 7, '2027-02-20T04:00:00.000Z'), signer, received);
    await applyStoreRows(db, 'va', 'offline', sold('offline', 1, 5, '2026-10-30T04:00:00.000Z'), signer, received);
    const lateNight = new Date('2026-11-30T15:59:00.000Z');
    await applyStoreRows(db, 'va', 'near', sold('near', 1, 3, new Date(lateNight.getTime() + DEFAULT_SKEW_MS - 60_000).toISOString()), signer, lateNight);

    const r = await rollup(db, ['va'], { from: '2026-10', to: '2027-03' });
    expect(r.months.map((m) => [m.month, m.redeemed])).toEqual([['2026-10', 5], ['2026-11', 7], ['2026-12', 3]]);
    for (const [month, points] of [['2026-10', 5], ['2026-11', 7], ['2026-12', 3], ['2027-02', 0]] as const) {
      const sales = (await rollup(db, ['va'], { from: month, to: month }, ['sales'])).sales;
      expect({ month, points: sales.reduce((n, s) => n + s.points, 0) }).toEqual({ month, points });
    }
  });
});
