/**
 * A big village for the public board's benchmark (bench/board.ts): `villagers` villagers and
 * `claims` approved rule items over three months, a third of them in the month of `now`,
 * written straight into the village ledger's tables in one transaction.
 */
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { villageMonth } from '../../cloud-sync/ledger/board/compute.ts';

/** Default library items (town scope, version 1) that add points, with their points. */
const ITEMS: Array<[string, number]> = [['ENV-SWEEP-LANE', 2], ['VOL-SERVICE', 4], ['GOV-MEETING', 2], ['CIV-GOOD-FAMILY', 30], ['ENV-SORT-GARBAGE', 1], ['GOV-SUGGESTION', 8]];

export async function loadBoardVillage(db: SqlDb, village: string, o: { villagers: number; claims: number; now: Date }): Promise<void> {
  const at0 = o.now.toISOString();
  const monthStart = Date.parse(villageMonth(o.now).start);
  await db.transaction(async (tx) => {
    for (let k = 0; k < o.villagers; k += 500) {
      const rows = Array.from({ length: Math.min(500, o.villagers - k) }, (_, j) => k + j);
      await tx.run(`INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ${rows.map((_, j) => `($${j * 3 + 1}, $${j * 3 + 2}, $${j * 3 + 3}, 'active', '${at0}', '${at0}')`).join(', ')}`,
        rows.flatMap((r) => [`${village}-p${r}`, village, `村民${r}`]));
    }
    for (let k = 0; k < o.claims; k += 400) {
      const rows = Array.from({ length: Math.min(400, o.claims - k) }, (_, j) => k + j);
      const entries: unknown[] = [];
      const claims: unknown[] = [];
      for (const r of rows) {
        const [code, points] = ITEMS[r % ITEMS.length]!;
        const at = new Date(r % 3 === 0 ? monthStart + (r % 86_400) * 1000 : monthStart - (1 + (r % 60)) * 86_400_000).toISOString();
        const villager = `${village}-p${(r * 7919) % o.villagers}`;
        entries.push(`gov:${village}-c${r}`, village, villager, points, `rule:town/${code}@1`, at);
        claims.push(`${village}-c${r}`, village, villager, code, points, `gov:${village}-c${r}`, at);
      }
      await tx.run(`INSERT INTO entries (id, village, villager_id, kind, points, reference, created_at, received_at) VALUES ${rows.map((_, j) => `($${j * 6 + 1}, $${j * 6 + 2}, $${j * 6 + 3}, 'award', $${j * 6 + 4}, $${j * 6 + 5}, $${j * 6 + 6}, $${j * 6 + 6})`).join(', ')}`, entries);
      await tx.run(`INSERT INTO gov_claims (id, village, origin, villager_id, item_scope, item_code, item_version, points, status, entry_id, created_at, decided_at) VALUES ${rows.map((_, j) => `($${j * 7 + 1}, $${j * 7 + 2}, 'self', $${j * 7 + 3}, '*', $${j * 7 + 4}, 1, $${j * 7 + 5}, 'approved', $${j * 7 + 6}, $${j * 7 + 7}, $${j * 7 + 7})`).join(', ')}`, claims);
    }
  });
  // A production database has statistics; tables loaded a moment ago have none until autovacuum runs.
  if (db.dialect === 'postgres') await db.exec('ANALYZE');
}
