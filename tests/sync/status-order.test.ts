/**
 * A villager's status as a store follows the village's decisions: the latest decision wins by
 * time (docs/sync-stream.md), whatever order a store that was offline learns of them in.
 * - a `block`/`unblock` command the store applies from the stream is the village's decision, at
 *   the time the village made it: never sent back up as the store's own, newer decision;
 * - a villager who left stays left: a command that would block or unblock them is ignored and
 *   counted (the door must not admit them to spend what they still hold);
 * - a change made at the store and not yet acknowledged stands only against a village decision
 *   made before it: the village's later decision (a `villager` event, a snapshot) is applied, so
 *   the store does not keep a status the ledger has decided against once its row is acknowledged.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { getVillager, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { markOutboxAckedSeqs, pendingOutbox, type OutboxRow } from '../../edge/ledger/outbox.ts';
import { InboundStream } from '../../cloud-sync/agent/inbound.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import { keyRing, newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { doorStanding } from '../../edge/ledger/entry-events.ts';
import { doorPolicy } from '../../edge/entry/decision.ts';
import { addVillage, appendEvent, setVillagerStatus as ledgerSetStatus, upsertVillager, villagerOf, villageSnapshot } from '../../cloud-sync/ledger/tables.ts';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import type { Envelope } from '../../cloud-sync/protocol/payloads.ts';
import { ledgerDbKind, tempLedgerDb, uid } from '../../harness/sync/rig.ts';

const pair = newKeyPair();
const signer = { key: privateEd25519('ledger-1', pair.privatePem), lifetimeMs: 86_400_000 };
const keys = keyRing([{ id: 'ledger-1', pem: pair.publicPem }]);
/** Minutes after 08:00 an hour ago (the events stay valid). */
const T = (m: number) => new Date(Date.now() - 3_600_000 + m * 60_000);
const buf = (e: Envelope) => Buffer.from(JSON.stringify(e));
const asRows = (store: string, rows: OutboxRow[]) => rows.map((r) => ({ id: `${store}:${r.seq}`, seq: r.seq, topic: r.topic, payload: r.payload, created_at: r.createdAt }));

describe(`a villager's status at a store that catches up (${ledgerDbKind})`, () => {
  let ledger: SqlDb;
  let drop: () => Promise<void>;
  let village: string;
  let s: Db;
  let refusals: RefusalCounter;
  let now: Date;
  let inS: InboundStream;
  /** The village's command, as `POST …/commands` makes it (LedgerService.publishOnStream). */
  const command = (command: 'block' | 'unblock', villager: string, at: Date) => ledger.transaction(async (tx) => {
    await ledgerSetStatus(tx, village, villager, command === 'block' ? 'blocked' : 'active', at);
    return appendEvent(tx, village, 'command', `command:${at.getTime()}:${uid('')}`, { command, villager }, signer, at);
  });
  /** A maintainer's change at store B, applied by the ledger village-wide. */
  const atStoreB = async (villager: string, status: 'active' | 'blocked', at: Date) => {
    const b = await applyStoreRows(ledger, village, 'sB', [{ id: `sB:${at.getTime()}`, seq: at.getTime(), topic: 'villager', payload: { op: 'status', id: villager, status }, created_at: at.toISOString() }], signer, at);
    expect(b.events.length).toBe(1);
    return b.events[0]!;
  };
  const catchUp = (events: Envelope[]) => {
    for (const e of events) expect(inS.receive(buf(e), 'events').map((o) => o.kind)).toEqual(['applied']);
  };
  beforeEach(async () => {
    ({ db: ledger, drop } = await tempLedgerDb());
    village = uid('v');
    await addVillage(ledger, village, '村', T(0).toISOString());
    s = openLedger(path.join(mkdtempSync(path.join(tmpdir(), 'status-order-')), 'ledger.sqlite'));
    refusals = new RefusalCounter();
    now = T(50);
    inS = new InboundStream({
      db: () => s, address: { village, store: 'sS' }, keys: () => keys, rules: { creditFloor: 0 }, clock: () => now, skewMs: 60_000,
      refusals, onResyncWanted: () => undefined, snapshotPending: () => false,
    });
  });
  afterEach(async () => {
    closeLedger(s);
    await drop();
  });

  it("an old village block replayed at a store does not undo a newer unblock (nothing goes back up)", async () => {
    const e1 = await upsertVillager(ledger, { id: 'zhao', name: '赵六', village, status: 'active' }, signer, T(0));
    const e2 = await command('block', 'zhao', T(10));
    const e3 = await atStoreB('zhao', 'active', T(20));
    catchUp([e1, e2, e3]);
    const rows = pendingOutbox(s);
    expect(rows).toEqual([]);
    await applyStoreRows(ledger, village, 'sS', asRows('sS', rows), signer, T(50));
    expect({ ledger: (await villagerOf(ledger, 'zhao'))?.status, storeS: getVillager(s, 'zhao')?.status }).toEqual({ ledger: 'active', storeS: 'active' });
  });

  it('an old village unblock replayed at a store does not undo a newer block (a stolen card)', async () => {
    const e1 = await upsertVillager(ledger, { id: 'qian', name: '钱八', village, status: 'blocked' }, signer, T(0));
    const e2 = await command('unblock', 'qian', T(10));
    const e3 = await atStoreB('qian', 'blocked', T(20));
    catchUp([e1, e2]);
    // between the two, the store is where the village was at 08:10
    expect(getVillager(s, 'qian')?.status).toBe('active');
    catchUp([e3]);
    await applyStoreRows(ledger, village, 'sS', asRows('sS', pendingOutbox(s)), signer, T(50));
    expect({ ledger: (await villagerOf(ledger, 'qian'))?.status, storeS: getVillager(s, 'qian')?.status }).toEqual({ ledger: 'blocked', storeS: 'blocked' });
  });

  it("a store's own change made after the village's command stands, and goes up as the newer decision", async () => {
    catchUp([await upsertVillager(ledger, { id: 'sun', name: '孙九', village, status: 'blocked' }, signer, T(0))]);
    const unblock = await command('unblock', 'sun', T(10));
    // the store, offline, blocks sun again at 08:15, before it hears of the village's 08:10 unblock
    setVillagerStatus(s, 'sun', 'blocked', () => T(15));
    catchUp([unblock]);
    expect(getVillager(s, 'sun')?.status).toBe('blocked');
    const res = await applyStoreRows(ledger, village, 'sS', asRows('sS', pendingOutbox(s)), signer, T(50));
    expect((await villagerOf(ledger, 'sun'))?.status).toBe('blocked');
    expect(res.events.map((e) => e.body)).toMatchObject([{ id: 'sun', status: 'blocked' }]);
  });

  it('a villager who left stays left: a block or unblock command is ignored and counted, and the stream goes on', async () => {
    catchUp([
      await upsertVillager(ledger, { id: 'zhang', name: '张三', village, status: 'active' }, signer, T(0)),
      await upsertVillager(ledger, { id: 'zhang', name: '张三', village, status: 'left' }, signer, T(5)),
    ]);
    // what an older ledger published (it let an unblock make a left villager active)
    const seq = Number((await ledger.query<{ s: number | string }>('UPDATE villages SET next_seq = next_seq + 1 WHERE id = $1 RETURNING next_seq - 1 AS s', [village]))[0]!.s);
    const unblock = signEnvelope({ v: 1, id: 'command:old', kind: 'command', village, seq, issued_at: T(10).toISOString(), expires_at: new Date(Date.now() + 3_600_000).toISOString(), body: { command: 'unblock', villager: 'zhang' } }, signer.key);
    catchUp([unblock]);
    expect({ status: getVillager(s, 'zhang')?.status, door: doorPolicy(doorStanding(s, 'zhang', { creditFloor: 0 }), 'card', false), counted: refusals.get('invalid'), rows: pendingOutbox(s) })
      .toEqual({ status: 'left', door: 'unknown', counted: 1, rows: [] });
  });

  it("a block made at the offline store yields to the village's later decision, from the stream and from a snapshot", async () => {
    for (const id of ['zhao', 'wu']) catchUp([await upsertVillager(ledger, { id, name: id, village, status: 'active' }, signer, T(0))]);
    // 08:10 the store, offline, blocks zhao and wu (the rows wait in the outbox)
    setVillagerStatus(s, 'zhao', 'blocked', () => T(10));
    setVillagerStatus(s, 'wu', 'blocked', () => T(10));
    // 08:20 and 08:30 the village blocks zhao, then makes him active again; wu too, learnt by the store from a snapshot
    const e2 = await upsertVillager(ledger, { id: 'zhao', name: 'zhao', village, status: 'blocked' }, signer, T(20));
    const e3 = await upsertVillager(ledger, { id: 'zhao', name: 'zhao', village, status: 'active' }, signer, T(30));
    catchUp([e2, e3]);
    await upsertVillager(ledger, { id: 'wu', name: 'wu', village, status: 'blocked' }, signer, T(20));
    await upsertVillager(ledger, { id: 'wu', name: 'wu', village, status: 'active' }, signer, T(30));
    const snap = await villageSnapshot(ledger, village);
    const env = signEnvelope({ v: 1, id: 'snapshot:1', kind: 'snapshot', village, store: 'sS', seq: snap.seq, issued_at: T(35).toISOString(), expires_at: new Date(Date.now() + 3_600_000).toISOString(), body: snap.body }, signer.key);
    expect(inS.receive(buf(env), 'snapshot').map((o) => o.kind)).toEqual(['snapshot']);
    // the store's rows go up: older than the village's decisions, kept but not applied there
    const rows = pendingOutbox(s);
    const res = await applyStoreRows(ledger, village, 'sS', asRows('sS', rows), signer, T(40));
    expect(res.events).toEqual([]);
    markOutboxAckedSeqs(s, rows.map((r) => r.seq), T(40).toISOString());
    for (const id of ['zhao', 'wu']) expect({ id, ledger: (await villagerOf(ledger, id))?.status, store: getVillager(s, id)?.status }).toEqual({ id, ledger: 'active', store: 'active' });
  });

  it('a change made at the store after the village message it meets stands, and goes up as the newer decision', async () => {
    catchUp([await upsertVillager(ledger, { id: 'zhou', name: '周十', village, status: 'active' }, signer, T(0))]);
    const blocked = await upsertVillager(ledger, { id: 'zhou', name: '周十', village, status: 'blocked' }, signer, T(20));
    const active = await upsertVillager(ledger, { id: 'zhou', name: '周十', village, status: 'active' }, signer, T(30));
    // 08:35 the store, offline, blocks zhou; then it hears of the village's 08:20 and 08:30 decisions
    setVillagerStatus(s, 'zhou', 'blocked', () => T(35));
    catchUp([blocked, active]);
    expect(getVillager(s, 'zhou')?.status).toBe('blocked');
    const res = await applyStoreRows(ledger, village, 'sS', asRows('sS', pendingOutbox(s)), signer, T(40));
    expect(res.events.map((e) => e.body)).toMatchObject([{ id: 'zhou', status: 'blocked' }]);
    expect((await villagerOf(ledger, 'zhou'))?.status).toBe('blocked');
  });
});
