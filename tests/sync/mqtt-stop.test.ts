/**
 * SyncMqtt.stop on a link gone quiet (the village's line down with no FIN, the TCP connection
 * half-open): the last publication (the store's retained `offline`) gets no PUBACK, and stop must
 * still finish within `stopWaitMs`, closing the connection by force, so the daemon's stop reaches
 * the parts after sync. The broker publishes the client's last will (the same `offline`) instead.
 */
import net from 'node:net';
import { afterAll, describe, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { startBroker, uid, waitFor, type Broker } from '../../harness/sync/rig.ts';

let broker: Broker | undefined;
afterAll(async () => {
  await broker?.close();
});

describe('SyncMqtt.stop', () => {
  it('finishes when the final publication is never acknowledged, and closes the connection', async () => {
    broker = await startBroker();
    const target = new URL(broker.url);
    let frozen = false;
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((down) => {
      const up = net.connect(Number(target.port), target.hostname);
      sockets.add(down);
      down.on('data', (d) => { if (!frozen) up.write(d); });
      up.on('data', (d) => { if (!frozen) down.write(d); });
      for (const s of [down, up]) s.on('error', () => undefined);
      down.on('close', () => { sockets.delete(down); up.destroy(); });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const clientId = uid('stop-');
    const status = `vps/v1/${uid('stopv')}/store/s1/status`;
    broker.leaves(clientId, [status]);
    const m = new SyncMqtt({ url: `mqtt://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, clientId, persistentSession: true, will: { topic: status, payload: 'offline' }, stopWaitMs: 300 });
    const up = new Promise<void>((r) => m.once('connect', () => r()));
    m.start([]);
    await up;
    frozen = true; // nothing passes any more, and no side closes
    await m.stop({ topic: status, payload: 'offline', retain: true });
    await waitFor('the connection closed', () => sockets.size === 0);
    proxy.close();
  }, 30_000);
});
