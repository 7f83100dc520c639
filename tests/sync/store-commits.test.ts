/**
 * The store's side of the sync commits as seldom as correctness allows (each commit waits for
 * the disk): a `down/deltas` answer is applied in one transaction, each event still on its own
 * (one that cannot apply is refused alone); a contact already on record is not written again
 * within its grain. Bookkeeping the sync derives again when it is lost (acknowledgements, the
 * contact, the store's own entries coming back on the stream) commits without waiting for the disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeLedger, forgetStatements, inLazyTransaction, inTransaction, openLedger, type Db } from '../../edge/ledger/db.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { inboundSeq, lastContact, touchContact, touchContactEvery } from '../../edge/ledger/sync-state.ts';
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
const award = (n: number, villager = 'zhang') => ({ id: `aw-${n}`, villager, kind: 'award' as const, points: 10, created_at: at });

const event = (kind: EnvelopeKind, seq: number, body: unknown) =>
  signEnvelope({ v: 1, id: `${kind}-${seq}`, kind, village, seq, issued_at: at, expires_at: '2026-12-01T09:00:00.000Z', body }, key);
const deltas = (events: { seq: number }[], toSeq: number): Buffer => Buffer.from(JSON.stringify({ from_seq: events[0]!.seq - 1, to_seq: toSeq, events }));

describe('store-side commits', () => {
  let dir: string;
  let db: Db;
  let refusals: RefusalCounter;
  let inbound: InboundStream;
  let resyncs: number;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'store-commits-'));
    db = openLedger(path.join(dir, 'ledger.sqlite'));
    refusals = new RefusalCounter();
    resyncs = 0;
    inbound = new InboundStream({
      db: () => db, address: { village, store }, keys: () => keys, rules: { creditFloor: 0 }, clock, skewMs: 60_000,
      refusals, onResyncWanted: () => resyncs++, snapshotPending: () => true,
    });
  });
  afterEach(() => {
    closeLedger(db);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Frames in the write-ahead log since it was last emptied: each commit appends the pages it changed. */
  const walFrames = (): number => (db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log;
  const emptyWal = (): void => void db.pragma('wal_checkpoint(TRUNCATE)');

  it('a deltas answer of many events is one commit, not one per event', () => {
    inbound.receiveDeltas(deltas([event('villager', 1, zhang), event('entry', 2, award(2))], 2));
    emptyWal();
    inbound.receiveDeltas(deltas([event('entry', 3, award(3))], 3));
    const oneEvent = walFrames();
    emptyWal();
    const r = inbound.receiveDeltas(deltas(Array.from({ length: 20 }, (_, i) => event('entry', 4 + i, award(4 + i))), 23));
    expect(r.outcomes.every((o) => o.kind === 'applied')).toBe(true);
    expect(r.complete).toBe(true);
    // Twenty commits would append the same pages twenty times over.
    expect(walFrames()).toBeLessThan(oneEvent * 3);
    expect(inboundSeq(db)).toBe(23);
    expect(getVillager(db, 'zhang')?.balance).toBe(220);
  });

  it('an event of the answer that cannot apply is refused alone; what came before it stays applied', () => {
    const r = inbound.receiveDeltas(deltas([event('villager', 1, zhang), event('entry', 2, award(2)), event('entry', 3, award(3, 'nobody')), event('entry', 4, award(4))], 4));
    expect(r.outcomes.map((o) => o.kind)).toEqual(['applied', 'applied', 'refused', 'gap']);
    expect(refusals.get('invalid')).toBe(1);
    expect(resyncs).toBe(1);
    expect(inboundSeq(db)).toBe(2);
    expect(getVillager(db, 'zhang')?.balance).toBe(10);
    expect(db.prepare("SELECT COUNT(*) FROM entries WHERE id IN ('aw-3', 'aw-4')").pluck().get()).toBe(0);
  });

  it('a contact on record within the grain is not written again; an older one, or none, is', () => {
    expect(touchContactEvery(db, '2026-12-01T08:00:00.000Z', 1000)).toBe(true);
    expect(touchContactEvery(db, '2026-12-01T08:00:00.999Z', 1000)).toBe(false);
    expect(lastContact(db)).toBe('2026-12-01T08:00:00.000Z');
    expect(touchContactEvery(db, '2026-12-01T08:00:01.000Z', 1000)).toBe(true);
    expect(lastContact(db)).toBe('2026-12-01T08:00:01.000Z');
    // A clock set back: the record follows it rather than stay in the future.
    expect(touchContactEvery(db, '2026-12-01T07:00:00.000Z', 1000)).toBe(true);
    expect(lastContact(db)).toBe('2026-12-01T07:00:00.000Z');
    touchContact(db, 'not a time');
    expect(touchContactEvery(db, '2026-12-01T08:00:00.000Z', 1000)).toBe(true);
  });

  const synchronous = (): number => db.pragma('synchronous', { simple: true }) as number;

  it('a lazy commit does not wait for the disk, and leaves the connection as durable as it was', () => {
    expect(synchronous()).toBe(2); // FULL
    const seen = inLazyTransaction(db, 'noting', () => {
      touchContact(db, at);
      return synchronous();
    });
    expect(seen).toBe(1); // NORMAL for this commit only
    expect(synchronous()).toBe(2);
    expect(lastContact(db)).toBe(at);
    // A failure rolls back and still restores FULL.
    expect(() => inLazyTransaction(db, 'noting', () => {
      touchContact(db, 'later');
      throw new Error('boom');
    })).toThrow('boom');
    expect(lastContact(db)).toBe(at);
    expect(synchronous()).toBe(2);
    // Inside a transaction it is a savepoint of that one, as durable as it.
    expect(inTransaction(db, 'outer', () => inLazyTransaction(db, 'inner', () => synchronous()))).toBe(2);
  });

  /** The sync-mode switches prepared during `fn` (switched by statements prepared once per connection, cachedStatement: forgotten before `fn`, each switch prepares its text again and is seen here). */
  const modesDuring = (fn: () => void): string[] => {
    const modes: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((text: string) => {
      if (text.startsWith('PRAGMA synchronous =')) modes.push(text);
      return prepare(text);
    }) as typeof db.prepare;
    forgetStatements(db);
    try {
      fn();
    } finally {
      db.prepare = prepare;
    }
    return modes;
  };

  it("the store's own entries back on the stream commit lazily; an entry new here waits for the disk", () => {
    inbound.receiveDeltas(deltas([event('villager', 1, zhang), event('entry', 2, award(2))], 2));
    // aw-2 is held already: the event changes only the seq.
    expect(modesDuring(() => {
      expect(inbound.receive(Buffer.from(JSON.stringify(event('entries', 3, { entries: [award(2)] }))), 'events').map((o) => o.kind)).toEqual(['applied']);
    })).toEqual(['PRAGMA synchronous = NORMAL', 'PRAGMA synchronous = FULL']);
    expect(modesDuring(() => {
      expect(inbound.receive(Buffer.from(JSON.stringify(event('entries', 4, { entries: [award(2), award(4)] }))), 'events').map((o) => o.kind)).toEqual(['applied']);
    })).toEqual([]);
    expect(inboundSeq(db)).toBe(4);
    expect(getVillager(db, 'zhang')?.balance).toBe(20);
  });

  it("a deltas answer of only the store's own entries commits lazily; one new entry in it waits for the disk", () => {
    inbound.receiveDeltas(deltas([event('villager', 1, zhang), event('entry', 2, award(2)), event('entry', 3, award(3))], 3));
    const lazy = modesDuring(() => {
      const r = inbound.receiveDeltas(deltas([event('entries', 4, { entries: [award(2), award(3)] }), event('entry', 5, award(2))], 5));
      expect(r.outcomes.map((o) => o.kind)).toEqual(['applied', 'applied']);
    });
    expect(lazy).toEqual(['PRAGMA synchronous = NORMAL', 'PRAGMA synchronous = FULL']);
    expect(inboundSeq(db)).toBe(5);
    expect(getVillager(db, 'zhang')?.balance).toBe(20);
    const durable = modesDuring(() => {
      const r = inbound.receiveDeltas(deltas([event('entries', 6, { entries: [award(2)] }), event('entries', 7, { entries: [award(3), award(7)] })], 7));
      expect(r.outcomes.map((o) => o.kind)).toEqual(['applied', 'applied']);
    });
    expect(durable).toEqual([]);
    expect(inboundSeq(db)).toBe(7);
    expect(getVillager(db, 'zhang')?.balance).toBe(30);
    // Other kinds, and an event that is not even an envelope, are never taken for nothing new.
    expect(modesDuring(() => void inbound.receiveDeltas(deltas([event('villager', 8, zhang)], 8)))).toEqual([]);
    expect(modesDuring(() => void inbound.receiveDeltas(Buffer.from(JSON.stringify({ from_seq: 8, to_seq: 9, events: [{ seq: 9 }] }))))).toEqual([]);
    expect(inboundSeq(db)).toBe(8);
  });

  it('a deltas answer of held entries that releases a held stream event with a new entry waits for the disk', () => {
    inbound.receiveDeltas(deltas([event('villager', 1, zhang), event('entry', 2, award(2))], 2));
    // Seq 4 arrives on the stream ahead of 3 and is held for the gap.
    expect(inbound.receive(Buffer.from(JSON.stringify(event('entry', 4, award(4)))), 'events').map((o) => o.kind)).toEqual(['gap']);
    expect(inbound.heldCount).toBe(1);
    const modes = modesDuring(() => {
      const r = inbound.receiveDeltas(deltas([event('entries', 3, { entries: [award(2)] })], 3));
      expect(r.outcomes.map((o) => o.kind)).toEqual(['applied', 'applied']);
    });
    expect(modes).toEqual([]);
    expect(inboundSeq(db)).toBe(4);
    expect(getVillager(db, 'zhang')?.balance).toBe(20);
  });
});
