/**
 * The public board's month totals count a store's redemptions in the month they were made, by
 * the store's clock, but not beyond the ledger's receipt plus the allowed clock skew
 * (store-time.ts), as the roll-up does: a store whose clock runs months fast shows its sales on
 * the board of the month they arrived, not on a board to come. A store offline for days is
 * believed, and what the ledger itself made counts by the ledger's own time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addLedgerEntry } from '../../cloud-sync/ledger/tables.ts';
import { computeBoard } from '../../cloud-sync/ledger/board/compute.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { seedStoreClocks, signer } from './store-clock-fixture.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;

describe(`the board's months of a store's rows by its clock, within the allowed skew (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  afterEach(async () => {
    await ledger?.drop();
    ledger = undefined;
  });

  it('a clock three months fast counts on the board of the month of receipt; a store offline since last month, one a little fast and the ledger\'s own award by their own time', async () => {
    ledger = await tempLedgerDb();
    const { db } = ledger;
    await seedStoreClocks(db);
    // the village's own award, made at the ledger in February: its time is the ledger's
    const awardAt = new Date('2027-02-10T02:00:00.000Z');
    await addLedgerEntry(db, 'va', { id: 'award-1', villager: 'zhang', kind: 'award', points: 10, reason: '清扫街巷', created_at: awardAt.toISOString() }, signer, awardAt);
    // the award of an approved claim: the board's issued counts points for deeds only, not an award with no claim
    await db.run("INSERT INTO gov_claims (id, village, origin, villager_id, item_scope, item_code, item_version, points, status, entry_id, created_at, decided_at) VALUES ('c1', 'va', 'village', 'zhang', '*', 'ENV-SWEEP-LANE', 1, 10, 'approved', 'award-1', $1, $1)", [awardAt.toISOString()]);

    const totals = [];
    for (const at of ['2026-10-15', '2026-11-25', '2026-12-15', '2027-02-25']) {
      const b = await computeBoard(db, 'va', new Date(`${at}T04:00:00.000Z`));
      totals.push([b.month, b.totals?.redeemed, b.totals?.issued]);
    }
    expect(totals).toEqual([['2026-10', 5, 0], ['2026-11', 7, 0], ['2026-12', 3, 0], ['2027-02', 0, 10]]);
  });
});
