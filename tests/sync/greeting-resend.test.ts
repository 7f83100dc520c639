/**
 * A broker that loses every session (an aedes restarted, a Mosquitto without persistence) loses
 * the rows it had taken from a store and queued for the ledger. The store learns it from the
 * ledger's greeting when the ledger comes back (its connection found no session either), and
 * sends them again at once, ahead of the heartbeat whose beat would otherwise be what shows them
 * missing (one round trip through the ledger's queue later). The broker's loss is made here by
 * discarding both sessions, so the case runs on every broker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { storeClientId } from '../../cloud-sync/agent/identity.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { countPendingOutbox } from '../../edge/ledger/outbox.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { brokerKind, discardSessions, ledgerDbKind, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';

describe(`rows lost with the broker's sessions (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  let spy: SyncMqtt | undefined;
  afterEach(async () => {
    await spy?.stop();
    await rig?.close();
    rig = undefined;
    spy = undefined;
  });

  it('go again on the ledger\'s greeting, and are acknowledged before the beat answering the store\'s next heartbeat', async () => {
    rig = await startRig();
    const r = rig;
    const name = uid('s');
    const address = { village: r.village, store: name };
    // What the ledger sends the store, in order; and the store's heartbeats.
    const seen: string[] = [];
    let heartbeats = 0;
    spy = new SyncMqtt({ url: r.broker.url, clientId: uid('spy-'), persistentSession: false });
    spy.on('message', (topic, payload) => {
      if (topic === storeTopic(address, 'heartbeat')) heartbeats++;
      else if (topic === storeTopic(address, 'down/ack')) seen.push('ack');
      else seen.push((JSON.parse(payload.toString()) as { answers?: string }).answers === undefined ? 'greeting' : 'answer');
    });
    const up = new Promise<void>((resolve) => spy!.once('connect', () => resolve()));
    spy.start([storeTopic(address, 'down/ack'), storeTopic(address, 'down/beat'), storeTopic(address, 'heartbeat')]);
    await up;

    // No timer resends anything within the test: only a beat or a greeting can.
    const a = await r.addStore(name, { heartbeat_s: 3600, retransmit_ms: 600_000, retransmit_max_ms: 600_000 });
    await waitFor('the store online', () => a.agent.state().connected);
    await r.ledger.putVillager({ id: 'wang', name: '王五', village: r.village, status: 'active' });
    await r.ledger.award(r.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 500, created_at: new Date().toISOString() });
    await waitFor('the award at the store, and a beat seen', () => getVillager(a.db, 'wang')?.balance === 500 && seen.includes('answer'));

    // The ledger goes away; two sales go out, and the broker takes them (queued for the ledger).
    await r.stopLedger();
    applyEntry(a.db, { id: 'r-1', villagerId: 'wang', kind: 'redemption', points: -10, origin: 'store' }, { creditFloor: 0 });
    applyEntry(a.db, { id: 'r-2', villagerId: 'wang', kind: 'redemption', points: -20, origin: 'store' }, { creditFloor: 0 });
    a.agent.kick();
    await waitFor('the broker took both rows', () => a.agent.counters.sent >= 2);

    // The broker loses both sessions, the rows queued for the ledger with them; the store is
    // dropped and comes back to no session, and says so in a heartbeat that reaches nobody.
    const before = heartbeats;
    await discardSessions(r.broker.url, [r.ledgerClientId, storeClientId(address)]);
    await waitFor('the store back, its heartbeat sent', () => heartbeats > before && a.agent.state().connected);
    expect(countPendingOutbox(a.db)).toBe(2);

    // The ledger comes back to a new session and greets the store.
    seen.length = 0;
    r.startLedger();
    await waitFor('both rows acknowledged', () => countPendingOutbox(a.db) === 0);
    await waitFor('the beat answering the heartbeat sent on the greeting', () => seen.includes('answer'));
    expect(seen.indexOf('greeting')).toBe(0);
    expect(seen.indexOf('ack')).toBeGreaterThan(0);
    expect(seen.indexOf('ack')).toBeLessThan(seen.indexOf('answer'));
    expect(a.agent.counters.sent).toBe(4); // each row sent twice, no more
  }, 60_000);
});
