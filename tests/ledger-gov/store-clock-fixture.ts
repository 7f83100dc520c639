/**
 * A village whose three stores sold to 张三 by clocks that disagree with the ledger's, for the
 * tests of a store's time in the ledger's months (rollup-store-clock, board-store-clock).
 */
import { applyStoreRows, DEFAULT_SKEW_MS } from '../../cloud-sync/ledger/rows.ts';
import { addVillage, registerStore, type Signer } from '../../cloud-sync/ledger/tables.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';

export const signer: Signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };

/** A store's sale of `points` made at `at` (its clock): the session row and its redemption entry. */
const sold = (store: string, seq: number, points: number, at: string): Row[] => [
  { id: `${store}:${seq}`, seq, topic: 'session', created_at: at, payload: { id: `${store}-s${seq}`, kind: 'shopping', villager: 'zhang', total_points: points, lines: [{ sku: 'salt', count: 1, points }], opened_at: at, closed_at: at } },
  { id: `${store}:${seq + 1}`, seq: seq + 1, topic: 'entry', created_at: at, payload: { id: `${store}-r${seq}`, villager: 'zhang', kind: 'redemption', points: -points, created_at: at } },
];

/**
 * Village `va` and its villager `zhang`, and three sales received by the ledger: `fast` sold 7
 * points by a clock that says 20 February 2027, received on 20 November 2026; `offline` sold 5
 * on 30 October (village time), sent on 20 November; `near` sold 3 two minutes ahead, within
 * the skew, past midnight of the 1st of December (village time).
 */
export async function seedStoreClocks(db: SqlDb): Promise<void> {
  await addVillage(db, 'va', '前进村', '2026-09-01T00:00:00.000Z');
  await db.run("INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ('zhang', 'va', '张三', 'active', $1, $1)", ['2026-09-01T00:00:00.000Z']);
  for (const s of ['fast', 'offline', 'near']) await registerStore(db, 'va', s, `${s}-key`, 'unused here');
  const received = new Date('2026-11-20T04:00:00.000Z');
  await applyStoreRows(db, 'va', 'fast', sold('fast', 1, 7, '2027-02-20T04:00:00.000Z'), signer, received);
  await applyStoreRows(db, 'va', 'offline', sold('offline', 1, 5, '2026-10-30T04:00:00.000Z'), signer, received);
  const lateNight = new Date('2026-11-30T15:59:00.000Z');
  await applyStoreRows(db, 'va', 'near', sold('near', 1, 3, new Date(lateNight.getTime() + DEFAULT_SKEW_MS - 60_000).toISOString()), signer, lateNight);
}
