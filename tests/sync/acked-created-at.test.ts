/**
 * The ledger keeps each store row's own time (`acked_ids.created_at`, schema version
 * ACKED_CREATED_AT_VERSION) beside its receipt: a store's rename made while it was offline counts
 * in the roll-up from when it was made. A stamp beyond the receipt plus the allowed clock skew is
 * kept as the receipt; rows held before the migration have none and count from their receipt.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { ACKED_CREATED_AT_VERSION, LEDGER_SCHEMA_VERSION, migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { addVillage, type Signer } from '../../cloud-sync/ledger/tables.ts';
import { putCatalogueProduct } from '../../cloud-sync/ledger/catalogue.ts';
import { rollup } from '../../cloud-sync/ledger/governance/rollup.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;
const signer: Signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };
const sale = JSON.stringify({ id: 'x1', kind: 'shopping', villager: 'zhang', total_points: 5, lines: [{ sku: 'salt', count: 1, points: 5 }], opened_at: '2026-11-20T02:00:00.000Z', closed_at: '2026-11-20T02:00:00.000Z' });
const rename = (seq: number, name: string, at: string): Row => ({ id: `s1:${seq}`, seq, topic: 'product', payload: { op: 'upsert', sku: 'salt', name, price: 5 }, created_at: at });
const nameOfSalt = async (db: Ledger['db']) => (await rollup(db, ['va'], { from: '2026-11', to: '2026-11' }, ['sales'])).sales.map((s) => s.name);
const timesHeld = async (db: Ledger['db']) => (await db.query<{ id: string; created_at: string | null }>('SELECT id, created_at FROM acked_ids ORDER BY seq')).map((r) => [r.id, r.created_at]);

describe(`acked_ids keeps a store row's own time (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  afterEach(async () => {
    await ledger?.drop();
    ledger = undefined;
  });

  it(`a ledger of version ${ACKED_CREATED_AT_VERSION - 1}: its rows count from their receipt, the rows after the migration from their own time`, async () => {
    ledger = await tempLedgerDb(ACKED_CREATED_AT_VERSION - 1);
    const { db } = ledger;
    await addVillage(db, 'va', '村', '2026-11-01T00:00:00.000Z');
    // As the older version held them: a rename received on 10 November and a sale.
    for (const [seq, topic, payload] of [[1, 'product', JSON.stringify({ op: 'upsert', sku: 'salt', name: '盐（旧）', price: 5 })], [2, 'session', sale]] as const) {
      await db.run('INSERT INTO acked_ids (id, village, store, seq, topic, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [`s1:${seq}`, 'va', 's1', seq, topic, payload, '2026-11-10T00:00:00.000Z']);
    }
    await migrateLedger(db);
    expect(Number((await db.query<{ version: number | string }>('SELECT version FROM ledger_schema'))[0]!.version)).toBe(LEDGER_SCHEMA_VERSION);
    // The village published the salt on 5 November: the old rename, received after, stands.
    await putCatalogueProduct(db, 'va', { sku: 'salt', name: '食盐（村）', price: 5, unit_g: 500, tolerance_g: 10, active: true }, '2026-11-05T00:00:00.000Z');
    expect(await nameOfSalt(db)).toEqual(['盐（旧）']);

    // A rename made on 1 November while the store was offline, received on the 25th: older than both.
    await applyStoreRows(db, 'va', 's1', [rename(3, '盐（离线）', '2026-11-01T00:00:00.000Z')], signer, new Date('2026-11-25T00:00:00.000Z'));
    expect(await nameOfSalt(db)).toEqual(['盐（旧）']);
    // One stamped a month ahead (the store's clock ran fast), received on the 26th: counted from then.
    await applyStoreRows(db, 'va', 's1', [rename(4, '盐（钟快）', '2026-12-26T00:00:00.000Z')], signer, new Date('2026-11-26T00:00:00.000Z'));
    expect(await nameOfSalt(db)).toEqual(['盐（钟快）']);
    expect(await timesHeld(db)).toEqual([['s1:1', null], ['s1:2', null], ['s1:3', '2026-11-01T00:00:00.000Z'], ['s1:4', '2026-11-26T00:00:00.000Z']]);
  });
});
