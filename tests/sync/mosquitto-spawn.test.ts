/**
 * The Mosquitto a run spawns for itself (harness/sync/mosquitto.ts, MQTT_SPAWN=mosquitto; what
 * bench:sync restarts when it runs on Mosquitto): a restart keeps what a broker keeps across a
 * restart by its service manager, a persistent session and the QoS 1 message queued for it.
 * Runs on every CI run: the Debian package's binary is on the machine (Mosquitto serves MQTT_URL).
 */
import { describe, expect, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { spawnMosquitto } from '../../harness/sync/mosquitto.ts';
import { uid, waitFor } from '../../harness/sync/rig.ts';

describe('a spawned Mosquitto', () => {
  it('restarts on its port with the sessions and queued messages it saved', async () => {
    const broker = await spawnMosquitto();
    const topic = `test/${uid('q')}`;
    const got: string[] = [];
    const kept = uid('kept-');
    const sub = new SyncMqtt({ url: broker.url, clientId: kept, persistentSession: true, reconnectMs: 200 });
    const pub = new SyncMqtt({ url: broker.url, clientId: uid('pub-'), persistentSession: false, reconnectMs: 200 });
    let subConnects = 0;
    sub.on('connect', () => subConnects++);
    sub.on('message', (_t, p) => got.push(p.toString()));
    try {
      sub.start([topic]);
      pub.start([]);
      await waitFor('both connected', () => subConnects === 1 && pub.connected);
      await broker.stop();
      await waitFor('both see the broker gone', () => !sub.connected && !pub.connected);
      await broker.start();
      await waitFor('both back', () => subConnects === 2 && pub.connected);
      expect(await pub.publish(topic, 'after the restart')).toBe(true);
      await waitFor('the message after the restart', () => got.includes('after the restart'));
      // queued while the subscriber is away, across a second restart
      await sub.stop();
      expect(await pub.publish(topic, 'queued')).toBe(true);
      await broker.stop();
      await broker.start();
      const again = new SyncMqtt({ url: broker.url, clientId: kept, persistentSession: true, reconnectMs: 200 });
      again.on('message', (_t, p) => got.push(p.toString()));
      again.start([topic]);
      try {
        await waitFor('the queued message', () => got.includes('queued'));
      } finally {
        await again.stop();
      }
    } finally {
      await sub.stop();
      await pub.stop();
      await broker.close();
    }
  }, 60_000);
});
