/**
 * The store's InboundStream applying a large snapshot in slices (cloud-sync/agent/inbound.ts,
 * edge/ledger/snapshot-slices.ts): `receive` answers `applying`, the outcome comes through
 * `later`; what arrives meanwhile (stream events, deltas, copies of the snapshot, a newer one) is
 * held or answered, never applied concurrently; the seq moves only once the whole is in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeLedger, inTransaction, openLedger, type Db } from '../../edge/ledger/db.ts';
import { findBalanceMismatches, redeemAtExit } from '../../edge/ledger/entries.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';
import { inboundSeq, resyncWanted } from '../../edge/ledger/sync-state.ts';
import { InboundStream, type InboundOutcome } from '../../cloud-sync/agent/inbound.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import { CatchUp } from '../../cloud-sync/agent/catch-up.ts';
import { logOutcome } from '../../cloud-sync/agent/outcome-log.ts';
import type { Logger } from '../../edge/log.ts';
import { keyRing, newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import type { EnvelopeKind, SnapshotBody } from '../../cloud-sync/protocol/payloads.ts';

const village = 'v1';
const store = 's1';
const pair = newKeyPair();
const key = privateEd25519('ledger-1', pair.privatePem);
const keys = keyRing([{ id: 'ledger-1', pem: pair.publicPem }]);
const at = '2026-12-01T08:00:00.000Z';
const names = ['zhang', 'li', 'wang', 'zhao'];
const award = (n: number, villager: string, points = 10) => ({ id: `aw-${n}`, villager, kind: 'award' as const, points, created_at: at });

/** Part `index` of `count` of the snapshot `of`, with `body`'s rows. */
const part = (seq: number, body: SnapshotBody, of: string, index: number, count: number) => msg('snapshot', seq, { ...body, part: { of, index, count } }, store);
function msg(kind: EnvelopeKind, seq: number, body: unknown, forStore?: string): Buffer {
  const e = signEnvelope({ v: 1, id: `${kind}-${seq}-${Math.random().toString(36).slice(2)}`, kind, village, ...(forStore ? { store: forStore } : {}), seq, issued_at: at, expires_at: '2026-12-01T09:00:00.000Z', body }, key);
  return Buffer.from(JSON.stringify(e));
}
/** The village: four villagers with ten entries each (1 to 10 points), interleaved. */
function villageAt(): SnapshotBody {
  return {
    villagers: names.map((id) => ({ id, name: `村民${id}`, village, status: 'active' as const })),
    entries: Array.from({ length: 40 }, (_, i) => award(100 + i, names[i % 4]!, 1 + Math.floor(i / 4))),
  };
}
const SUM = 55; // each villager's ten entries: 1 + 2 + … + 10

describe('a large snapshot applied in slices by the InboundStream', () => {
  let dir: string;
  let db: Db;
  let refusals: RefusalCounter;
  let pending: boolean;
  let later: InboundOutcome[][];
  let resyncs: number;
  /** Run at the first turn between two slices (some entries in, the seq not moved). */
  let between: (() => void) | undefined;
  let inbound: InboundStream;
  const make = () => new InboundStream({
    db: () => db, address: { village, store }, keys: () => keys, rules: { creditFloor: 0 }, clock: () => new Date(at), skewMs: 60_000,
    refusals, onResyncWanted: () => { resyncs++; }, snapshotPending: () => pending, later: (o) => later.push(o),
    // Eleven rows a villager (its registry row and ten entries): one villager a slice.
    slices: {
      rows: 11, ms: Number.POSITIVE_INFINITY,
      turn: async () => {
        await new Promise<void>((r) => setImmediate(r));
        const some = db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
        if (some > 0 && some < 40 && between) {
          const run = between;
          between = undefined;
          run();
        }
      },
    },
  });
  const kinds = (os: InboundOutcome[]) => os.map((o) => (o.kind === 'applied' || o.kind === 'snapshot' ? `${o.kind} ${o.seq}` : o.kind));
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'slices-'));
    db = openLedger(path.join(dir, 'ledger.sqlite'));
    refusals = new RefusalCounter();
    pending = true;
    later = [];
    resyncs = 0;
    between = undefined;
    inbound = make();
  });
  afterEach(() => {
    closeLedger(db);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers `applying`; stream events and deltas arriving before and between slices are held and released in order once it is in', async () => {
    const snap = msg('snapshot', 5, villageAt(), store);
    expect(kinds(inbound.receive(snap, 'snapshot'))).toEqual(['applying']);
    expect(inbound.applyingSnapshot).toBe(true);
    // Before the first slice: a copy of an event inside it, and two past its next seq (a gap).
    expect(kinds(inbound.receive(msg('entry', 7, award(7, 'zhao')), 'events'))).toEqual(['gap']);
    expect(kinds(inbound.receive(msg('entry', 3, award(3, 'li')), 'events'))).toEqual(['held']);
    expect(kinds(inbound.receive(msg('entry', 8, award(8, 'wang')), 'events'))).toEqual(['gap']);
    let midway: { seq: number; zhang: number | undefined; zhao: number | undefined } | undefined;
    between = () => {
      midway = { seq: inboundSeq(db), zhang: getVillager(db, 'zhang')?.balance, zhao: getVillager(db, 'zhao')?.balance };
      expect(kinds(inbound.receive(msg('entry', 6, award(6, 'zhang')), 'events'))).toEqual(['held']);
      const deltas = { from_seq: 0, to_seq: 9, events: [JSON.parse(msg('entry', 9, award(9, 'li')).toString())] };
      expect(kinds(inbound.receiveDeltas(Buffer.from(JSON.stringify(deltas))).outcomes)).toEqual(['gap']);
    };
    await inbound.idle();
    // Between slices: the seq had not moved, one villager whole and another not yet there.
    expect(midway).toEqual({ seq: 0, zhang: SUM, zhao: undefined });
    expect(later.map(kinds)).toEqual([['snapshot 5', 'applied 6', 'applied 7', 'applied 8', 'applied 9']]);
    expect(inboundSeq(db)).toBe(9);
    expect(inbound.heldCount).toBe(0);
    expect([getVillager(db, 'zhang')?.balance, getVillager(db, 'li')?.balance, getVillager(db, 'wang')?.balance, getVillager(db, 'zhao')?.balance]).toEqual([SUM + 10, SUM + 10, SUM + 10, SUM + 10]);
    expect(refusals.total()).toBe(0);
    expect(findBalanceMismatches(db)).toEqual([]);
  });

  it('a copy of the snapshot is not applied a second time; a newer one waits for it and is applied after it', async () => {
    const snap = msg('snapshot', 5, villageAt(), store);
    expect(kinds(inbound.receive(snap, 'snapshot'))).toEqual(['applying']);
    const newer = villageAt();
    newer.entries.push(award(12, 'zhao', 100));
    between = () => {
      expect(kinds(inbound.receive(snap, 'snapshot'))).toEqual(['dropped']);
      pending = false;
      expect(kinds(inbound.receive(snap, 'snapshot'))).toEqual(['refused']);
      pending = true;
      expect(kinds(inbound.receive(msg('snapshot', 12, newer, store), 'snapshot'))).toEqual(['held']);
    };
    await inbound.idle();
    expect(later.map(kinds)).toEqual([['snapshot 5', 'applying'], ['snapshot 12']]);
    expect(later[1]![0]).toMatchObject({ applied: 1 });
    expect(inboundSeq(db)).toBe(12);
    expect(getVillager(db, 'zhao')?.balance).toBe(SUM + 100);
    expect(refusals.get('replayed')).toBe(1);
    expect(findBalanceMismatches(db)).toEqual([]);
  });

  it('copies, parts of copies and a newer snapshot pushed out by a still newer one, arriving meanwhile: each dropped and counted, logged once; the store ends at the newest, asking nothing', async () => {
    expect(kinds(inbound.receive(msg('snapshot', 5, villageAt(), store), 'snapshot'))).toEqual(['applying']);
    const newest = villageAt();
    newest.entries.push(award(15, 'zhao', 100));
    const meanwhile: InboundOutcome[] = [];
    between = () => {
      meanwhile.push(...inbound.receive(msg('snapshot', 5, villageAt(), store), 'snapshot')); // a second answer, whole
      meanwhile.push(...inbound.receive(part(5, villageAt(), 'copy-5', 0, 2), 'snapshot')); // and one in parts
      meanwhile.push(...inbound.receive(part(5, villageAt(), 'copy-5', 1, 2), 'snapshot'));
      meanwhile.push(...inbound.receive(msg('snapshot', 12, villageAt(), store), 'snapshot')); // waits
      meanwhile.push(...inbound.receive(msg('snapshot', 15, newest, store), 'snapshot')); // pushes 12 out
      meanwhile.push(...inbound.receive(msg('snapshot', 12, villageAt(), store), 'snapshot')); // 15 holds it
    };
    await inbound.idle();
    expect(kinds(meanwhile)).toEqual(['dropped', 'dropped', 'dropped', 'held', 'held', 'dropped', 'dropped']);
    expect(later.map(kinds)).toEqual([['snapshot 5', 'applying'], ['snapshot 15']]);
    expect(inboundSeq(db)).toBe(15);
    expect(getVillager(db, 'zhao')?.balance).toBe(SUM + 100);
    expect([refusals.total(), resyncs]).toEqual([0, 0]);
    // The agent counts each (its counters), and a whole copy, or the first part of one, answers one of its requests.
    const counters = { asked: 0, checked: 0, dropped: 0 };
    const catchUp = new CatchUp({ clock: () => new Date(at), retransmitMs: 1000, partWaitMs: 1000, horizonMs: 60_000, inboundSeq: () => 0, heldCount: () => 0, counters, check: () => undefined, ask: () => undefined });
    for (const o of meanwhile) catchUp.onOutcome(o, 'snapshot');
    expect(counters.dropped).toBe(5);
    expect(meanwhile.filter((o) => o.kind === 'dropped' && o.answers).length).toBe(4);
    const lines: string[] = [];
    const log = { debug: () => undefined, info: (_o: object, m: string) => lines.push(m), warn: (_o: object, m: string) => lines.push(m), error: (_o: object, m: string) => lines.push(m) } as unknown as Logger;
    for (const o of meanwhile) logOutcome(log, o, 'down/snapshot');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/not applied.*\/.*快照/);
  });

  it('nothing dropped is lost: a newer snapshot pushed out by one that is then refused is asked for again', async () => {
    expect(kinds(inbound.receive(msg('snapshot', 5, villageAt(), store), 'snapshot'))).toEqual(['applying']);
    const bad = villageAt();
    bad.entries.push({ ...award(999, 'zhang'), points: -3 });
    between = () => {
      expect(kinds(inbound.receive(msg('snapshot', 12, villageAt(), store), 'snapshot'))).toEqual(['held']);
      expect(kinds(inbound.receive(msg('snapshot', 15, bad, store), 'snapshot'))).toEqual(['held', 'dropped']);
    };
    await inbound.idle();
    expect(later.map(kinds)).toEqual([['snapshot 5', 'applying'], ['refused']]);
    expect(inboundSeq(db)).toBe(5);
    expect(resyncs).toBe(1);
  });

  it('a bad entry at its very end: refused and counted before any slice is written; the events held meanwhile apply', async () => {
    const bad = villageAt();
    bad.entries.push({ ...award(999, 'zhang'), points: -3 });
    expect(kinds(inbound.receive(msg('snapshot', 5, bad, store), 'snapshot'))).toEqual(['applying']);
    expect(kinds(inbound.receive(msg('villager', 1, { id: 'zhang', name: '张三', village, status: 'active' }), 'events'))).toEqual(['held']);
    await inbound.idle();
    expect(later.map(kinds)).toEqual([['refused', 'applied 1']]);
    expect(refusals.get('invalid')).toBe(1);
    expect(db.prepare('SELECT COUNT(*) FROM entries').pluck().get()).toBe(0);
    expect(inboundSeq(db)).toBe(1);
    expect(resyncWanted(db)).toBeUndefined(); // nothing written: no apply under way
  });

  it('stopped after some slices (the store stopping): the seq has not moved; the same snapshot applied again ends level', async () => {
    const snap = msg('snapshot', 5, villageAt(), store);
    inbound.receive(snap, 'snapshot');
    between = () => inbound.stop();
    await inbound.idle();
    expect(later).toEqual([]);
    expect(inboundSeq(db)).toBe(0);
    const partly = db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number;
    expect(partly).toBeGreaterThan(0);
    expect(partly).toBeLessThan(40);
    // Marked in the first slice: a store killed here asks for a snapshot once started, not deltas.
    expect(resyncWanted(db)).toEqual({ seq: 5, why: 'partial-snapshot' });
    inbound = make(); // the store started again
    expect(kinds(inbound.receive(snap, 'snapshot'))).toEqual(['applying']);
    await inbound.idle();
    expect(later.map(kinds)).toEqual([['snapshot 5']]);
    expect(later[0]![0]).toMatchObject({ applied: 40 - partly });
    expect(resyncWanted(db)).toBeUndefined(); // cleared in its last slice
    for (const id of names) expect(getVillager(db, id)?.balance).toBe(SUM);
    expect(findBalanceMismatches(db)).toEqual([]);
  });

  it('stopped after a villager cut across slices had its last earning, before its last entry: started again, its debt is repaid once, as the whole snapshot repays it', async () => {
    // 张三 owes 6 points (a sale with nothing on hand); the village then awards him 20 × 10 and fines him 10 × 1.
    addVillager(db, { id: 'zhang', name: '张三', village }, () => new Date(at));
    inTransaction(db, 'a sale', () => redeemAtExit(db, { id: 'sale-1', villagerId: 'zhang', points: 6, origin: 'store', reference: 'session:sale-1' }, { creditFloor: 0 }, at));
    const fines = Array.from({ length: 10 }, (_, i) => ({ id: `fine-${i}`, villager: 'zhang', kind: 'penalty' as const, points: -1, created_at: at }));
    const body: SnapshotBody = { villagers: [{ id: 'zhang', name: '张三', village, status: 'active' }], entries: [...Array.from({ length: 20 }, (_, i) => award(i, 'zhang')), ...fines] };
    const snap = msg('snapshot', 5, body, store);
    const held = () => db.prepare("SELECT COUNT(*) FROM entries WHERE origin = 'ledger'").pluck().get() as number;
    // Slices of 8 rows: the last award and two fines in the third, the rest after it. The store stops there.
    let stopping: InboundStream | undefined = new InboundStream({
      db: () => db, address: { village, store }, keys: () => keys, rules: { creditFloor: 0 }, clock: () => new Date(at), skewMs: 60_000,
      refusals, onResyncWanted: () => { resyncs++; }, snapshotPending: () => pending, later: (o) => later.push(o),
      slices: { rows: 8, ms: Number.POSITIVE_INFINITY, turn: async () => { await new Promise<void>((r) => setImmediate(r)); if (held() > 20) stopping?.stop(); } },
    });
    stopping.receive(snap, 'snapshot');
    await stopping.idle();
    stopping = undefined;
    expect(held()).toBeGreaterThan(20);
    expect(held()).toBeLessThan(30);
    expect(getVillager(db, 'zhang')).toMatchObject({ debt: 6 });
    inbound = make(); // the store started again; the snapshot asked again, twice
    for (let i = 0; i < 2; i++) {
      inbound.receive(snap, 'snapshot');
      await inbound.idle();
    }
    // 200 - 10 earned, 6 of it repaying the debt: as the ledger's balance once it has the repayment.
    expect(getVillager(db, 'zhang')).toMatchObject({ balance: 184, debt: 0 });
    expect(db.prepare("SELECT COUNT(*) FROM entries WHERE reference LIKE 'debt:%'").pluck().get()).toBe(1);
    expect(findBalanceMismatches(db)).toEqual([]);
  });

  it('a small snapshot (one slice) is applied at once, as before: its outcome from `receive`, nothing later', () => {
    const small: SnapshotBody = { villagers: [{ id: 'zhang', name: '张三', village, status: 'active' }], entries: [award(1, 'zhang'), award(2, 'zhang')] };
    expect(kinds(inbound.receive(msg('snapshot', 2, small, store), 'snapshot'))).toEqual(['snapshot 2']);
    expect(inbound.applyingSnapshot).toBe(false);
    expect(inboundSeq(db)).toBe(2);
    expect(later).toEqual([]);
  });
});
