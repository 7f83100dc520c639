/**
 * Acks and beats carry no time: a copy recorded off the store's topic and published again while
 * the ledger is away must not count as contact, or the store never applies the offline daily
 * limit. Only fresh word counts: a beat answering a heartbeat the store is still waiting for, an
 * ack of a row still pending here. A beat answering a heartbeat already answered is counted as
 * `replayed`. A stream event that waited in the store's broker session while its line was down
 * is old word too: it counts as contact only once a beat has answered since the reconnect.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { countPendingOutbox } from '../../edge/ledger/outbox.ts';
import { lastContact, offlineAllowance } from '../../edge/ledger/sync-state.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { Uplink } from '../../harness/sync/uplink.ts';

const limit = { dailyLimit: 100, offlineAfterS: 2 };

describe(`replayed beats and acks (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig(); });
  afterEach(async () => { await rig.close(); });

  it('an answered beat or an old ack published again while the ledger is gone is no contact', async () => {
    const name = uid('s');
    const address = { village: rig.village, store: name };
    // An eavesdropper on the store's down branch keeps the last answering beat and the first ack.
    const spy = new SyncMqtt({ url: rig.broker.url, clientId: uid('spy-'), persistentSession: false });
    let beat: Buffer | undefined;
    let ack: Buffer | undefined;
    spy.on('message', (topic, payload) => {
      if (topic === storeTopic(address, 'down/beat') && (JSON.parse(payload.toString()) as { answers?: string }).answers !== undefined) beat = Buffer.from(payload);
      if (topic === storeTopic(address, 'down/ack')) ack ??= Buffer.from(payload);
    });
    const up = new Promise<void>((r) => spy.once('connect', () => r()));
    spy.start([storeTopic(address, 'down/beat'), storeTopic(address, 'down/ack')]);
    await up;

    const a = await rig.addStore(name, { offline_after_s: limit.offlineAfterS });
    await waitFor('connected', () => a.agent.state().connected);
    await rig.ledger.putVillager({ id: 'wang', name: '王五', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 500, created_at: new Date().toISOString() });
    await waitFor('award at the store', () => getVillager(a.db, 'wang')?.balance === 500);
    applyEntry(a.db, { id: 'r-1', villagerId: 'wang', kind: 'redemption', points: -10, origin: 'store' }, { creditFloor: 0 });
    a.agent.kick();
    await waitFor('the row acknowledged, an ack and an answering beat recorded', () => countPendingOutbox(a.db) === 0 && ack !== undefined && beat !== undefined);
    // While the ledger was there, its beats kept the store in reach.
    expect(offlineAllowance(a.db, 'wang', limit, new Date())).toBe(Number.POSITIVE_INFINITY);

    await rig.stopLedger();
    await waitFor('offline: the limit applies', () => offlineAllowance(a.db, 'wang', limit, new Date()) === 100);
    const contact = lastContact(a.db);

    const m = await publisher(rig);
    // The ack first, then the beat: the beat's refusal (counted) says both were handled.
    await m.publish(storeTopic(address, 'down/ack'), ack!);
    await m.publish(storeTopic(address, 'down/beat'), beat!);
    await waitFor('the replayed beat refused', () => (a.agent.state().refused.replayed ?? 0) >= 1, 5_000);
    expect(lastContact(a.db)).toBe(contact);
    expect(offlineAllowance(a.db, 'wang', limit, new Date())).toBe(100);
    await m.stop();
    await spy.stop();
  }, 60_000);

  it('a stream event that waited in the broker session while the line was down is no contact', async () => {
    const u = new URL(rig.broker.url);
    const line = new Uplink({ host: u.hostname, port: Number(u.port) });
    try {
      const url = await line.reserve();
      await line.open();
      let aheadMs = 0; // the time that passes at the store while the ledger is gone
      const clock = () => new Date(Date.now() + aheadMs);
      const s = await rig.addStore(uid('s'), { offline_after_s: limit.offlineAfterS, broker_url: url }, clock);
      const witness = await rig.addStore();
      await waitFor('connected', () => s.agent.state().connected && witness.agent.state().connected);
      await rig.ledger.putVillager({ id: 'wang', name: '王五', village: rig.village, status: 'active' });
      await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 500, created_at: new Date().toISOString() });
      await waitFor('award at the store', () => getVillager(s.db, 'wang')?.balance === 500);
      // A first cut: the agent starts on a clean session, which persists from its reconnect on.
      await line.close();
      await waitFor('disconnected', () => !s.agent.state().connected);
      const back = Date.now();
      await line.open();
      await waitFor('back, and a beat answered since', () => s.agent.state().connected && Date.parse(lastContact(s.db) ?? '') >= back, 10_000);

      // The line goes down; the ledger publishes one more award, queued in the store's session, and goes away.
      await line.close();
      await waitFor('disconnected again', () => !s.agent.state().connected);
      await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 5, created_at: new Date().toISOString() });
      await waitFor('the award through the broker', () => getVillager(witness.db, 'wang')?.balance === 505);
      await rig.stopLedger();
      aheadMs = 2 * limit.offlineAfterS * 1000;
      expect(offlineAllowance(s.db, 'wang', limit, clock())).toBe(100);

      // The line comes back: the queued award is applied, yet the ledger has been silent too long.
      await line.open();
      await waitFor('the queued award applied', () => getVillager(s.db, 'wang')?.balance === 505, 15_000);
      expect(offlineAllowance(s.db, 'wang', limit, clock())).toBe(100);
    } finally {
      await line.close();
    }
  }, 60_000);
});
