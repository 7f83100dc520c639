/**
 * A snapshot in parts is read a page of entries at a time: a village of 5,000 villagers and
 * 200,000 entries held whole in memory cost the ledger some 200 MB and stalled its event loop
 * for seconds on SQLite (every store's acks waited). The parts must be the ones the whole body
 * split would give, at the stream seq of the moment it was asked, whatever is written meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sendSnapshot, splitSnapshot, type SnapshotBytes } from '../../cloud-sync/ledger/catchup.ts';
import { putCatalogueProduct } from '../../cloud-sync/ledger/catalogue.ts';
import { addLedgerEntry, addVillage, villageSeq, villageSnapshot } from '../../cloud-sync/ledger/tables.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { checkSignature, keyRing, newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { checkers, type Envelope, type SnapshotBody } from '../../cloud-sync/protocol/payloads.ts';
import { ledgerDbKind, tempLedgerDb, uid } from '../../harness/sync/rig.ts';

const AT = '2026-12-01T08:00:00.000Z';
const keys = newKeyPair();
const signer = { key: privateEd25519('ledger-1', keys.privatePem), lifetimeMs: 86_400_000 };
const ring = keyRing([{ id: 'ledger-1', pem: keys.publicPem }]);

/** Villagers and entries written straight into the ledger's tables (as months of them would be); every 7th entry is of 0 points. */
async function village(db: SqlDb, id: string, villagers: number, entries: number): Promise<void> {
  await addVillage(db, id, '前进村', AT);
  const vs = Array.from({ length: villagers }, (_, i) => [`${id}-v${i}`, id, `村民${i}`, i % 5 === 0 ? 'blocked' : 'active', AT, AT]);
  await db.transaction(async (tx) => { await tx.runEach('INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', vs); });
  const es = Array.from({ length: entries }, (_, i) => [`${id}-e${i}`, id, `${id}-v${i % villagers}`, 'award', i % 7 === 0 ? 0 : 1 + (i % 9), i % 3 ? null : `ref-${i}`, '打扫村道', AT, AT]);
  await db.transaction(async (tx) => { await tx.runEach('INSERT INTO entries (id, village, villager_id, kind, points, reference, reason, created_at, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', es); });
  await db.run('UPDATE villages SET next_seq = $2 WHERE id = $1', [id, entries + 1]);
  for (const sku of ['oil', 'salt']) await putCatalogueProduct(db, id, { sku, name: sku, price: 5, unit_g: 500, tolerance_g: 10, active: true }, AT);
}

/** `db`, telling the most rows one query returned; `after(n)` runs once each query has returned (the n-th). */
function watched(db: SqlDb, after?: (n: number) => Promise<void>): { db: SqlDb; most: () => number } {
  let most = 0;
  let n = 0;
  const wrap = (d: SqlDb): SqlDb => ({
    ...d,
    dialect: d.dialect,
    query: async <T>(sql: string, params?: unknown[]) => {
      const rows = await d.query<T>(sql, params);
      most = Math.max(most, rows.length);
      n++;
      return rows;
    },
    transaction: (fn, opts) => d.transaction((tx) => fn(wrap(tx)), opts),
  });
  const outer = wrap(db);
  return {
    db: { ...outer, query: async <T>(sql: string, params?: unknown[]) => { const r = await outer.query<T>(sql, params); await after?.(n); return r; } },
    most: () => most,
  };
}

async function snapshot(db: SqlDb, village: string, bytes: SnapshotBytes, pageRows: number, accepts = ['parts', 'catalogue']): Promise<Envelope[]> {
  const sent: Envelope[] = [];
  await sendSnapshot({
    db, signer, clock: () => new Date(AT), counters: { deltas: 0, snapshots: 0 }, maxDeltas: 10, validForMs: 1000,
    snapshotBytes: bytes, snapshotPageRows: pageRows, send: async (_t, p) => void sent.push(JSON.parse(p) as Envelope),
  }, village, 's1', accepts);
  return sent;
}

describe(`a snapshot read a page at a time (${ledgerDbKind})`, () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => { await drop?.(); drop = undefined; });

  it('in parts: no query returns more than a page; the parts are the whole body split, signed, numbered', async () => {
    const t = await tempLedgerDb();
    drop = t.drop;
    const v = uid('v');
    await village(t.db, v, 40, 3000);
    const bytes = { wholeMax: 20_000, part: 8_000 };
    const { body, seq } = await villageSnapshot(t.db, v);
    const w = watched(t.db);
    const sent = await snapshot(w.db, v, bytes, 250);
    expect(w.most()).toBeLessThanOrEqual(250);
    const expected = splitSnapshot(body, bytes);
    expect(expected.length).toBeGreaterThan(10);
    expect(sent.map((e) => { const { part: _p, ...b } = e.body as SnapshotBody; return b; })).toEqual(expected);
    sent.forEach((e, index) => {
      expect(e).toMatchObject({ kind: 'snapshot', seq, id: `${sent[0]!.id.replace(/:0$/, '')}:${index}` });
      expect((e.body as SnapshotBody).part).toEqual({ of: sent[0]!.id.replace(/:0$/, ''), index, count: expected.length });
      expect(checkers.snapshot.Check(e.body)).toBe(true);
      expect(checkSignature(e, ring)).toBeUndefined();
    });
  });

  it('what is written while the pages are read is not in it: the parts hold the village at the seq they name', async () => {
    const t = await tempLedgerDb();
    drop = t.drop;
    const v = uid('v');
    await village(t.db, v, 10, 600);
    const before = await villageSnapshot(t.db, v);
    let wrote = false;
    const w = watched(t.db, async () => {
      if (wrote) return;
      wrote = true;
      await addLedgerEntry(t.db, v, { id: 'late-award', villager: `${v}-v1`, kind: 'award', points: 5, reference: null, reason: '后来的', created_at: AT }, signer, new Date(AT));
    });
    const sent = await snapshot(w.db, v, { wholeMax: 2_000, part: 1_000 }, 50);
    expect(wrote).toBe(true);
    expect(await villageSeq(t.db, v)).toBe(before.seq + 1);
    expect(new Set(sent.map((e) => e.seq))).toEqual(new Set([before.seq]));
    const entries = sent.flatMap((e) => (e.body as SnapshotBody).entries);
    expect(entries).toEqual(before.body.entries);
  });

  it('a village that fits one message goes whole, as before; a store that takes no parts gets it whole', async () => {
    const t = await tempLedgerDb();
    drop = t.drop;
    const v = uid('v');
    await village(t.db, v, 5, 40);
    const { body, seq } = await villageSnapshot(t.db, v);
    const whole = await snapshot(t.db, v, { wholeMax: 1e6, part: 500 }, 7);
    expect(whole).toHaveLength(1);
    expect(whole[0]).toMatchObject({ seq, body });
    const { products: _p, ...old } = body;
    const older = await snapshot(t.db, v, { wholeMax: 500, part: 200 }, 7, []);
    expect(older).toHaveLength(1);
    expect(older[0]!.body).toEqual(old);
  });
});
