/**
 * A deduction that finds a villager at the credit floor moves no points: all of it is debt. The
 * stores refuse an entry of 0 points (a penalty is negative, an award positive), so such an entry
 * must never reach the village stream: one on the stream stops it at every other store, and every
 * snapshot holding it is refused whole. Yet the village ledger must learn its debt, or the
 * villager's debt there is too low (docs/sync-offline.md, "Debt at the ledger"). Tested here:
 * - the store keeps the 0-point entry (a retry stays a duplicate) and sends it up once, with its
 *   `debt`; the ledger records the debt only (no entry, nothing on the stream);
 * - the village ledger refuses at ingest an entry the stores would refuse (an older store's row of
 *   0 points without a debt), counted as `unapplied: invalid`, and never appends one to the stream;
 * - a store applies a 0-point entry the ledger already holds (sent up before this was fixed) as
 *   it is, from the stream and from a snapshot, so it is brought level again; the ledger leaves
 *   such an entry out of its snapshots, so a store of an older version is brought level too.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { applyEntry, getEntry } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { pendingOutbox } from '../../edge/ledger/outbox.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { inboundSeq } from '../../edge/ledger/sync-state.ts';
import { storeWindowTotals } from '../../edge/ledger/ops-queries.ts';
import { InboundStream } from '../../cloud-sync/agent/inbound.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import { keyRing, newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { addLedgerEntry, addVillage, appendEvent, upsertVillager, villageSnapshot } from '../../cloud-sync/ledger/tables.ts';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { villagerDebt } from '../../cloud-sync/ledger/debts.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { ledgerDbKind, tempLedgerDb, uid } from '../../harness/sync/rig.ts';

const pair = newKeyPair();
const signer = { key: privateEd25519('ledger-1', pair.privatePem), lifetimeMs: 86_400_000 };
const keys = keyRing([{ id: 'ledger-1', pem: pair.publicPem }]);
const rules = { creditFloor: 0 };

describe(`a deduction at the credit floor (${ledgerDbKind})`, () => {
  let ledger: SqlDb;
  let drop: () => Promise<void>;
  let village: string;
  let a: Db;
  let b: Db;
  const stream = (db: Db, store: string) => new InboundStream({
    db: () => db, address: { village, store }, keys: () => keys, rules, clock: () => new Date(), skewMs: 60_000,
    refusals: new RefusalCounter(), onResyncWanted: () => undefined, snapshotPending: () => false,
  });
  const send = (ev: unknown) => Buffer.from(JSON.stringify(ev));
  beforeEach(async () => {
    ({ db: ledger, drop } = await tempLedgerDb());
    village = uid('v');
    await addVillage(ledger, village, '村', new Date().toISOString());
    a = openLedger(path.join(mkdtempSync(path.join(tmpdir(), 'floor-a-')), 'ledger.sqlite'));
    b = openLedger(path.join(mkdtempSync(path.join(tmpdir(), 'floor-b-')), 'ledger.sqlite'));
    const reg = send(await upsertVillager(ledger, { id: 'zhao', name: '赵六', village, status: 'active' }, signer, new Date()));
    expect(stream(a, 'sA').receive(reg, 'events')[0]!.kind).toBe('applied');
    expect(stream(b, 'sB').receive(reg, 'events')[0]!.kind).toBe('applied');
  });
  afterEach(async () => {
    closeLedger(a);
    closeLedger(b);
    await drop();
  });

  it('is kept at the store as its own record (a retry is a duplicate) and sent up once, with its debt', () => {
    const r = applyEntry(a, { id: 'pen-1', villagerId: 'zhao', kind: 'penalty', points: -5, reason: '乱堆', origin: 'cli' }, rules);
    expect(r).toMatchObject({ status: 'applied', debtAdded: 5, entry: { points: 0 } });
    expect(getVillager(a, 'zhao')).toMatchObject({ balance: 0, debt: 5 });
    const sent = () => pendingOutbox(a).filter((x) => x.topic === 'entry').map((x) => x.payload);
    expect(sent()).toEqual([expect.objectContaining({ id: 'pen-1', villager: 'zhao', kind: 'penalty', points: 0, debt: 5 })]);
    // the same penalty again: the record makes it a duplicate, the debt is not doubled, nothing more is sent
    expect(applyEntry(a, { id: 'pen-1', villagerId: 'zhao', kind: 'penalty', points: -5, origin: 'cli' }, rules)).toMatchObject({ status: 'duplicate', conflict: false });
    expect(getVillager(a, 'zhao')?.debt).toBe(5);
    expect(sent()).toHaveLength(1);
    // the daily reconciliation counts only what moved points
    expect(storeWindowTotals(a, '2000-01-01T00:00:00.000Z', '2100-01-01T00:00:00.000Z')).toEqual([]);
  });

  it('sent up with its debt: the ledger records the debt only, no entry, nothing on the stream', async () => {
    applyEntry(a, { id: 'pen-1', villagerId: 'zhao', kind: 'penalty', points: -5, reason: '乱堆', origin: 'cli' }, rules);
    const rows = pendingOutbox(a).map((x) => ({ id: `sA:${x.seq}`, seq: x.seq, topic: x.topic, payload: x.payload, created_at: x.createdAt }));
    const res = await applyStoreRows(ledger, village, 'sA', rows, signer, new Date());
    expect(res).toMatchObject({ ackIds: rows.map((x) => x.id), unapplied: [], clashes: [], events: [] });
    expect(await ledger.query('SELECT id FROM entries WHERE village = $1', [village])).toEqual([]);
    expect(await villagerDebt(ledger, village, 'zhao')).toEqual({ debt: 5, stores: [{ store: 'sA', debt: 5 }] });
  });

  it('from an older store without a debt, or of a kind that cannot deduct, is refused at the village ledger, counted, and never republished', async () => {
    const at = new Date().toISOString();
    const res = await applyStoreRows(ledger, village, 'sOld', [
      { id: 'sOld:1', seq: 1, topic: 'entry', payload: { id: 'pen-old', villager: 'zhao', kind: 'penalty', points: 0, balance_after: 0, origin: 'cli', created_at: at }, created_at: at },
      { id: 'sOld:2', seq: 2, topic: 'entry', payload: { id: 'adj-old', villager: 'zhao', kind: 'adjustment', points: 0, balance_after: 0, origin: 'cli', created_at: at }, created_at: at },
      { id: 'sOld:3', seq: 3, topic: 'entry', payload: { id: 'aw-ok', villager: 'zhao', kind: 'award', points: 3, balance_after: 3, origin: 'cli', created_at: at }, created_at: at },
      { id: 'sOld:4', seq: 4, topic: 'entry', payload: { id: 'aw-0', villager: 'zhao', kind: 'award', points: 0, balance_after: 3, origin: 'cli', created_at: at, debt: 5 }, created_at: at },
      { id: 'sOld:5', seq: 5, topic: 'entry', payload: { id: 'rep-0', villager: 'zhao', kind: 'redemption', points: 0, reference: 'debt:aw-ok', balance_after: 3, origin: 'store', created_at: at, debt: 5 }, created_at: at },
      { id: 'sOld:6', seq: 6, topic: 'entry', payload: { id: 'pen-0', villager: 'zhao', kind: 'penalty', points: 0, balance_after: 3, origin: 'cli', created_at: at, debt: 0 }, created_at: at },
    ], signer, new Date());
    expect(res.ackIds).toEqual(['sOld:1', 'sOld:2', 'sOld:3', 'sOld:4', 'sOld:5', 'sOld:6']);
    expect(res.unapplied).toEqual(['sOld:1', 'sOld:2', 'sOld:4', 'sOld:5', 'sOld:6'].map((id) => ({ id, why: 'invalid' })));
    expect(res.events.map((e) => e.body)).toMatchObject([{ entries: [{ id: 'aw-ok', points: 3 }] }]);
    expect((await ledger.query<{ id: string }>('SELECT id FROM entries ORDER BY id')).map((e) => e.id)).toEqual(['aw-ok']);
    expect(await villagerDebt(ledger, village, 'zhao')).toEqual({ debt: 0, stores: [] });
    // and the other store reads the stream on
    expect(stream(b, 'sB').receive(send(res.events[0]), 'events').map((o) => o.kind)).toEqual(['applied']);
    expect(getVillager(b, 'zhao')?.balance).toBe(3);
  });

  it('is never appended to the village stream by the ledger itself', async () => {
    await expect(appendEvent(ledger, village, 'entry', 'entry:zero', { id: 'zero', villager: 'zhao', kind: 'penalty', points: 0, created_at: new Date().toISOString() }, signer, new Date()))
      .rejects.toThrow(/would be refused by the stores.*penalty.*0 points/);
    await expect(appendEvent(ledger, village, 'entries', 'entries:zero', { entries: [{ id: 'zero', villager: 'zhao', kind: 'award', points: 0, created_at: new Date().toISOString() }] }, signer, new Date()))
      .rejects.toThrow(/would be refused by the stores/);
  });

  it('already held by the ledger (sent up before the fix) is applied where it arrives: the stream and the snapshot bring a store level', async () => {
    const at = new Date().toISOString();
    // what an older ledger holds: the entry, and the event that carried it to the stores
    await ledger.run(`INSERT INTO entries (id, village, villager_id, kind, points, reference, reason, origin_store, created_at, received_at) VALUES ($1, $2, 'zhao', 'penalty', 0, NULL, NULL, 'sA', $3, $3)`, ['pen-1', village, at]);
    const seq = Number((await ledger.query<{ s: number | string }>('UPDATE villages SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq - 1 AS s', [village]))[0]!.s);
    const ev = signEnvelope({ v: 1, id: 'entries:sA:1', kind: 'entries', village, seq, issued_at: at, expires_at: new Date(Date.now() + 86_400_000).toISOString(), body: { entries: [{ id: 'pen-1', villager: 'zhao', kind: 'penalty', points: 0, reference: null, reason: '乱堆', created_at: at }] } }, signer.key);
    const award = send((await addLedgerEntry(ledger, village, { id: 'aw-1', villager: 'zhao', kind: 'award', points: 7, created_at: at }, signer, new Date())).event);

    const inB = stream(b, 'sB');
    expect(inB.receive(send(ev), 'events').map((o) => (o.kind === 'refused' ? `refused: ${o.why}` : o.kind))).toEqual(['applied']);
    expect(inB.receive(award, 'events').map((o) => o.kind)).toEqual(['applied']);
    expect(inboundSeq(b)).toBe(seq + 1);
    expect(getVillager(b, 'zhao')?.balance).toBe(7);
    expect(getEntry(b, 'pen-1')).toMatchObject({ kind: 'penalty', points: 0, origin: 'ledger' });

    // a store that asks for a snapshot (a new one, a resync): the ledger leaves the entry out (it
    // moves nothing), so a store of an older version, which refuses it, is brought level too
    const snap = await villageSnapshot(ledger, village);
    expect(snap.body.entries.map((e) => e.id)).toEqual(['aw-1']);
    const c = openLedger(path.join(mkdtempSync(path.join(tmpdir(), 'floor-c-')), 'ledger.sqlite'));
    try {
      expect(applySnapshot(c, { ...snap.body, entries: [...snap.body.entries, { id: 'pen-2', villager: 'zhao', kind: 'redemption', points: 0, created_at: at }] }, rules)).toMatchObject({ villagers: 1 });
      expect(getVillager(c, 'zhao')?.balance).toBe(7);
    } finally {
      closeLedger(c);
    }
  });

  it('still refuses a ledger entry of the wrong sign', () => {
    expect(() => applySnapshot(b, { villagers: [], entries: [{ id: 'bad', villager: 'zhao', kind: 'penalty', points: 5, created_at: new Date().toISOString() }] }, rules))
      .toThrow(/a penalty entry cannot carry 5 points/);
  });
});
