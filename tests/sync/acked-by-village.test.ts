/**
 * One ledger for several villages (the town's deployment): a row id is `<store>:<seq>`, unique
 * within a village only, so two villages each with a store of the same id send the same row
 * ids. Each village's rows are its own: none is taken for another village's duplicate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { ACKED_BY_VILLAGE_VERSION, LEDGER_SCHEMA_VERSION, migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { addVillage, balanceOf, registerStore, type Signer } from '../../cloud-sync/ledger/tables.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;
const signer: Signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };
const now = new Date('2026-12-01T10:00:00.000Z');
const at = now.toISOString();

/** Row `seq` of store `s1`: a redemption of `villager` with an entry id of its village. */
const row = (village: string, seq: number, villager: string, points: number): Row => ({
  id: `s1:${seq}`, seq, topic: 'entry', payload: { id: `${village}-redemption-${seq}`, villager, kind: 'redemption', points, created_at: at }, created_at: at,
});

async function seed(db: Ledger['db']): Promise<void> {
  for (const v of ['va', 'vb']) {
    await addVillage(db, v, v, at);
    await registerStore(db, v, 's1', 'store', 'unused here');
  }
  // Plain rows, as a ledger of the older version holds them (today's upsertVillager writes later columns too).
  for (const [id, name, village] of [['zhang', '张三', 'va'], ['li', '李四', 'vb']]) {
    await db.run('INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)', [id, village, name, 'active', at]);
  }
}

/** `rows` of store s1 applied as a ledger of that version held them (today's applyStoreRows writes later columns too). */
async function heldBefore(db: Ledger['db'], village: string, rows: Row[]): Promise<void> {
  for (const r of rows) {
    const e = r.payload as { id: string; villager: string; kind: string; points: number; created_at: string };
    await db.run('INSERT INTO acked_ids (id, village, store, seq, topic, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [r.id, village, 's1', r.seq, r.topic, JSON.stringify(e), at]);
    await db.run('INSERT INTO entries (id, village, villager_id, kind, points, origin_store, created_at, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)', [e.id, village, e.villager, e.kind, e.points, 's1', e.created_at]);
  }
  await db.run('UPDATE stores SET contiguous_seq = $1 WHERE village = $2 AND id = $3', [rows.length, village, 's1']);
}

const acked = async (db: Ledger['db']) => (await db.query<{ village: string; id: string }>('SELECT village, id FROM acked_ids ORDER BY village, id')).map((r) => `${r.village}/${r.id}`);

describe(`two villages, each with a store s1 (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  afterEach(async () => {
    await ledger?.drop();
    ledger = undefined;
  });

  it('both villages\' rows s1:1 and s1:2 are applied; a row sent again is a duplicate in its own village only', async () => {
    ledger = await tempLedgerDb();
    const { db } = ledger;
    await seed(db);
    const a = await applyStoreRows(db, 'va', 's1', [row('va', 1, 'zhang', -3), row('va', 2, 'zhang', -4)], signer, now);
    const b = await applyStoreRows(db, 'vb', 's1', [row('vb', 1, 'li', -10), row('vb', 2, 'li', -20)], signer, now);
    expect([a.duplicates, b.duplicates]).toEqual([0, 0]);
    expect([a.contiguousSeq, b.contiguousSeq]).toEqual([2, 2]);
    // the seed wrote its villagers as plain rows, no event: the batch's event is vb's first
    expect(b.events.map((e) => ({ village: e.village, seq: e.seq }))).toEqual([{ village: 'vb', seq: 1 }]);
    expect(await balanceOf(db, 'zhang')).toBe(-7);
    expect(await balanceOf(db, 'li')).toBe(-30);
    expect(await acked(db)).toEqual(['va/s1:1', 'va/s1:2', 'vb/s1:1', 'vb/s1:2']);

    const again = await applyStoreRows(db, 'vb', 's1', [row('vb', 2, 'li', -20), row('vb', 3, 'li', -1)], signer, now);
    expect(again).toMatchObject({ duplicates: 1, contiguousSeq: 3, ackIds: ['s1:2', 's1:3'] });
    expect(await balanceOf(db, 'li')).toBe(-31);
    expect(await balanceOf(db, 'zhang')).toBe(-7);
  });

  it(`a ledger of version ${ACKED_BY_VILLAGE_VERSION - 1} keeps its rows through the migration, and then takes the other village's`, async () => {
    ledger = await tempLedgerDb(ACKED_BY_VILLAGE_VERSION - 1);
    const { db } = ledger;
    await seed(db);
    await heldBefore(db, 'va', [row('va', 1, 'zhang', -3), row('va', 2, 'zhang', -4)]);
    await migrateLedger(db);
    const [v] = await db.query<{ version: number | string }>('SELECT version FROM ledger_schema');
    expect(Number(v!.version)).toBe(LEDGER_SCHEMA_VERSION);
    expect(await acked(db)).toEqual(['va/s1:1', 'va/s1:2']);
    // The old rows still count as held: sent again, they are duplicates.
    expect(await applyStoreRows(db, 'va', 's1', [row('va', 2, 'zhang', -4)], signer, now)).toMatchObject({ duplicates: 1, contiguousSeq: 2 });
    const b = await applyStoreRows(db, 'vb', 's1', [row('vb', 1, 'li', -10)], signer, now);
    expect(b).toMatchObject({ duplicates: 0, contiguousSeq: 1 });
    expect(await balanceOf(db, 'li')).toBe(-10);
    expect(await balanceOf(db, 'zhang')).toBe(-7);
  });
});
