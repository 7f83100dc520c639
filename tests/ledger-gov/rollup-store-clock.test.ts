/**
 * The roll-up counts a store's entries and sales in the month they were made, by the store's
 * clock, but not beyond the ledger's receipt plus the allowed clock skew (store-time.ts): a store
 * whose clock runs months fast puts its sales in the month they arrived, not in a month to come.
 * A store offline for days is believed: its rows count in the month they were made.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rollup } from '../../cloud-sync/ledger/governance/rollup.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { seedStoreClocks } from './store-clock-fixture.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;

describe(`roll-up months of a store's rows by its clock, within the allowed skew (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  afterEach(async () => {
    await ledger?.drop();
    ledger = undefined;
  });

  it('a clock three months fast counts in the month of receipt; a store offline since last month, and one a little fast, by their own time', async () => {
    ledger = await tempLedgerDb();
    const { db } = ledger;
    await seedStoreClocks(db);

    const r = await rollup(db, ['va'], { from: '2026-10', to: '2027-03' });
    expect(r.months.map((m) => [m.month, m.redeemed])).toEqual([['2026-10', 5], ['2026-11', 7], ['2026-12', 3]]);
    for (const [month, points] of [['2026-10', 5], ['2026-11', 7], ['2026-12', 3], ['2027-02', 0]] as const) {
      const sales = (await rollup(db, ['va'], { from: month, to: month }, ['sales'])).sales;
      expect({ month, points: sales.reduce((n, s) => n + s.points, 0) }).toEqual({ month, points });
    }
  });
});
