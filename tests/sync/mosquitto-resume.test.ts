/**
 * A session the broker resumes (sessionPresent) may lack the client's subscriptions: the
 * connection that created it dropped after the CONNACK and before the broker took the
 * SUBSCRIBE (a broker restarted at that moment saves the session without them). Such a session
 * delivers nothing, forever, unless the client subscribes again. bench:sync on a Mosquitto it
 * restarts five times (MQTT_SPAWN=mosquitto) left 6-40 of 50 stores so: their rows applied at the
 * ledger, never acknowledged, sent again at every backoff. The client now subscribes at every
 * connection (cloud-sync/mqtt.ts). Runs on every CI run against a Mosquitto of its own (the
 * Debian package's binary is on the machine), through a line that can lose one SUBSCRIBE.
 *
 * The message comes from the store itself, after it is back: its SUBSCRIBE goes out ahead of
 * anything it then publishes on the same connection, so the broker has the subscription first,
 * as the ledger's answer to a store's rows finds it. A second client publishing at the CONNACK
 * raced the SUBSCRIBE (which crosses the line here, one hop more) and sometimes reached the
 * broker first, with nobody subscribed yet: the message went nowhere (CI, stop 34, once).
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { spawnMosquitto } from '../../harness/sync/mosquitto.ts';
import { uid, waitFor } from '../../harness/sync/rig.ts';

describe('a resumed session', () => {
  it('delivers to a store-like client whose earlier connection dropped between its CONNACK and its SUBSCRIBE', async () => {
    const broker = await spawnMosquitto();
    const target = new URL(broker.url);
    // Between the store and the broker: passes every byte, except that while `dropSubscribe` is
    // set, a SUBSCRIBE from the store ends its connection instead of reaching the broker.
    let dropSubscribe = false;
    const lines = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const up = net.connect(Number(target.port), target.hostname);
      lines.add(client).add(up);
      const end = () => { client.destroy(); up.destroy(); };
      client.on('data', (chunk: Buffer) => {
        if (dropSubscribe && chunk[0] === 0x82) {
          dropSubscribe = false;
          end();
        } else up.write(chunk);
      });
      up.on('data', (chunk: Buffer) => client.write(chunk));
      client.on('close', end).on('error', end);
      up.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const url = `mqtt://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const topic = `test/${uid('q')}`;
    const sub = new SyncMqtt({ url, clientId: uid('store-'), persistentSession: true, freshSessionAtStart: true, reconnectMs: 50 });
    const resumed: boolean[] = [];
    const got: string[] = [];
    sub.on('connect', (sessionPresent) => resumed.push(sessionPresent));
    sub.on('message', (_t, p) => got.push(p.toString()));
    try {
      sub.start([topic]);
      await waitFor('the store connected', () => resumed.length === 1);
      // The first session was fresh (clean): dropping the line ends it. The next connection makes
      // the persistent session; its SUBSCRIBE dies with the line, so the broker keeps the session
      // without the subscription and resumes it at the connection after.
      dropSubscribe = true;
      for (const l of lines) l.destroy();
      await waitFor('the store back on the session the broker resumed', () => resumed.at(-1) === true);
      expect(await sub.publish(topic, 'after')).toBe(true);
      await waitFor('the message on the resumed session', () => got.includes('after'));
    } finally {
      await sub.stop();
      for (const l of lines) l.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
      await broker.close();
    }
  }, 60_000);
});
