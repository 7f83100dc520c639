/**
 * A snapshot and the village stream overlap: the answer to the store's own request can be
 * overtaken by the stream, and stream events in flight while a snapshot was built arrive after
 * it. Those copies are dropped without being called hostile; a second copy, or an old snapshot
 * nobody asked for, is still a replay.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { inboundSeq } from '../../edge/ledger/sync-state.ts';
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

describe('a snapshot and the stream overlapping', () => {
  let db: Db;
  let refusals: RefusalCounter;
  let pending: boolean;
  let inbound: InboundStream;
  beforeEach(() => {
    db = openLedger(path.join(mkdtempSync(path.join(tmpdir(), 'overlap-')), 'ledger.sqlite'));
    refusals = new RefusalCounter();
    pending = true;
    inbound = new InboundStream({
      db: () => db, address: { village, store }, keys: () => keys, rules: { creditFloor: 0 }, clock, skewMs: 60_000,
      refusals, onResyncWanted: () => undefined, snapshotPending: () => pending,
    });
  });
  afterEach(() => closeLedger(db));

  it('stream events already in a snapshot: the first copy is an overlap, the second a replay', () => {
    const snap = msg('snapshot', 3, { villagers: [zhang], entries: [award(2), award(3)] }, store);
    expect(inbound.receive(snap, 'snapshot').map((o) => o.kind)).toEqual(['snapshot']);
    pending = false;
    expect(inboundSeq(db)).toBe(3);
    const late = [msg('villager', 1, zhang), msg('entry', 2, award(2)), msg('entry', 3, award(3))];
    expect(late.flatMap((m) => inbound.receive(m, 'events')).map((o) => o.kind)).toEqual(['overlap', 'overlap', 'overlap']);
    expect(refusals.total()).toBe(0);
    expect(late.flatMap((m) => inbound.receive(m, 'events')).map((o) => o.kind)).toEqual(['refused', 'refused', 'refused']);
    expect(refusals.get('replayed')).toBe(3);
    expect(getVillager(db, 'zhang')?.balance).toBe(20);
  });

  it('a snapshot older than the stream: an overlap while one was asked for, a replay when none was', () => {
    for (const m of [msg('villager', 1, zhang), msg('entry', 2, award(2))]) inbound.receive(m, 'events');
    expect(inboundSeq(db)).toBe(2);
    const stale = msg('snapshot', 1, { villagers: [zhang], entries: [] }, store);
    expect(inbound.receive(stale, 'snapshot').map((o) => o.kind)).toEqual(['overlap']);
    expect(refusals.total()).toBe(0);
    pending = false;
    expect(inbound.receive(stale, 'snapshot').map((o) => o.kind)).toEqual(['refused']);
    expect(refusals.get('replayed')).toBe(1);
    expect(inboundSeq(db)).toBe(2);
    expect(getVillager(db, 'zhang')?.balance).toBe(10);
  });
});
