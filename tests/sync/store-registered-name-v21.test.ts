/**
 * Ledger schema v21 (villager-names-repair.ts): a ledger of version 20 holds villagers a store
 * registered under their id as their name (before rows.ts took the store's name). Migrated, each
 * is named by the newest `add` row of their village's stores with a name the stores would take;
 * a name the village gave, a name by id without such a row, and another village's villager of
 * the same id are untouched. On SQLite, and on PostgreSQL with DATABASE_URL set.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LEDGER_SCHEMA_VERSION, migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { VILLAGER_NAMES_REPAIR_VERSION } from '../../cloud-sync/ledger/villager-names-repair.ts';
import { addVillage } from '../../cloud-sync/ledger/tables.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

const AT = '2026-11-01T00:00:00.000Z';
const names = async (db: SqlDb) => Object.fromEntries((await db.query<{ id: string; name: string }>('SELECT id, name FROM villagers ORDER BY id')).map((r) => [r.id, r.name]));

describe(`v21 names the villagers a store registered and the ledger named by id (${ledgerDbKind})`, () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  it('named by the newest add row with a name; a name the village gave is never replaced', async () => {
    const t = await tempLedgerDb(VILLAGER_NAMES_REPAIR_VERSION - 1);
    drop = t.drop;
    const { db } = t;
    await addVillage(db, 'va', '前进村', AT);
    await addVillage(db, 'vb', '红旗村', AT);
    const villager = (id: string, village: string, name: string) => db.run(
      `INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ($1, $2, $3, 'active', $4, $4)`, [id, village, name, AT]);
    let seq = 0;
    const acked = (village: string, store: string, topic: string, payload: unknown, receivedAt: string, createdAt: string | null = receivedAt) => db.run(
      'INSERT INTO acked_ids (id, village, store, seq, topic, payload, received_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [`${store}:${++seq}`, village, store, seq, topic, typeof payload === 'string' ? payload : JSON.stringify(payload), receivedAt, createdAt]);
    const add = (village: string, id: string, name: unknown) => ({ op: 'add', id, ...(name === undefined ? {} : { name }), village });

    // wang: named by id, registered twice (an older name first, then the newest at another store)
    await villager('wang', 'va', 'wang');
    await acked('va', 's1', 'villager', add('va', 'wang', '王大爷（旧）'), '2026-11-02T00:00:00.000Z');
    await acked('va', 's2', 'villager', add('va', 'wang', '王大妈'), '2026-11-03T00:00:00.000Z');
    // a newer add without a name the stores would take (blanks, a control character, too long, not text) is not the name
    await acked('va', 's1', 'villager', add('va', 'wang', '　 '), '2026-11-04T00:00:00.000Z');
    await acked('va', 's1', 'villager', add('va', 'wang', '王\u0007'), '2026-11-04T00:00:01.000Z');
    await acked('va', 's1', 'villager', add('va', 'wang', '王'.repeat(101)), '2026-11-04T00:00:02.000Z');
    await acked('va', 's1', 'villager', add('va', 'wang', 42), '2026-11-04T00:00:03.000Z');
    await acked('va', 's1', 'villager', add('va', 'wang', undefined), '2026-11-04T00:00:04.000Z');
    // an escaped NUL (PostgreSQL's jsonb takes none): left out, and the migration does not fail on it
    await acked('va', 's1', 'villager', '{"op":"add","id":"wang","name":"王\\u0000","village":"va"}', '2026-11-04T00:00:05.000Z');
    // nor on an escaped lone surrogate, as JSON.stringify writes one (jsonb refuses it)
    await acked('va', 's1', 'villager', JSON.stringify(add('va', 'wang', '王\ud800')), '2026-11-04T00:00:06.000Z');
    await acked('va', 's1', 'villager', '{"op":"add","id":"wang","name":"王\\uDC00","village":"va"}', '2026-11-04T00:00:07.000Z');
    // other topics with the same id are no registration
    await acked('va', 's1', 'entry', { id: 'e1', villager: 'wang', kind: 'award', points: 5, name: '不是名字', created_at: AT }, '2026-11-05T00:00:00.000Z');
    // li: received last but made first (a store offline): the newer by its own time names her
    await villager('li', 'va', 'li');
    await acked('va', 's1', 'villager', add('va', 'li', '李奶奶'), '2026-11-06T00:00:00.000Z', '2026-11-05T00:00:00.000Z');
    await acked('va', 's2', 'villager', add('va', 'li', '李老太（旧）'), '2026-11-07T00:00:00.000Z', '2026-11-01T00:00:00.000Z');
    // zhou: a name the village gave; the store's registration does not replace it
    await villager('zhou', 'va', '周阿姨');
    await acked('va', 's1', 'villager', add('va', 'zhou', '别人'), '2026-11-02T00:00:00.000Z');
    // sun: named by id, no add row with a name: stays
    await villager('sun', 'va', 'sun');
    await acked('va', 's1', 'villager', add('va', 'sun', undefined), '2026-11-02T00:00:00.000Z');
    // zhao of village vb, named by id: a registration at another village's store does not name him
    await villager('zhao', 'vb', 'zhao');
    await acked('va', 's1', 'villager', add('va', 'zhao', '赵六'), '2026-11-02T00:00:00.000Z');

    await migrateLedger(db);
    expect(Number((await db.query<{ version: number | string }>('SELECT version FROM ledger_schema'))[0]!.version)).toBe(LEDGER_SCHEMA_VERSION);
    expect(await names(db)).toEqual({ li: '李奶奶', sun: 'sun', wang: '王大妈', zhao: 'zhao', zhou: '周阿姨' });
    const wang = (await db.query<{ updated_at: string }>(`SELECT updated_at FROM villagers WHERE id = 'wang'`))[0]!;
    expect(wang.updated_at > AT).toBe(true);
    expect((await db.query<{ updated_at: string }>(`SELECT updated_at FROM villagers WHERE id = 'zhou'`))[0]!.updated_at).toBe(AT);

    // once: a migration run again (the schema current) renames nothing, a name given since stays
    await db.run(`UPDATE villagers SET name = 'wang' WHERE id = 'wang'`);
    await migrateLedger(db);
    expect((await names(db)).wang).toBe('wang');
  });
});
