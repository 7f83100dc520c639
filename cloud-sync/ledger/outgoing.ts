/**
 * The ledger's publications from its message queue (acks, beats, deltas, snapshots, the
 * stream's events), pipelined: each is handed to the MQTT client at once and the queue goes on
 * to the next message without waiting for the broker's PUBACK. mqtt.js writes publishes to
 * its one connection in call order, so the order on the wire is the order of the calls: an
 * ack still follows the events of its batch, a beat still follows the acks of the rows before
 * it. Waiting for each PUBACK in turn made every message cost a round trip to the broker, and
 * with 50 stores each sending a status, a heartbeat and a snapshot request at every reconnect,
 * those round trips (not the database) set the ledger's pace.
 *
 * A publish that cannot go out (no connection) is dropped, as before: what it carried is asked
 * for again (a store resends unacknowledged rows, repeats its heartbeat and snapshot request).
 * At most `limit` publications wait for their PUBACK; the next `send` then waits for room, so a
 * broker that falls behind slows the ledger instead of growing its memory.
 */
import type { SyncMqtt } from '../mqtt.ts';

export class Outgoing {
  private unacked = 0;
  private readonly roomWaiters: (() => void)[] = [];
  private readonly settledWaiters: (() => void)[] = [];

  constructor(private readonly mqtt: () => SyncMqtt | undefined, private readonly limit = 1000) {}

  /** Hands the message to the client; resolves at once unless `limit` publications await their PUBACK. */
  send(topic: string, payload: string, opts: { retain?: boolean } = {}): Promise<void> {
    const m = this.mqtt();
    if (!m) return Promise.resolve();
    this.unacked++;
    // SyncMqtt.publish never rejects: it resolves false when the message could not go out.
    void m.publish(topic, payload, opts).then(() => this.settle());
    if (this.unacked < this.limit) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Resolves once every publication handed over so far has its PUBACK (or failed). */
  settled(): Promise<void> {
    if (this.unacked === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private settle(): void {
    this.unacked--;
    while (this.unacked < this.limit && this.roomWaiters.length > 0) this.roomWaiters.shift()!();
    if (this.unacked === 0) for (const w of this.settledWaiters.splice(0)) w();
  }
}
