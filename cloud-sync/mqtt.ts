/**
 * The one file that imports `mqtt`. It owns the connect options (credentials, TLS, last
 * will), reconnects by itself, and never throws from `publish` while disconnected: the sync
 * layers above retransmit until acknowledged, so a publish that cannot go out now is simply
 * reported as not sent.
 *
 * Reconnecting is scheduled here, not by mqtt.js: its `reconnectPeriod` is one fixed wait, so
 * after a broker restart every store of the town sat out the whole period and then came back
 * in the same instant. Here the first attempt after a drop comes within a tenth of
 * `reconnectMs`, each failed attempt doubles the wait up to `reconnectMs`, and every wait is
 * jittered (half of it random), so a long outage is retried at about the old pace and a
 * broker's restart is over in a fraction of it (`reconnectDelay`).
 */
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { trace, tracing } from './trace.ts';
import { BrokerFailureLog, type BrokerFailure } from './mqtt-failure.ts';
import { brokerTlsProblem } from './broker-url.ts';
import type { Logger } from '../edge/log.ts';
import { within } from '../lib/within.ts';

export interface MqttOptions {
  url: string;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  /** PEM files for TLS (mqtts://): the broker's CA, and this client's certificate and key. */
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  /** Published retained on `topic` by the broker when this client vanishes. */
  will?: { topic: string; payload: string } | undefined;
  /** Resume the broker-side session (queued QoS 1 messages) across reconnects. */
  persistentSession?: boolean;
  /**
   * With `persistentSession`: the first connection after `start` begins a new session
   * (CleanSession 1), so what the broker queued for an earlier run of this client id is
   * discarded; the connections after it resume the session. For a client whose files may have
   * been replaced between two runs (a store's ledger put back in time): an ack or a beat
   * queued for the old file would mark the new file's rows of the same seqs acknowledged.
   */
  freshSessionAtStart?: boolean;
  /** The longest wait between two attempts to reach the broker (`reconnectDelay`). */
  reconnectMs?: number;
  keepaliveS?: number;
  /**
   * Forget the QoS 1 messages still awaiting their PUBACK when the connection drops (their
   * `publish` resolves false), instead of having mqtt.js send them again after reconnecting. It
   * sends them one at a time, each waiting for its PUBACK, and reports the connection up only
   * after the last: a client with a thousand publications in flight came back seconds late.
   * For a client whose every publication the protocol asks for again (the village ledger's:
   * its greeting after a reconnect says where each store stands).
   */
  dropUnackedOnClose?: boolean;
  /**
   * Where a failed attempt to reach the broker is told (cloud-sync/mqtt-failure.ts): the first,
   * each change of reason, and a reason that goes on once every `failureLogRepeatMs` (default
   * 10 minutes).
   */
  log?: Logger | undefined;
  failureLogRepeatMs?: number;
  /**
   * How long `stop` waits for its last publication's PUBACK, and then for the connection to end
   * (default 3 s each). On a link gone quiet without a FIN neither ever comes; the connection is
   * then closed by force and the broker publishes the will in its place.
   */
  stopWaitMs?: number;
}

export interface SyncMqttEvents {
  /** `sessionPresent`: the broker resumed this client's session (what was queued for it, and for others, is likely kept). */
  connect: [sessionPresent: boolean];
  disconnect: [];
  message: [topic: string, payload: Buffer];
}

/**
 * The wait before reconnect attempt `attempt` (0: the first after a drop): exponential backoff
 * from a tenth of `maxMs` to `maxMs`, with "equal jitter" (half the step fixed, half random,
 * `random` in [0, 1)): clients that lost the same broker at the same instant spread out, and
 * none waits less than half its step.
 */
export function reconnectDelay(attempt: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, (maxMs / 10) * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/**
 * When to try the broker again. Only a connection that held for the longest wait starts the
 * backoff afresh: one the broker drops at once (another client under the same id, a refusal
 * after CONNACK) backs off as a refused attempt does, instead of being tried again within a
 * tenth of the wait forever.
 */
export class ReconnectBackoff {
  private attempts = 0;
  private upSince: number | undefined;

  constructor(private readonly maxMs: number, private readonly random: () => number = Math.random) {}

  connected(now: number): void {
    this.upSince = now;
  }

  /** The wait before the next attempt, after a drop or a failed attempt at `now`. */
  next(now: number): number {
    if (this.upSince !== undefined && now - this.upSince >= this.maxMs) this.attempts = 0;
    this.upSince = undefined;
    return reconnectDelay(this.attempts++, this.maxMs, this.random);
  }
}

export class SyncMqtt extends EventEmitter<SyncMqttEvents> {
  private client: MqttClient | undefined;
  private backoff = new ReconnectBackoff(1000);
  /** The next attempt's timer. */
  private retry: NodeJS.Timeout | undefined;
  private subscriptions: string[] = [];
  private failures: BrokerFailureLog;
  /** The current attempt: its first error, and whether the broker accepted it. */
  private attempt: { error?: unknown; accepted: boolean } = { accepted: false };

  constructor(private readonly opts: MqttOptions) {
    super();
    this.failures = new BrokerFailureLog({ log: opts.log, who: opts.clientId, url: opts.url, repeatMs: opts.failureLogRepeatMs ?? 600_000 });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Why the last attempt to reach the broker failed; undefined once it is reached. */
  get lastError(): BrokerFailure | undefined {
    return this.failures.current;
  }

  /** Starts connecting; does not wait for the broker (a store runs for days without one). */
  start(subscriptions: string[]): void {
    this.subscriptions = subscriptions;
    this.backoff = new ReconnectBackoff(this.opts.reconnectMs ?? 1000);
    const o = this.opts;
    // Checked at load (edge/config/sync.ts, the ledger's options); here too, as the last guard:
    // mqtt.js would ignore a CA on mqtt:// and send the password in clear.
    const tls = brokerTlsProblem(o.url, { ca: o.caFile, cert: o.certFile, key: o.keyFile }, { ca: 'caFile', cert: 'certFile', key: 'keyFile', url: 'url' });
    if (tls) throw new Error(`${tls.en} / ${tls.zh}`);
    const options: IClientOptions = {
      clientId: o.clientId,
      protocolVersion: 4, // MQTT 3.1.1: aedes has no MQTT 5, and nothing here needs it
      clean: !(o.persistentSession ?? true) || o.freshSessionAtStart === true,
      // 0: mqtt.js does not reconnect by itself; `close` below schedules the next attempt.
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: o.keepaliveS ?? 30,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
      ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
      ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
      ...(o.will ? { will: { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: 1 as const, retain: true } } : {}),
    };
    const client = mqtt.connect(o.url, options);
    if (tracing) {
      client.on('close', () => trace(o.clientId, 'mqtt-close'));
      client.on('reconnect', () => trace(o.clientId, 'mqtt-reconnect'));
      client.on('packetreceive', (p) => {
        if (p.cmd === 'connack' || p.cmd === 'suback') trace(o.clientId, `mqtt-${p.cmd}`);
      });
    }
    this.attempt = { accepted: false };
    client.on('connect', (ack) => {
      this.backoff.connected(Date.now());
      this.attempt.accepted = true;
      this.failures.connected();
      // The fresh session begun, the next connections resume (a session of CleanSession 1
      // ends with its connection, and what was queued meanwhile comes back by the protocol's
      // own catch-up: the heartbeat's beat, deltas, acks for rows sent again). Set before any
      // close: mqtt.js drops the callbacks of unacknowledged publications on closing a clean
      // client.
      if (o.persistentSession ?? true) client.options.clean = false;
      trace(o.clientId, 'mqtt-connect', { outgoing: Object.keys(client.outgoing).length });
      // Small messages (acks, beats) must not wait for the delayed-ACK timer (Nagle).
      const stream = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
      stream?.setNoDelay?.(true);
      // Subscribed again at every connection, a resumed session too: a session can come back
      // without its subscriptions and would then receive nothing, forever. The connection that
      // made it may have ended between the broker's CONNACK and its taking the SUBSCRIBE (this
      // client's earlier connection in this run, or an earlier client under this id); Mosquitto
      // keeps such a session, and a broker restarted at that moment saves it so. bench:sync on
      // a Mosquitto it restarts five times (MQTT_SPAWN=mosquitto) left 6-40 of 50 stores so:
      // their rows applied, never acknowledged, sent again at every backoff
      // (tests/sync/mosquitto-resume.test.ts). Subscribing again is idempotent; the broker sends
      // the retained messages again (the village board, the stores' status and alarms), which the
      // receivers take as the same. A resumed session says `connect` at once, as before: what
      // was queued in it comes now, and must find the agent knowing it reconnected (a stream
      // event that waited while the line was down is no contact: tests/sync/replay-contact);
      // the SUBSCRIBE goes out ahead of anything the agent then publishes, so the broker has it
      // before any answer. A fresh session says it once subscribed.
      if (this.subscriptions.length === 0) this.emit('connect', ack.sessionPresent);
      else if (ack.sessionPresent) {
        client.subscribe(this.subscriptions, { qos: 1 });
        this.emit('connect', true);
      } else client.subscribe(this.subscriptions, { qos: 1 }, () => this.emit('connect', false));
    });
    client.on('close', () => {
      // An attempt that ends before the broker accepted it failed (a drop after is not a failure).
      if (this.client === client && !this.attempt.accepted) this.failures.failed(this.attempt.error);
      if (o.dropUnackedOnClose) for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
      this.emit('disconnect');
      this.scheduleReconnect(client);
    });
    client.on('message', (topic, payload) => this.emit('message', topic, payload));
    // Connection errors are retried by the reconnect loop; they must not crash the process. The
    // first of an attempt is its reason, told when the attempt ends (`close`).
    client.on('error', (err) => {
      this.attempt.error ??= err;
    });
    this.client = client;
  }

  /**
   * The next attempt after `reconnectDelay`. The client's own message stores go with it: what
   * was published and not yet acknowledged is sent again once connected, as mqtt.js's own
   * reconnect would (`reconnect()` without them starts from empty stores).
   */
  private scheduleReconnect(client: MqttClient): void {
    if (this.client !== client || this.retry || client.disconnecting) return;
    const wait = this.backoff.next(Date.now());
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.client !== client || client.connected || client.disconnecting) return;
      this.attempt = { accepted: false };
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, wait);
  }

  /** QoS 1. Resolves true once the broker has the message, false if it could not be sent. */
  publish(topic: string, payload: string | Buffer, opts: { retain?: boolean } = {}): Promise<boolean> {
    const client = this.client;
    if (!client || !client.connected) return Promise.resolve(false);
    return new Promise((resolve) => {
      try {
        client.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (err) => resolve(!err));
      } catch {
        resolve(false);
      }
    });
  }

  /**
   * Publishes `last` (e.g. a retained "offline") when connected, then disconnects; bounded by
   * `stopWaitMs` at each step, so a stop never hangs on a broker that stopped answering.
   */
  async stop(last?: { topic: string; payload: string; retain?: boolean }): Promise<void> {
    const client = this.client;
    this.client = undefined;
    clearTimeout(this.retry);
    this.retry = undefined;
    if (!client) return;
    const waitMs = this.opts.stopWaitMs ?? 3000;
    let force = !client.connected;
    if (last && client.connected) {
      // The PUBACK, or the connection closing (mqtt.js then keeps the callback for a resend that never comes).
      const sent = new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.publish(last.topic, last.payload, { qos: 1, retain: last.retain ?? false }, () => resolve());
      });
      if (!(await within(sent, waitMs))) force = true;
    }
    if (!(await within(client.endAsync(force), waitMs))) {
      // not even a forced end came back: drop the socket and stop waiting
      (client.stream as { destroy?: () => void } | undefined)?.destroy?.();
      this.opts.log?.warn({ client_id: this.opts.clientId }, 'the MQTT connection did not close in time; dropped / MQTT 连接未及时关闭，已强制断开');
    }
    client.removeAllListeners();
    // mqtt.js may still report a connect attempt that timed out ("connack timeout") after the
    // end; with no listener that error would crash the process.
    client.on('error', () => undefined);
  }
}
