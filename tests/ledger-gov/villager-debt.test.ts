/**
 * What a villager owes the stores, at the ledger (cloud-sync/ledger/debts.ts): the `debt` of a
 * settled session (the goods taken beyond the balance) and of a deduction's entry, less each
 * store's repayments of its own debt (`debt:<earning>`), each store in its own order and never
 * below 0; each session and entry counted once, however often and under whatever row id it
 * comes. The villager's page (`GET …/me`) and the office's views of a villager say it; the board
 * never does. The rows held before v23 give the same debts once migrated.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { VILLAGER_DEBTS_VERSION, villagerDebt } from '../../cloud-sync/ledger/debts.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { signer } from './store-clock-fixture.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;
const AT = '2026-11-20T04:00:00.000Z';
const now = new Date('2026-11-20T04:01:00.000Z');

const session = (store: string, seq: number, id: string, villager: string, debt: number, extra: Record<string, unknown> = {}): Row =>
  ({ id: `${store}:${seq}`, seq, topic: 'session', created_at: AT, payload: { id, kind: 'shopping', villager, entered_by: 'card', total_points: debt + 10, charged: 10, debt, lines: [{ sku: 'salt', count: 1, points: debt + 10 }], review: 0, opened_at: AT, closed_at: AT, ...extra } });
const entry = (store: string, seq: number, payload: Record<string, unknown>): Row =>
  ({ id: `${store}:${seq}`, seq, topic: 'entry', created_at: AT, payload: { villager: 'zhang', reference: null, reason: null, origin: 'store', created_at: AT, ...payload } });
const repayment = (store: string, seq: number, earning: string, points: number): Row =>
  entry(store, seq, { id: `${earning}#debt@${store}`, kind: 'redemption', points: -points, reference: `debt:${earning}`, reason: '偿还欠分 / repayment of an earlier shortfall' });

/** east: 30 (a session) + 6 (a penalty's) - 25 repaid = 11; west: 7, a repayment of 9 it never told of (stops at 0), then 4 = 4. */
const EAST: Row[] = [
  session('east', 1, 's-e1', 'zhang', 30),
  entry('east', 2, { id: 'redemption:s-e1', kind: 'redemption', points: -10, reference: 's-e1' }),
  // a cancelled session has no debt, whatever it says; another village's villager is none of ours
  session('east', 3, 's-e2', 'zhang', 50, { cancelled: 'door timeout' }),
  session('east', 4, 's-e3', 'li', 40),
  entry('east', 5, { id: 'pen-1', kind: 'penalty', points: -4, debt: 6, reason: '损坏货架' }),
  // an award carries no debt, nor does a plain redemption
  entry('east', 6, { id: 'aw-east', kind: 'award', points: 5, debt: 99 }),
  repayment('east', 7, 'aw-1', 25),
];
/** East's session, penalty and repayment sent again under new row ids (rows moved after a rollback). */
const MOVED: Row[] = [EAST[0]!, EAST[4]!, EAST[6]!].map((r, i) => ({ ...r, id: `east:${20 + i}`, seq: 20 + i }));
const WEST: Row[] = [session('west', 1, 's-w1', 'zhang', 7), repayment('west', 2, 'aw-2', 9), session('west', 3, 's-w2', 'zhang', 4)];

async function seed(db: SqlDb): Promise<void> {
  await addVillage(db, 'va', '前进村', AT);
  await addVillage(db, 'vb', '红旗村', AT);
  await db.run("INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ('zhang', 'va', '张三', 'active', $1, $1), ('li', 'vb', '李四', 'active', $1, $1)", [AT]);
  for (const s of ['east', 'west']) await registerStore(db, 'va', s, `${s}-key`, 'unused here');
  await applyStoreRows(db, 'va', 'east', EAST, signer, now);
  await applyStoreRows(db, 'va', 'west', WEST, signer, now);
}

const OWED = { debt: 15, stores: [{ store: 'east', debt: 11 }, { store: 'west', debt: 4 }] };

describe(`a villager's debt to the stores at the ledger (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  let old: Ledger | undefined;
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    await ledger?.drop();
    await old?.drop();
    g = old = ledger = undefined;
  });

  it('is each store\'s debt less its own repayments, counted once however the rows come again', async () => {
    ledger = await tempLedgerDb();
    await seed(ledger.db);
    expect(await villagerDebt(ledger.db, 'va', 'zhang')).toEqual(OWED);
    expect(await villagerDebt(ledger.db, 'vb', 'li')).toEqual({ debt: 0, stores: [] });

    // the same rows again; a session and the entries sent again under new row ids (rows moved after a rollback)
    await applyStoreRows(ledger.db, 'va', 'east', EAST, signer, now);
    await applyStoreRows(ledger.db, 'va', 'east', MOVED, signer, now);
    expect(await villagerDebt(ledger.db, 'va', 'zhang')).toEqual(OWED);

    // another store's entry id with other content is a clash, not applied: its debt is not counted either
    await applyStoreRows(ledger.db, 'va', 'west', [entry('west', 4, { id: 'pen-1', kind: 'penalty', points: -1, debt: 50 })], signer, now);
    expect(await villagerDebt(ledger.db, 'va', 'zhang')).toEqual(OWED);

    // a later repayment at west of all it is owed
    await applyStoreRows(ledger.db, 'va', 'west', [repayment('west', 5, 'aw-3', 4)], signer, now);
    expect(await villagerDebt(ledger.db, 'va', 'zhang')).toEqual({ debt: 11, stores: [{ store: 'east', debt: 11 }] });
  });

  it('the villager\'s page and the office\'s views say it; the board does not', async () => {
    ledger = await tempLedgerDb();
    await seed(ledger.db);
    g = await govApp({ db: ledger.db, village: 'va', clock: () => now });
    const zhang = await g.villager('va', 'zhang');
    const me = await g.call(zhang, 'GET', '/api/villages/va/me');
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json()).toMatchObject({ balance: -43, ...OWED });
    const one = await g.call(g.va, 'GET', '/api/villages/va/villagers/zhang');
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toMatchObject({ id: 'zhang', balance: -43, ...OWED });
    const list = await g.call(g.va, 'GET', '/api/villages/va/villagers');
    expect(list.statusCode, list.body).toBe(200);
    expect((list.json() as { villagers: unknown[] }).villagers).toEqual([{ id: 'zhang', name: '村民zhang', status: 'active', balance: -43, debt: 15 }]);
    const board = await g.call(g.va, 'GET', '/api/villages/va/board');
    expect(board.statusCode, board.body).toBe(200);
    expect(board.body).not.toMatch(/debt|欠/);
  });

  it('a ledger of v22 migrated finds the same debts in the rows it holds', async () => {
    ledger = await tempLedgerDb();
    await seed(ledger.db);
    await applyStoreRows(ledger.db, 'va', 'east', MOVED, signer, now);
    old = await tempLedgerDb(VILLAGER_DEBTS_VERSION - 1);
    expect(await old.db.query("SELECT 1 FROM ledger_schema WHERE version = $1", [VILLAGER_DEBTS_VERSION - 1])).toHaveLength(1);
    // the v22 ledger holds what the rows brought: copied table by table
    for (const table of ['villages', 'villagers', 'stores', 'acked_ids', 'entries']) {
      for (const r of await ledger.db.query<Record<string, unknown>>(`SELECT * FROM ${table}`)) {
        const cols = Object.keys(r);
        await old.db.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => r[c]));
      }
    }
    // the moved copies are held too: the first row of each source stands
    await migrateLedger(old.db);
    const held = async (db: SqlDb) => (await db.query<{ store: string; source: string; villager_id: string; seq: number | string; points: number | string }>('SELECT store, source, villager_id, seq, points FROM villager_debts'))
      .map((r) => `${r.store} ${r.source} ${r.villager_id} ${Number(r.seq)} ${Number(r.points)}`).sort();
    expect(await held(old.db)).toEqual(await held(ledger.db));
    expect(await villagerDebt(old.db, 'va', 'zhang')).toEqual(OWED);
  });
});
