/**
 * The test rig leaves nothing behind on a shared broker: the persistent sessions (clean: false)
 * and retained topics of a run are discarded at its end (harness/sync/rig.ts, discardSessions),
 * so repeated CI runs on one Mosquitto do not pile up messages queued for clients that never
 * return. Runs on aedes, and on the broker at MQTT_URL.
 */
import { describe, expect, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { brokerKind, discardSessions, publisher, startBroker, uid, waitFor } from '../../harness/sync/rig.ts';

/** Connects under `clientId` (resuming its session, if the broker kept one) and collects what arrives on `topic`. */
async function listen(url: string, clientId: string, topic: string, persistentSession: boolean): Promise<{ got: string[]; stop: () => Promise<void> }> {
  const got: string[] = [];
  const m = new SyncMqtt({ url, clientId, persistentSession, reconnectMs: 100 });
  m.on('message', (_t, p) => got.push(p.toString()));
  const up = new Promise<void>((resolve) => m.once('connect', resolve));
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
    if (brokerKind === 'mosquitto') {
      await broker.close(); // the shared broker stays up: look at what it kept
      const again = await listen(broker.url, id, topic, true);
      const q = await publisher({ broker });
      expect(await q.publish(topic, 'after')).toBe(true);
      await waitFor('the listener receiving', () => again.got.includes('after'));
      // No session resumed (nothing queued), no retained "online" delivered on subscribing.
      expect(again.got).toEqual(['after']);
      await Promise.all([again.stop(), q.stop()]);
      await discardSessions(broker.url, [id], [topic]);
    } else {
      // aedes goes away with its sessions; what matters is that close discards without failing.
      await expect(broker.close()).resolves.toBeUndefined();
    }
  });
});
