import { afterEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { markOutboxAckedSeqs, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { inboundSeq } from '../../edge/ledger/sync-state.ts';
import { addLedgerEntry, balanceOf, listStores, villageSeq } from '../../cloud-sync/ledger/tables.ts';
import { planDeltas } from '../../cloud-sync/ledger/catchup.ts';
import { privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { LedgerService } from '../../cloud-sync/ledger/service.ts';
import { silentLogger } from '../../edge/log.ts';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import type { SnapshotRequest } from '../../cloud-sync/protocol/payloads.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';

const at = () => new Date().toISOString();

describe(`catching up: deltas, snapshots, heartbeats (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  /** A store level with an award of 10 to zhang. */
  async function levelStore(r: Rig): Promise<TestStore> {
    // A slow re-ask: a second snapshot request, sent while the first answer is on its way (a
    // loaded broker and database), would be answered after a test took its `before` counters.
    const s = await r.addStore(undefined, { retransmit_ms: 10_000, retransmit_max_ms: 20_000 });
    await waitFor('the store online', () => s.agent.state().connected);
    // A new store asks for a snapshot; its answer must not be what brings the store level later.
    await waitFor('the new store answered', () => r.ledger.counters.snapshots >= 1);
    await r.ledger.putVillager({ id: 'zhang', name: '张三', village: r.village, status: 'active' });
    await r.ledger.award(r.village, { id: 'aw-0', villager: 'zhang', kind: 'award', points: 10, created_at: at() });
    await waitFor('the store level', async () => inboundSeq(s.db) === (await villageSeq(r.ledgerDb, r.village)) && getVillager(s.db, 'zhang')?.balance === 10);
    // And the ledger has read a heartbeat saying so. A heartbeat the store sent before the award
    // reached it, read by a loaded ledger after the award, shows the store at seq 0; with
    // behindAfterMs 0 that is "behind" and a store at 0 is sent a snapshot, after a test took
    // its `before` counters. Heartbeats are read in order, so a level one ends the race.
    await waitFor('the ledger has read a level heartbeat', async () => {
      const v = (await listStores(r.ledgerDb, r.village)).find((x) => x.id === s.id);
      return v?.inboundSeq === (await villageSeq(r.ledgerDb, r.village)) && v.behindSince === null;
    });
    return s;
  }

  /** Awards recorded on the stream but never delivered: what a broker that lost the stream's tail leaves. */
  async function lostAwards(r: Rig, points: number[]): Promise<void> {
    const signer = { key: privateEd25519('ledger-1', r.ledgerKey.privatePem), lifetimeMs: 86_400_000 };
    for (const [i, p] of points.entries()) {
      const { event } = await addLedgerEntry(r.ledgerDb, r.village, { id: `lost-${i}`, villager: 'zhang', kind: 'award', points: p, created_at: at() }, signer, new Date());
      expect(event).toBeDefined();
    }
  }

  it('a reconnecting store a few events behind gets only the events after its seq (deltas), not a snapshot', async () => {
    rig = await startRig();
    const s = await levelStore(rig);
    await lostAwards(rig, [1, 2, 3]);
    const before = { ...rig.ledger.counters };
    await s.stop();
    await s.restart();
    await waitFor('the store level again', () => getVillager(s.db, 'zhang')?.balance === 16);
    expect(inboundSeq(s.db)).toBe(await villageSeq(rig.ledgerDb, rig.village));
    expect(rig.ledger.counters.deltas).toBeGreaterThan(before.deltas);
    expect(rig.ledger.counters.snapshots).toBe(before.snapshots);
    expect(s.agent.refusals.total()).toBe(0);
  });

  it('a level store that reconnects asks for nothing: the beat answering its heartbeat shows it level', async () => {
    rig = await startRig();
    const s = await levelStore(rig);
    const before = { ...rig.ledger.counters };
    await s.stop();
    await s.restart();
    // retransmit_ms is 10 s here: only a beat can have settled it this soon.
    await waitFor('a beat has checked the stream since the reconnect', () => s.agent.counters.checked === 1);
    expect(s.agent.counters.asked).toBe(0);
    await rig.ledger.idle();
    expect(rig.ledger.counters.deltas).toBe(before.deltas);
    expect(rig.ledger.counters.snapshots).toBe(before.snapshots);
  });

  it(`a level store asks for nothing at each reconnect${brokerKind === 'aedes' ? ' (the broker restarted 3 times)' : ' (the store restarted 3 times: this broker cannot be restarted)'}`, async () => {
    rig = await startRig();
    const s = await levelStore(rig);
    const before = { ...rig.ledger.counters };
    // Its first request (a new store) is not a reconnect's.
    let asked = -s.agent.counters.asked;
    for (let i = 1; i <= 3; i++) {
      if (brokerKind === 'aedes') {
        await rig.broker.stop();
        await rig.broker.start();
      } else {
        asked += s.agent.counters.asked;
        await s.stop();
        await s.restart();
      }
      const checks = brokerKind === 'aedes' ? i : 1;
      await waitFor(`reconnect ${i} checked by a beat`, () => s.agent.counters.checked === checks);
    }
    asked += s.agent.counters.asked;
    expect(asked).toBe(0);
    await rig.ledger.idle();
    expect(rig.ledger.counters.deltas).toBe(before.deltas);
    expect(rig.ledger.counters.snapshots).toBe(before.snapshots);
  });

  it('the stream\'s tail lost while the store was away is caught by the first beat after the reconnect', async () => {
    // The ledger never heals it, no second heartbeat comes and no timer asks within the test:
    // only the beat answering the heartbeat sent on reconnecting can reveal the gap.
    rig = await startRig({ ledger: { behindAfterMs: 3_600_000 } });
    const s = await rig.addStore(undefined, { heartbeat_s: 3600, retransmit_ms: 60_000, retransmit_max_ms: 120_000 });
    await waitFor('the new store answered', () => rig!.ledger.counters.snapshots >= 1);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-0', villager: 'zhang', kind: 'award', points: 10, created_at: at() });
    await waitFor('the store level', async () => inboundSeq(s.db) === (await villageSeq(rig!.ledgerDb, rig!.village)) && getVillager(s.db, 'zhang')?.balance === 10);
    await s.stop();
    await lostAwards(rig, [1, 2, 3]);
    const before = { ...rig.ledger.counters };
    await s.restart();
    await waitFor('the store level again', () => getVillager(s.db, 'zhang')?.balance === 16);
    expect(inboundSeq(s.db)).toBe(await villageSeq(rig.ledgerDb, rig.village));
    expect(s.agent.counters).toMatchObject({ checked: 1, asked: 1 });
    expect(rig.ledger.counters.deltas).toBe(before.deltas + 1);
    expect(rig.ledger.counters.snapshots).toBe(before.snapshots);
    expect(rig.ledger.counters.behind).toBe(before.behind);
  });

  it('with no beat within retransmit_ms of a reconnect (the ledger away), the store asks all the same', async () => {
    rig = await startRig();
    const s = await rig.addStore(undefined, { heartbeat_s: 3600 });
    await waitFor('the new store answered', () => rig!.ledger.counters.snapshots >= 1);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await waitFor('the store has the villager', () => inboundSeq(s.db) >= 1);
    const requests: SnapshotRequest[] = [];
    const watch = new SyncMqtt({ url: rig.broker.url, clientId: uid('watch-'), persistentSession: false });
    const watching = new Promise<void>((resolve) => watch.once('connect', () => resolve()));
    watch.on('message', (_t, payload) => requests.push(JSON.parse(payload.toString()) as SnapshotRequest));
    watch.start([storeTopic({ village: rig.village, store: s.id }, 'up/snapshot-request')]);
    await watching;
    await rig.ledger.stop();
    await s.stop();
    await s.restart();
    try {
      await waitFor('a request after retransmit_ms', () => requests.length >= 1);
      expect(requests[0]).toEqual({ from_seq: inboundSeq(s.db), reason: 'gap', accepts: ['catalogue', 'parts'] });
      expect(s.agent.counters.checked).toBe(0);
    } finally {
      await watch.stop();
    }
  });

  it('an unsigned empty down/deltas does not end a store\'s wait: it asks on until a verified answer (a snapshot, or a signed beat) says it is level', async () => {
    rig = await startRig();
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.stopLedger();
    const requests: SnapshotRequest[] = [];
    const watch = new SyncMqtt({ url: rig.broker.url, clientId: uid('watch-'), persistentSession: false });
    const watching = new Promise<void>((resolve) => watch.once('connect', () => resolve()));
    const forger = await publisher(rig);
    try {
      const name = uid('s');
      watch.on('message', (_t, payload) => requests.push(JSON.parse(payload.toString()) as SnapshotRequest));
      watch.start([storeTopic({ village: rig.village, store: name }, 'up/snapshot-request')]);
      await watching;
      // a new store asks for the village, every retransmit_ms (200) while no answer comes
      const s = await rig.addStore(name);
      await waitFor('the new store asks', () => requests.length >= 1);
      // someone on the broker answers in the ledger's place: "nothing after 0, you are level"
      await forger.publish(storeTopic({ village: rig.village, store: name }, 'down/deltas'), JSON.stringify({ from_seq: 0, to_seq: 0, events: [] }));
      const after = requests.length;
      await waitFor('the store asks on', () => requests.length >= after + 3);
      rig.startLedger();
      await waitFor('the store level with the village', async () => inboundSeq(s.db) === (await villageSeq(rig!.ledgerDb, rig!.village)) && getVillager(s.db, 'zhang') !== undefined);
    } finally {
      await forger.stop();
      await watch.stop();
    }
  });

  it('a store further behind than the deltas bound gets a snapshot', async () => {
    rig = await startRig({ ledger: { maxDeltas: 2 } });
    const s = await levelStore(rig);
    await lostAwards(rig, [1, 2, 3]);
    const before = { ...rig.ledger.counters };
    await s.stop();
    await s.restart();
    await waitFor('the store level again', () => getVillager(s.db, 'zhang')?.balance === 16);
    expect(rig.ledger.counters.snapshots).toBeGreaterThan(before.snapshots);
    expect(rig.ledger.counters.deltas).toBe(before.deltas);
  });

  it('deltas are planned only while every event is there and still valid; a new store or one ahead of the ledger gets none', async () => {
    rig = await startRig();
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await lostAwards(rig, [1, 2]);
    const seq = await villageSeq(rig.ledgerDb, rig.village);
    const limits = { maxEvents: 10, maxBytes: 1024 * 1024, validForMs: 60_000 };
    const plan = await planDeltas(rig.ledgerDb, rig.village, 1, new Date(), limits);
    expect(plan?.toSeq).toBe(seq);
    expect(plan?.payloads.map((p) => (JSON.parse(p) as { events: { seq: number }[] }).events.map((e) => e.seq)).flat()).toEqual([2, 3]);
    // split across messages when large
    expect((await planDeltas(rig.ledgerDb, rig.village, 1, new Date(), { ...limits, maxBytes: 10 }))?.payloads).toHaveLength(2);
    expect(await planDeltas(rig.ledgerDb, rig.village, seq, new Date(), limits)).toEqual({ toSeq: seq, payloads: [`{"from_seq":${seq},"to_seq":${seq},"events":[]}`] });
    expect(await planDeltas(rig.ledgerDb, rig.village, 0, new Date(), limits)).toBeUndefined();
    expect(await planDeltas(rig.ledgerDb, rig.village, seq + 1, new Date(), limits)).toBeUndefined();
    // the events expire in a day: a store whose clock may be ahead by more cannot take them
    expect(await planDeltas(rig.ledgerDb, rig.village, 1, new Date(Date.now() + 2 * 86_400_000), limits)).toBeUndefined();
  });

  it('the ledger notices from heartbeats a store left behind the stream, shows it, and sends it the stream', async () => {
    rig = await startRig({ ledger: { behindAfterMs: 0 } });
    const s = await levelStore(rig);
    const before = { ...rig.ledger.counters };
    await lostAwards(rig, [5]);
    await waitFor('the store level again', () => getVillager(s.db, 'zhang')?.balance === 15);
    expect(rig.ledger.counters.behind).toBeGreaterThan(before.behind);
    expect(rig.ledger.counters.snapshots).toBe(before.snapshots);
    const view = (await listStores(rig.ledgerDb, rig.village)).find((x) => x.id === s.id)!;
    expect(view.heals).toBeGreaterThanOrEqual(1);
    await waitFor('the heartbeat shows it level', async () => {
      const v = (await listStores(rig!.ledgerDb, rig!.village)).find((x) => x.id === s.id)!;
      return v.inboundSeq === (await villageSeq(rig!.ledgerDb, rig!.village)) && v.behindSince === null;
    });
  });

  it('a store that learns from the heartbeat exchange that it is behind asks for what it missed', async () => {
    rig = await startRig({ ledger: { behindAfterMs: 3_600_000 } });
    const s = await levelStore(rig);
    const before = { ...rig.ledger.counters };
    await lostAwards(rig, [7]);
    await waitFor('the store level again', () => getVillager(s.db, 'zhang')?.balance === 17);
    expect(rig.ledger.counters.deltas).toBeGreaterThan(before.deltas);
    expect(rig.ledger.counters.behind).toBe(before.behind);
  });

  it('rows a ledger acknowledged and then lost (restored from an older backup) are noticed and sent again', async () => {
    rig = await startRig();
    const s = await levelStore(rig);
    await s.stop();
    applyEntry(s.db, { id: 'red-lost', villagerId: 'zhang', kind: 'redemption', points: -4, origin: 'store' }, { creditFloor: 0 });
    markOutboxAckedSeqs(s.db, pendingOutbox(s.db).map((r) => r.seq), at());
    await s.restart();
    await waitFor('the ledger holds the row again', async () => (await balanceOf(rig!.ledgerDb, 'zhang')) === 6);
    // The store sent it again on a beat showing the ledger without it: the answer to its first
    // heartbeat after the restart (the ledger counts that heartbeat as "ahead"), or an answer to
    // one sent before the stop that the broker kept for the store's session and delivered on the
    // restart (then the row is in before the ledger reads a heartbeat, and "ahead" stays 0).
    expect(s.agent.counters.resent).toBeGreaterThanOrEqual(1);
    await waitFor('the ledger holds every row of the store', async () => (await listStores(rig!.ledgerDb, rig!.village)).find((x) => x.id === s.id)!.contiguousSeq >= Math.max(0, ...pendingOutbox(s.db).map((r) => r.seq)));
  });

  it('rows sent while the ledger was away (its session gone) go again when it greets the store, without waiting for silence', async () => {
    rig = await startRig();
    const s = await rig.addStore(undefined, { heartbeat_s: 3600 });
    await waitFor('the store online', () => s.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-0', villager: 'zhang', kind: 'award', points: 10, created_at: at() });
    await waitFor('the award at the store', () => getVillager(s.db, 'zhang')?.balance === 10);
    await rig.ledger.stop();
    const sentBefore = s.agent.counters.sent;
    applyEntry(s.db, { id: 'red-away', villagerId: 'zhang', kind: 'redemption', points: -3, origin: 'store' }, { creditFloor: 0 });
    await waitFor('the row sent to the broker', () => s.agent.counters.sent > sentBefore);
    // A ledger with a new session: what the broker queued for the old one never reaches it.
    const freshId = uid('ledger-');
    rig.broker.leaves(freshId);
    const fresh = new LedgerService({
      db: rig.ledgerDb, key: privateEd25519('ledger-1', rig.ledgerKey.privatePem), log: silentLogger(),
      mqtt: { url: rig.broker.url, clientId: freshId, reconnectMs: 100 },
    });
    fresh.start();
    try {
      await waitFor('the row at the new ledger', async () => (await balanceOf(rig!.ledgerDb, 'zhang')) === 7);
      await waitFor('the store drained', () => pendingOutbox(s.db).length === 0);
    } finally {
      await fresh.stop();
    }
  });
});
