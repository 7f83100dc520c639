/**
 * Row batches applied together in a fixed number of statements (cloud-sync/ledger/rows.ts)
 * come out exactly as the same batches applied one after another: the same rows new or
 * duplicate, the same gaps and contiguous seqs, the same events in the same order of each
 * village's stream, the same tables.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRowBatches, applyStoreRows, type CheckedRows, type RowsResult } from '../../cloud-sync/ledger/rows.ts';
import { addVillage, registerStore, upsertVillager, type Signer } from '../../cloud-sync/ledger/tables.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;
const signer: Signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };
const now = new Date('2026-12-01T10:00:00.000Z');
const at = now.toISOString();

const entry = (store: string, seq: number, villager: string, points: number, id = `${store}-e${seq}`): Row => ({
  id: `${store}:${seq}`, seq, topic: 'entry', payload: { id, villager, kind: 'redemption', points, created_at: at }, created_at: at,
});
const session = (store: string, seq: number): Row => ({ id: `${store}:${seq}`, seq, topic: 'session', payload: { id: `sess-${seq}` }, created_at: at });

async function seed(db: Ledger['db']): Promise<void> {
  for (const [v, stores] of [['va', ['s1', 's2']], ['vb', ['t1']]] as const) {
    await addVillage(db, v, v, at);
    for (const s of stores) await registerStore(db, v, s, 'store', 'unused here');
  }
  await upsertVillager(db, { id: 'zhang', name: '张三', village: 'va', status: 'active' }, signer, now);
  await upsertVillager(db, { id: 'li', name: '李四', village: 'vb', status: 'active' }, signer, now);
}

/** Two villages, two stores each; rows out of order, twice, across batches; an entry id twice; a villager new to the ledger; another village's villager. */
const batches = (): CheckedRows[] => [
  { village: 'va', store: 's1', rows: [entry('s1', 1, 'zhang', -1), entry('s1', 3, 'zhang', -3), session('s1', 4)] },
  { village: 'vb', store: 't1', rows: [entry('t1', 1, 'li', -10), entry('t1', 2, 'li', -20)] },
  { village: 'va', store: 's2', rows: [entry('s2', 1, 'wang', -5), entry('s2', 2, 'li', -7)] },
  { village: 'va', store: 's1', rows: [entry('s1', 3, 'zhang', -3), entry('s1', 2, 'zhang', -2), entry('s1', 5, 'zhang', -9, 's1-e1')] },
  { village: 'va', store: 's1', rows: [entry('s1', 6, 'wang', -6), entry('s1', 6, 'wang', -6)] },
];

/** What a result says, with each event reduced to what it carries (signatures differ by nothing but are not compared). */
const view = (r: RowsResult) => ({ ...r, events: r.events.map((e) => ({ id: e.id, village: e.village, seq: e.seq, kind: e.kind, body: e.body })) });

async function tables(db: Ledger['db']): Promise<unknown> {
  return {
    acked: await db.query('SELECT id, village, store, seq FROM acked_ids ORDER BY id, village'),
    entries: (await db.query<{ id: string; village: string; villager_id: string; points: number | string; origin_store: string | null }>(
      'SELECT id, village, villager_id, points, origin_store FROM entries ORDER BY id',
    )).map((e) => ({ ...e, points: Number(e.points) })),
    villagers: await db.query('SELECT id, village FROM villagers ORDER BY id'),
    stores: (await db.query<{ village: string; id: string; contiguous_seq: number | string; gaps: number | string }>(
      'SELECT village, id, contiguous_seq, gaps FROM stores ORDER BY village, id',
    )).map((s) => ({ ...s, contiguous_seq: Number(s.contiguous_seq), gaps: Number(s.gaps) })),
    events: (await db.query<{ village: string; seq: number | string; id: string }>('SELECT village, seq, id FROM events ORDER BY village, seq')).map((e) => ({ ...e, seq: Number(e.seq) })),
    seqs: (await db.query<{ id: string; next_seq: number | string }>('SELECT id, next_seq FROM villages ORDER BY id')).map((v) => ({ ...v, next_seq: Number(v.next_seq) })),
  };
}

describe(`row batches applied together (${ledgerDbKind})`, () => {
  let together: Ledger;
  let oneByOne: Ledger;
  beforeEach(async () => {
    together = await tempLedgerDb();
    oneByOne = await tempLedgerDb();
    await seed(together.db);
    await seed(oneByOne.db);
  });
  afterEach(async () => {
    await together.drop();
    await oneByOne.drop();
  });

  it('come out as the same batches applied one after another', async () => {
    const grouped = await applyRowBatches(together.db, batches(), signer, now);
    const single: RowsResult[] = [];
    for (const b of batches()) single.push(await applyStoreRows(oneByOne.db, b.village, b.store, b.rows, signer, now));
    expect(grouped.map(view)).toEqual(single.map(view));
    expect(await tables(together.db)).toEqual(await tables(oneByOne.db));

    // And what that is: va/s1's gap (seq 2) closes in its second batch, with the rows held above it; a row sent twice is held once.
    expect(grouped.map((r) => [r.contiguousSeq, r.gaps, r.duplicates])).toEqual([[1, 2, 0], [2, 0, 0], [2, 0, 0], [5, 1, 1], [6, 0, 1]]);
    // s1-e1 again under another row id is not a new entry; li belongs to vb and moves no balance in va (counted, not silent).
    expect(grouped.map((r) => r.unapplied)).toEqual([[], [], [{ id: 's2:2', why: 'other-village' }], [], []]);
    expect(grouped.map((r) => r.events.map((e) => (e.body as { entries: { id: string }[] }).entries.map((x) => x.id)))).toEqual([
      [['s1-e1', 's1-e3']], [['t1-e1', 't1-e2']], [['s2-e1']], [['s1-e2']], [['s1-e6']],
    ]);
    // Each village's stream numbered in the batches' order, after the villager events of the seed.
    expect(grouped.flatMap((r) => r.events.map((e) => `${e.village}:${e.seq}`))).toEqual(['va:2', 'vb:2', 'va:3', 'va:4', 'va:5']);
  });

  it('an entry id first carried by an entry not applied (another village\'s villager) claims nothing: the valid one after it in the group is applied, as one after another', async () => {
    const sameId = (): CheckedRows[] => [
      // va's store for li, vb's villager: kept, not applied
      { village: 'va', store: 's1', rows: [entry('s1', 1, 'li', -4, 'e-42')] },
      // vb's own store, li, the same entry id: applied
      { village: 'vb', store: 't1', rows: [entry('t1', 1, 'li', -10, 'e-42')] },
      // va's again, the same content under another row: not applied either
      { village: 'va', store: 's1', rows: [entry('s1', 2, 'li', -4, 'e-42')] },
      // vb's with other content under the id now held: a clash; a villager new to the ledger, in va
      { village: 'vb', store: 't1', rows: [entry('t1', 2, 'li', -11, 'e-42')] },
      { village: 'va', store: 's2', rows: [entry('s2', 1, 'zhao', -2, 'n-1')] },
      // zhao is va's from here on: vb's entry for zhao under another id is not applied
      { village: 'vb', store: 't1', rows: [entry('t1', 3, 'zhao', -3, 'n-2')] },
    ];
    const grouped = await applyRowBatches(together.db, sameId(), signer, now);
    const single: RowsResult[] = [];
    for (const b of sameId()) single.push(await applyStoreRows(oneByOne.db, b.village, b.store, b.rows, signer, now));
    expect(grouped.map(view)).toEqual(single.map(view));
    expect(await tables(together.db)).toEqual(await tables(oneByOne.db));
    expect(grouped.map((r) => ({ clashes: r.clashes, unapplied: r.unapplied.map((u) => `${u.id} ${u.why}`) }))).toEqual([
      { clashes: [], unapplied: ['s1:1 other-village'] },
      { clashes: [], unapplied: [] },
      { clashes: [], unapplied: ['s1:2 other-village'] },
      { clashes: ['e-42'], unapplied: [] },
      { clashes: [], unapplied: [] },
      { clashes: [], unapplied: ['t1:3 other-village'] },
    ]);
    const balance = async (id: string) => Number((await together.db.query<{ b: number | string }>('SELECT COALESCE(SUM(points), 0) AS b FROM entries WHERE villager_id = $1', [id]))[0]!.b);
    expect({ li: await balance('li'), zhao: await balance('zhao') }).toEqual({ li: -10, zhao: -2 });
  });

  it('a group applied again is all duplicates and changes nothing', async () => {
    await applyRowBatches(together.db, batches(), signer, now);
    const before = await tables(together.db);
    const again = await applyRowBatches(together.db, batches(), signer, now);
    expect(again.every((r) => r.events.length === 0 && r.duplicates === r.ackIds.length && r.gaps === 0 && r.rowClashes.length === 0)).toBe(true);
    expect(await tables(together.db)).toEqual(before);
  });

  it('an entry row the ledger cannot apply (not an entry the protocol carries) is held and acknowledged, and counted', async () => {
    const colon: Row = { ...entry('s1', 1, 'cun3:042', -30), payload: { id: 'r-1', villager: 'cun3:042', kind: 'redemption', points: -30, created_at: at } };
    const r = await applyStoreRows(together.db, 'va', 's1', [colon, entry('s1', 2, 'zhang', -1)], signer, now);
    expect(r.ackIds).toEqual(['s1:1', 's1:2']);
    expect(r.unapplied).toEqual([{ id: 's1:1', why: 'invalid' }]);
    expect(r.events.flatMap((e) => (e.body as { entries: { id: string }[] }).entries.map((x) => x.id))).toEqual(['s1-e2']);
  });

  it('a row id held already with another payload (a store that handed out a seq again) is a clash, not a silent copy', async () => {
    await applyStoreRows(together.db, 'va', 's1', [entry('s1', 1, 'zhang', -1)], signer, now);
    // in a later batch, and twice within one batch: the first copy held is what counts
    const later = await applyStoreRows(together.db, 'va', 's1', [entry('s1', 1, 'zhang', -40, 'sess-C'), entry('s1', 1, 'zhang', -1)], signer, now);
    expect(later.rowClashes).toEqual(['s1:1']);
    expect(later.duplicates).toBe(2);
    const within = await applyStoreRows(together.db, 'va', 's1', [entry('s1', 2, 'zhang', -2), entry('s1', 2, 'zhang', -5, 'other')], signer, now);
    expect(within.rowClashes).toEqual(['s1:2']);
    expect(within.duplicates).toBe(1);
  });
});
