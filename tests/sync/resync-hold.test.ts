/**
 * The stream is held while a resync is awaited (cloud-sync/agent/inbound.ts): events past the
 * store's seq that arrive after it wanted the village whole (a `resync` command, a forked stream)
 * and before the snapshot are held, not applied, and applied after the snapshot where their seq
 * is above it. Before, they were applied at once: the store's seq ran past the snapshot built
 * for it, which then came stale (an overlap, not applied) and was asked for again, a whole
 * snapshot each time, for as long as the village kept publishing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { inboundSeq, resyncWanted } from '../../edge/ledger/sync-state.ts';
import { InboundStream } from '../../cloud-sync/agent/inbound.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import { keyRing, newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import type { EnvelopeKind } from '../../cloud-sync/protocol/payloads.ts';

const village = 'v1';
const store = 's1';
const pair = newKeyPair();
const key = privateEd25519('ledger-1', pair.privatePem);
const keys = keyRing([{ id: 'ledger-1', pem: pair.publicPem }]);
const at = '2026-12-01T08:00:00.000Z';
const clock = () => new Date(at);

const zhang = { id: 'zhang', name: '张三', village, status: 'active' as const };
const award = (n: number) => ({ id: `aw-${n}`, villager: 'zhang', kind: 'award' as const, points: 10, created_at: at });

function msg(kind: EnvelopeKind, seq: number, body: unknown, forStore?: string): Buffer {
  const e = signEnvelope({ v: 1, id: `${kind}-${seq}-${Math.random().toString(36).slice(2)}`, kind, village, ...(forStore ? { store: forStore } : {}), seq, issued_at: at, expires_at: '2026-12-01T09:00:00.000Z', body }, key);
  return Buffer.from(JSON.stringify(e));
}

describe('the stream held while a resync is awaited', () => {
  let db: Db;
  let inbound: InboundStream;
  let asked: number;
  beforeEach(() => {
    db = openLedger(path.join(mkdtempSync(path.join(tmpdir(), 'resync-hold-')), 'ledger.sqlite'));
    asked = 0;
    inbound = new InboundStream({
      db: () => db, address: { village, store }, keys: () => keys, rules: { creditFloor: 0 }, clock, skewMs: 60_000,
      refusals: new RefusalCounter(), onResyncWanted: () => void asked++, snapshotPending: () => asked > 0,
    });
    for (const m of [msg('villager', 1, zhang), msg('entry', 2, award(2))]) inbound.receive(m, 'events');
    expect(inboundSeq(db)).toBe(2);
  });
  afterEach(() => closeLedger(db));

  it('events after a resync command are held, and those above the snapshot applied after it', () => {
    expect(inbound.receive(msg('command', 3, { command: 'resync', store }), 'events').map((o) => o.kind)).toEqual(['applied']);
    expect(asked).toBe(1);
    expect(resyncWanted(db)).toMatchObject({ why: 'command' });
    // Published while the snapshot was built (4), and after it (5, 6): held, nothing applied.
    const after = [4, 5, 6].map((n) => msg('entry', n, award(n)));
    expect(after.flatMap((m) => inbound.receive(m, 'events')).map((o) => o.kind)).toEqual(['held', 'held', 'held']);
    expect(inboundSeq(db)).toBe(3);
    expect(inbound.heldCount).toBe(3);
    expect(getVillager(db, 'zhang')?.balance).toBe(10);
    // The snapshot at 4 (with the award the ledger holds but the stream never carried): applied,
    // not stale; 4 is in it, 5 and 6 follow it.
    const snap = msg('snapshot', 4, { villagers: [zhang], entries: [award(2), { ...award(0), id: 'hidden' }, award(4)] }, store);
    expect(inbound.receive(snap, 'snapshot').map((o) => o.kind)).toEqual(['snapshot', 'applied', 'applied']);
    expect(inboundSeq(db)).toBe(6);
    expect(inbound.heldCount).toBe(0);
    expect(resyncWanted(db)).toBeUndefined();
    expect(getVillager(db, 'zhang')?.balance).toBe(50);
    expect(findBalanceMismatches(db)).toEqual([]);
    expect(asked).toBe(1);
    // The stream goes on as before.
    expect(inbound.receive(msg('entry', 7, award(7)), 'events').map((o) => o.kind)).toEqual(['applied']);
  });

  it('events after the resync command in the same held run, or in deltas, are held too', () => {
    // 4 arrives before 3 (held for the gap); 3 is the command, which then holds 4 instead of applying it.
    expect(inbound.receive(msg('entry', 4, award(4)), 'events').map((o) => o.kind)).toEqual(['gap']);
    expect(inbound.receive(msg('command', 3, { command: 'resync', store }), 'events').map((o) => o.kind)).toEqual(['applied']);
    expect(inboundSeq(db)).toBe(3);
    const deltas = Buffer.from(JSON.stringify({ from_seq: 3, to_seq: 5, events: [4, 5].map((n) => JSON.parse(msg('entry', n, award(n)).toString()) as unknown) }));
    expect(inbound.receiveDeltas(deltas).outcomes.map((o) => o.kind)).toEqual(['held', 'held']);
    expect(inboundSeq(db)).toBe(3);
    expect(inbound.receive(msg('snapshot', 3, { villagers: [zhang], entries: [award(2)] }, store), 'snapshot').map((o) => o.kind)).toEqual(['snapshot', 'applied', 'applied']);
    expect(inboundSeq(db)).toBe(5);
    expect(getVillager(db, 'zhang')?.balance).toBe(30);
  });

  it('one held past a hole after the snapshot (an event lost on the way) is a gap, asked at once', () => {
    inbound.receive(msg('command', 3, { command: 'resync', store }), 'events');
    // 4 never comes; 5 and 6 are held.
    expect([5, 6].flatMap((n) => inbound.receive(msg('entry', n, award(n)), 'events')).map((o) => o.kind)).toEqual(['held', 'held']);
    const out = inbound.receive(msg('snapshot', 3, { villagers: [zhang], entries: [award(2)] }, store), 'snapshot');
    expect(out).toEqual([expect.objectContaining({ kind: 'snapshot', seq: 3 }), { kind: 'gap', seq: 5, expected: 4 }]);
    expect(inbound.heldCount).toBe(2);
    expect(inbound.receive(msg('entry', 4, award(4)), 'events').map((o) => o.kind)).toEqual(['applied', 'applied', 'applied']);
    expect([inboundSeq(db), getVillager(db, 'zhang')?.balance]).toEqual([6, 40]);
  });
});
