/**
 * The rig's aedes can refuse chosen clients, as a village whose line is down (bench:sync
 * --offline): each of their attempts is closed unanswered, any other client connects, and
 * once the refusal is lifted they connect on their own next attempt. A broker at MQTT_URL
 * cannot be told, and says so.
 */
import { describe, expect, it } from 'vitest';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { brokerKind, publisher, startBroker, uid, waitFor } from '../../harness/sync/rig.ts';

describe(`a broker that refuses chosen clients (${brokerKind})`, () => {
  it(brokerKind === 'aedes' ? 'refuses them until told otherwise, and no one else' : 'is aedes only, and says so', async () => {
    const broker = await startBroker();
    try {
      const id = uid('offline-');
      if (brokerKind !== 'aedes') {
        expect(() => broker.refuse([id])).toThrow(/aedes only/);
        return;
      }
      broker.refuse([id]);
      const m = new SyncMqtt({ url: broker.url, clientId: id, persistentSession: false, reconnectMs: 20 });
      let connects = 0;
      let closes = 0;
      m.on('connect', () => connects++);
      m.on('disconnect', () => closes++);
      m.start([]);
      await waitFor('three refused attempts', () => closes >= 3);
      expect(connects).toBe(0);
      // Anyone else gets in meanwhile.
      const other = await publisher({ broker });
      expect(other.connected).toBe(true);
      await other.stop();
      broker.refuse([]);
      await waitFor('the connection once let in', () => connects === 1);
      expect(m.connected).toBe(true);
      await m.stop();
    } finally {
      await broker.close();
    }
  });
});
