/**
 * bench:sync's broker on a thread of its own: the embedded aedes (or, with MQTT_URL, the
 * broker there, which this thread only remembers what to clean up on). In the town the broker
 * is a process of its own; on the main thread beside the stores, every store-side commit
 * (a SQLite fsync of several milliseconds) held up every message of every other store.
 * Requests: `restart` (drop every connection, listen again on the same port), `leaves` (a
 * session or retained topic to discard at the end), `refuse` (aedes: the stores whose line is
 * down, none when it is back; bench:sync --offline), `close`.
 */
import { startBroker } from '../harness/sync/rig.ts';
import { traceBusy } from '../cloud-sync/trace.ts';
import { closeThread, serveThread } from './sync-threads.ts';

export type BrokerRequest = { type: 'restart' } | { type: 'leaves'; clientId: string; topics?: string[] } | { type: 'refuse'; clientIds: string[] } | { type: 'close' };
export interface BrokerReady { url: string }

const broker = await startBroker();
traceBusy('broker');
serveThread<BrokerRequest, null, BrokerReady>({ url: broker.url }, async (req) => {
  switch (req.type) {
    case 'restart':
      await broker.stop();
      await broker.start();
      return null;
    case 'leaves':
      broker.leaves(req.clientId, req.topics);
      return null;
    case 'refuse':
      broker.refuse(req.clientIds);
      return null;
    case 'close':
      await broker.close();
      setImmediate(closeThread);
      return null;
  }
});
