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
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { storeTopic, villageEventsTopic } from '../../cloud-sync/protocol/topics.ts';
import { AskedRequests } from '../../cloud-sync/agent/asked.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
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

describe('AskedRequests', () => {
  it('matches answers to requests oldest first, and forgets a request unanswered past its horizon', () => {
    const a = new AskedRequests(1000);
    expect(a.owed(0)).toBe(false);
    a.add(0);
    a.add(200);
    a.answered(300);
    expect(a.owed(300)).toBe(true);
    a.answered(400);
    expect(a.owed(400)).toBe(false);
    // An answer nobody asked for changes nothing.
    a.answered(500);
    expect(a.size).toBe(0);
    // One the ledger dropped: owed until the horizon, then not.
    a.add(1000);
    expect(a.owed(1999)).toBe(true);
    expect(a.owed(2000)).toBe(false);
  });
});

describe(`two answers to a store's two requests, the later one older (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
    // Nobody answers but the test: it sends the answers a slow ledger would, in the order that
    // used to be refused.
    await rig.stopLedger();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('the second answer, older than what the first brought, is an overlap; a copy beyond the requests is a replay', async () => {
    let now = Date.parse('2026-12-01T08:00:00.000Z');
    const clock = () => new Date(now);
    const name = uid('s');
    const address = { village: rig.village, store: name };
    const ledgerKey = privateEd25519('ledger-1', rig.ledgerKey.privatePem);
    const zhangHere = { ...zhang, village: rig.village };
    const sign = (kind: EnvelopeKind, seq: number, body: unknown, forStore?: string): Buffer => Buffer.from(JSON.stringify(signEnvelope({
      v: 1, id: `${kind}-${seq}-${uid('')}`, kind, village: rig.village, ...(forStore ? { store: forStore } : {}), seq,
      issued_at: new Date(now).toISOString(), expires_at: new Date(now + 3_600_000).toISOString(), body,
    }, ledgerKey)));

    let asks = 0;
    const watch = new SyncMqtt({ url: rig.broker.url, clientId: uid('watch-'), persistentSession: false });
    const watching = new Promise<void>((resolve) => watch.once('connect', () => resolve()));
    watch.on('message', () => asks++);
    watch.start([storeTopic(address, 'up/snapshot-request')]);
    await watching;

    const s = await rig.addStore(name, {}, clock);
    await waitFor('the first request (a new store)', () => asks === 1);
    // No answer within retransmit_ms: the store asks again; time then stands still, so it asks no more.
    now += 200;
    await waitFor('the second request', () => asks === 2);

    const m = await publisher(rig);
    // The answer to the second request arrives first and brings the store to seq 2.
    await m.publish(storeTopic(address, 'down/snapshot'), sign('snapshot', 2, { villagers: [zhangHere], entries: [{ ...award(2), created_at: new Date(now).toISOString() }] }, name));
    await waitFor('the first answer applied', () => inboundSeq(s.db) === 2);
    // Then the answer to the first request, built earlier (at seq 1), and a stream event to know it was handled.
    await m.publish(storeTopic(address, 'down/snapshot'), sign('snapshot', 1, { villagers: [zhangHere], entries: [] }, name));
    await m.publish(villageEventsTopic(rig.village), sign('entry', 3, { ...award(3), created_at: new Date(now).toISOString() }));
    await waitFor('the next event applied', () => inboundSeq(s.db) === 3);
    expect(s.agent.refusals.total()).toBe(0);
    expect(getVillager(s.db, 'zhang')?.balance).toBe(20);

    // Both requests are answered: the same old snapshot again is a replay, and changes nothing.
    await m.publish(storeTopic(address, 'down/snapshot'), sign('snapshot', 1, { villagers: [zhangHere], entries: [] }, name));
    await m.publish(villageEventsTopic(rig.village), sign('entry', 4, { ...award(4), created_at: new Date(now).toISOString() }));
    await waitFor('the event after it applied', () => inboundSeq(s.db) === 4);
    expect(s.agent.refusals.get('replayed')).toBe(1);
    expect(s.agent.refusals.total()).toBe(1);
    expect(getVillager(s.db, 'zhang')?.balance).toBe(30);
    await m.stop();
    await watch.stop();
  });
});
