/**
 * The test rig leaves nothing behind on a shared broker: the persistent sessions (clean: false)
 * and retained topics of a run are discarded at its end (harness/sync/rig.ts, discardSessions),
 * so repeated CI runs on one Mosquitto do not pile up messages queued for clients that never
 * return. Runs on aedes, and on the broker at MQTT_URL.
 */
import { describe, expect, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { brokerKind, brokerRestartable, discardSessions, publisher, startBroker, uid, waitFor } from '../../harness/sync/rig.ts';
import { Uplink } from '../../harness/sync/uplink.ts';

/** Connects under `clientId` (resuming its session, if the broker kept one) and collects what arrives on `topic`. */
async function listen(url: string, clientId: string, topic: string, persistentSession: boolean): Promise<{ got: string[]; stop: () => Promise<void> }> {
  const got: string[] = [];
  const m = new SyncMqtt({ url, clientId, persistentSession, reconnectMs: 100 });
  m.on('message', (_t, p) => got.push(p.toString()));
  const up = new Promise<void>((resolve) => m.once('connect', () => resolve()));
  m.start([topic]);
  await up;
  return { got, stop: () => m.stop() };
}

describe(`sessions and retained topics of a run are discarded (${brokerKind})`, () => {
  it('a kept session still gets what was queued for it; a discarded one does not', async () => {
    const broker = await startBroker();
    const topic = `test/${uid('q')}`;
    const kept = uid('kept-');
    const dropped = uid('dropped-');
    try {
      for (const id of [kept, dropped]) await (await listen(broker.url, id, topic, true)).stop();
      const p = await publisher({ broker });
      expect(await p.publish(topic, 'queued while away')).toBe(true);
      await discardSessions(broker.url, [dropped]);
      const a = await listen(broker.url, kept, topic, true);
      const b = await listen(broker.url, dropped, topic, true);
      // Whatever a session kept arrives before a message published after the reconnect.
      expect(await p.publish(topic, 'after')).toBe(true);
      await waitFor('both back and receiving', () => a.got.includes('after') && b.got.includes('after'));
      expect(a.got).toEqual(['queued while away', 'after']);
      expect(b.got).toEqual(['after']);
      await Promise.all([a.stop(), b.stop(), p.stop()]);
    } finally {
      await discardSessions(broker.url, [kept, dropped]);
      await broker.close();
    }
  });

  it('the broker\'s close discards the sessions and retained topics named by `leaves`', async () => {
    const broker = await startBroker();
    const topic = `test/${uid('status')}`;
    const id = uid('left-');
    broker.leaves(id, [topic]);
    await (await listen(broker.url, id, topic, true)).stop();
    const p = await publisher({ broker });
    expect(await p.publish(topic, 'online', { retain: true })).toBe(true);
    await p.stop();
    if (!brokerRestartable) {
      await broker.close(); // the shared broker (MQTT_URL) stays up: look at what it kept
      const again = await listen(broker.url, id, topic, true);
      const q = await publisher({ broker });
      expect(await q.publish(topic, 'after')).toBe(true);
      await waitFor('the listener receiving', () => again.got.includes('after'));
      // No session resumed (nothing queued), no retained "online" delivered on subscribing.
      expect(again.got).toEqual(['after']);
      await Promise.all([again.stop(), q.stop()]);
      await discardSessions(broker.url, [id], [topic]);
    } else {
      // aedes (or a Mosquitto of the rig's own, MQTT_SPAWN) goes away with its sessions; what
      // matters is that close discards without failing.
      await expect(broker.close()).resolves.toBeUndefined();
    }
  });

  it('freshSessionAtStart: the first connection discards what an earlier run left queued; from the next connection on the session is kept', async () => {
    const broker = await startBroker();
    const topic = `test/${uid('q')}`;
    const id = uid('store-');
    const target = new URL(broker.url);
    const line = new Uplink({ host: target.hostname, port: Number(target.port) });
    const p = await publisher({ broker });
    let m: SyncMqtt | undefined;
    try {
      // An earlier run of this client id left a session, and a message was queued in it.
      await (await listen(broker.url, id, topic, true)).stop();
      expect(await p.publish(topic, 'for the earlier run')).toBe(true);

      const url = await line.reserve();
      await line.open();
      const got: string[] = [];
      let connects = 0;
      const run = new SyncMqtt({ url, clientId: id, persistentSession: true, freshSessionAtStart: true, reconnectMs: 100 });
      m = run;
      run.on('message', (_t, payload) => got.push(payload.toString()));
      run.on('connect', () => void connects++);
      run.start([topic]);
      await waitFor('connected', () => connects === 1);
      expect(await p.publish(topic, 'first')).toBe(true);
      await waitFor('"first" received', () => got.includes('first'));
      expect(got).toEqual(['first']);

      // The first connection's session ends with it (CleanSession 1): what is published while
      // the line is down is not kept. The connection after it starts the session that is kept.
      await line.close();
      await waitFor('the line down seen', () => !run.connected);
      expect(await p.publish(topic, 'during the first outage')).toBe(true);
      await line.open();
      await waitFor('connected again', () => connects === 2);
      expect(await p.publish(topic, 'second')).toBe(true);
      await waitFor('"second" received', () => got.includes('second'));

      await line.close();
      await waitFor('the line down again seen', () => !run.connected);
      expect(await p.publish(topic, 'during the second outage')).toBe(true);
      await line.open();
      await waitFor('connected a third time', () => connects === 3);
      expect(await p.publish(topic, 'third')).toBe(true);
      await waitFor('"third" received', () => got.includes('third'));
      // QoS 1 is at least once: a message whose PUBACK the cut line lost comes again after the
      // reconnect (CI saw "second" twice). What counts is which messages came, and in what order.
      expect(got.filter((x, i) => got.indexOf(x) === i)).toEqual(['first', 'second', 'during the second outage', 'third']);
    } finally {
      await m?.stop();
      await p.stop();
      await line.close();
      await discardSessions(broker.url, [id]);
      await broker.close();
    }
  });
});
