/**
 * A year of a town in the village ledger, written straight into its tables for the roll-up
 * benchmark (the API would take far longer to seed it): villages, villagers, entries over
 * twelve months, approved and reversed claims, and the stores' synced products and sessions.
 */
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';

export interface TownYear { villages: number; perVillage: number; entries: number; claims: number; sessions: number }

/** Seeds `size` under ids starting with `prefix`; answers the village ids. */
export async function seedTownYear(db: SqlDb, prefix: string, size: TownYear, now = Date.now()): Promise<string[]> {
  const VILLAGES = size.villages;
  const PER_VILLAGE = size.perVillage;
  const ENTRIES = size.entries;
  const CLAIMS = size.claims;
  const SESSIONS = size.sessions;
  const villages = Array.from({ length: VILLAGES }, (_, k) => `${prefix}-${k}`);
  // Rows in batches of 400, one transaction per table.
  async function insert(table: string, cols: string[], rows: unknown[][]): Promise<void> {
    await db.transaction(async (tx: SqlDb) => {
      for (let i = 0; i < rows.length; i += 400) {
        const batch = rows.slice(i, i + 400);
        const values = batch.map((_, r) => `(${cols.map((_c, c) => `$${r * cols.length + c + 1}`).join(', ')})`).join(', ');
        await tx.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${values}`, batch.flat());
      }
    });
  }
  const at = (k: number) => new Date(now - (k % 360) * 86_400_000 - (k % 86_400) * 1000).toISOString();
  const villagerOf = (k: number) => `${villages[k % VILLAGES]}-p${Math.floor(k / VILLAGES) % PER_VILLAGE}`;
  await insert('villages', ['id', 'name', 'created_at'], villages.map((v, k) => [v, `村${k}`, at(0)]));
  await insert('villagers', ['id', 'village', 'name', 'status', 'created_at', 'updated_at'], Array.from({ length: VILLAGES * PER_VILLAGE }, (_, k) => [villagerOf(k), villages[k % VILLAGES], `村民${k}`, 'active', at(0), at(0)]));
  const kinds = ['award', 'award', 'award', 'redemption', 'redemption', 'penalty', 'refund', 'adjustment'];
  await insert('entries', ['id', 'village', 'villager_id', 'kind', 'points', 'reason', 'created_at', 'received_at'], Array.from({ length: ENTRIES }, (_, k) => {
    const kind = kinds[k % kinds.length]!;
    const p = 1 + (k % 20);
    return [`${prefix}-e${k}`, villages[k % VILLAGES], villagerOf(k * 7), kind, kind === 'redemption' || kind === 'penalty' ? -p : p, 'bench', at(k), at(k)];
  }));
  const codes = ['ENV-SWEEP-LANE', 'GOV-MEETING', 'CIV-GOOD-DEED', 'VOL-SERVICE', 'SAF-FLOOD'];
  await insert('gov_claims', ['id', 'village', 'origin', 'villager_id', 'item_scope', 'item_code', 'item_version', 'points', 'status', 'created_at', 'decided_at'], Array.from({ length: CLAIMS }, (_, k) => [`${prefix}-c${k}`, villages[k % VILLAGES], 'village', villagerOf(k), '*', codes[k % codes.length], 1, 2 + (k % 5), k % 9 === 0 ? 'reversed' : 'approved', at(k), at(k)]));
  const skus = ['salt', 'soap', 'oil', 'rice', 'towel', 'noodles'];
  await insert('acked_ids', ['id', 'village', 'store', 'seq', 'topic', 'payload', 'received_at'], [
    ...skus.map((sku, k) => [`${prefix}-st:${k + 1}`, villages[0], 'st', k + 1, 'product', JSON.stringify({ sku, name: `商品${sku}`, price: 5, unit_g: 100, tolerance_g: 5, active: true }), at(0)]),
    ...Array.from({ length: SESSIONS }, (_, k) => [`${prefix}-st:${k + 100}`, villages[k % VILLAGES], 'st', k + 100, 'session', JSON.stringify({ id: `s${k}`, kind: 'shopping', villager: villagerOf(k), lines: [{ sku: skus[k % skus.length], count: 1 + (k % 3), points: 5 * (1 + (k % 3)) }, { sku: skus[(k + 1) % skus.length], count: 1, points: 5 }], closed_at: at(k) }), at(k)]),
  ]);
  return villages;
}
