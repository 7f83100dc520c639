/**
 * The village ledger's MQTT side: receives store rows (verified against the store's key,
 * de-duplicated permanently, gaps counted), acknowledges by id, rebroadcasts store entries to
 * the village, brings stores level (deltas or a snapshot), reads their heartbeats (a store
 * behind the stream, or one that believes the ledger holds more of its rows than it does, is
 * counted, logged and sent the stream), and publishes what the API creates.
 * What queued up while the ledger was busy is handled as one turn (`onTurn`: the row batches
 * together, then the presence and heartbeats together, then the requests), so that 50 stores
 * reconnecting at once cost a few statements instead of a few hundred; as far as any store can
 * tell, its messages are still handled in the order it sent them.
 */
import type { SqlDb } from './sql.ts';
import { putCatalogueProduct } from './catalogue.ts';
import { SyncMqtt, type MqttOptions } from '../mqtt.ts';
import { checkers, decode, type Ack, type Heartbeat, type SnapshotRequest, type Envelope, type EntryBody, type VillagerBody, type CommandBody, type ProductBody } from '../protocol/payloads.ts';
import { envelopeText, signControl, type SigningKey } from '../protocol/sign.ts';
import { LEDGER_SUBSCRIPTIONS, parseTopic, storeTopic, villageBoardTopic, villageEventsTopic } from '../protocol/topics.ts';
import { RefusalCounter } from '../protocol/refusals.ts';
import { addLedgerEntry, appendEvent, listStores, setVillagerStatus, upsertVillager, type Signer, type VillagerChange } from './tables.ts';
import type { RowsResult } from './rows.ts';
import { DEFAULT_SKEW_MS } from '../protocol/clock.ts';
import { countRows, newCounters, type LedgerCounters } from './counters.ts';
export type { LedgerCounters } from './counters.ts';
import { addrKey, storesAt, type PresenceRecord } from './control.ts';
import { answerHeartbeats, greetStores, MissingRowsTracker, type HeartbeatDeps } from './heartbeats.ts';
import { applyRowGroup, type CheckedRows } from './group.ts';
import { ackDigests, RowChecker } from './row-check.ts';
import { CatchUpLimiter, catchUpStore, type CatchUpDeps, type SnapshotBytes } from './catchup.ts';
import { ledgerTotals, reconcileWindowOk } from './reconcile.ts';
import { Outgoing } from './outgoing.ts';
import { onAlarmMessages } from './store-alarm-history.ts';
import { opsCheckers, type ReconcileAnswer } from '../protocol/ops.ts';
import type { Logger } from '../../edge/log.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import { trace, tracing } from '../trace.ts';

export interface LedgerServiceOptions {
  db: SqlDb;
  mqtt: Omit<MqttOptions, 'will'>;
  key: SigningKey;
  /** Lifetime of a published event (default a week). */
  eventLifetimeMs?: number;
  clock?: () => Date;
  log: Logger;
  /** A store further behind than this many stream events gets a snapshot instead of deltas (default 1000). */
  maxDeltas?: number;
  /** A store whose heartbeats show it behind the stream for this long is sent the stream (default 60 s). */
  behindAfterMs?: number;
  /** One store's snapshot and reconcile requests answered at once before the rate below applies (default 10). */
  catchUpBurst?: number;
  /** Then one answered per this many ms; the rest are dropped and counted as `throttled` (default 1000). */
  catchUpEveryMs?: number;
  /** When a snapshot goes in parts (catchup.ts `SNAPSHOT_BYTES`; tests make it small). */
  snapshotBytes?: SnapshotBytes;
  /** `--alarm-keep-days` (retention.ts; 0, the default, for ever): a store's alarm history adds no occurrence the purge would delete (store-alarm-history.ts). */
  alarmKeepDays?: number;
}

const WEEK_MS = 7 * 86_400_000;
/** Row batches applied in one transaction at most. */
const GROUP_MAX = 50;

/** Messages handled in one turn at most (cloud-sync/ledger/control.ts). */
const TURN_MAX = 500;

interface Inbound { topic: string; payload: Buffer }
interface RowsMessage { village: string; store: string; payload: Buffer }

export class LedgerService {
  readonly refusals = new RefusalCounter();
  readonly counters: LedgerCounters = newCounters();
  private mqtt: SyncMqtt | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Messages received and not yet taken by a turn of the queue. */
  private readonly inbox: Inbound[] = [];
  private turnQueued = false;
  /** Row batches checked against their store's key, on arrival where it can be (./row-check.ts). */
  private readonly rowCheck: RowChecker;
  private readonly signer: Signer;
  private readonly clock: () => Date;
  private readonly catchUps: CatchUpLimiter;
  private readonly catchUpDeps: CatchUpDeps;
  /** What the message queue publishes, pipelined (cloud-sync/ledger/outgoing.ts). */
  private readonly out = new Outgoing(() => this.mqtt);
  readonly heartbeatDeps: HeartbeatDeps;

  constructor(private readonly opts: LedgerServiceOptions) {
    this.signer = { key: opts.key, lifetimeMs: opts.eventLifetimeMs ?? WEEK_MS };
    this.clock = opts.clock ?? (() => new Date());
    this.rowCheck = new RowChecker(() => this.clock().getTime(), DEFAULT_SKEW_MS);
    this.catchUps = new CatchUpLimiter(opts.catchUpBurst ?? 10, opts.catchUpEveryMs ?? 1000);
    this.catchUpDeps = {
      db: opts.db, signer: this.signer, clock: () => this.clock(), send: (topic, payload) => this.out.send(topic, payload),
      counters: this.counters, maxDeltas: opts.maxDeltas ?? 1000, validForMs: DEFAULT_SKEW_MS,
      ...(opts.snapshotBytes ? { snapshotBytes: opts.snapshotBytes } : {}),
    };
    this.heartbeatDeps = {
      db: opts.db, key: opts.key, clock: () => this.clock(), log: opts.log, refusals: this.refusals, counters: this.counters,
      behindAfterMs: opts.behindAfterMs ?? 60_000, send: (topic, payload) => this.out.send(topic, payload), missing: new MissingRowsTracker(),
      catchUp: async (village, store, from) => { if (this.catchUps.take(`${village}/${store}`, this.clock().getTime())) await this.catchUp(village, store, from, 'gap'); else this.counters.throttled++; },
    };
  }

  get connected(): boolean { return this.mqtt?.connected ?? false; }

  /** Why the last attempt to reach the broker failed (cloud-sync/mqtt-failure.ts); undefined once reached, or before the first attempt. */
  get lastError(): SyncMqtt['lastError'] { return this.mqtt?.lastError; }

  start(): void {
    // What was in flight when the connection dropped is not sent again (cloud-sync/mqtt.ts): the
    // greeting on reconnecting tells every store where it stands, and each asks for the rest.
    this.mqtt = new SyncMqtt({ ...this.opts.mqtt, dropUnackedOnClose: true });
    this.mqtt.on('message', (topic, payload) => {
      const t = parseTopic(topic);
      if (t?.kind === 'store' && t.leaf === 'up/rows') this.rowCheck.onArrival(t.village, t.store, payload);
      this.inbox.push({ topic, payload });
      this.queueTurn();
    });
    // Rows sent while the ledger was away went nowhere: tell every store where it stands.
    this.mqtt.on('connect', () => {
      trace('ledger', 'connect');
      this.queue = this.queue.then(() => greetStores(this.heartbeatDeps)).catch((err: unknown) => this.opts.log.error({ err }, 'ledger failed to greet the stores / 村账本通知门店失败'));
    });
    this.mqtt.start([...LEDGER_SUBSCRIPTIONS]);
  }

  /** Waits for the messages already received, then disconnects. */
  async stop(): Promise<void> {
    const mqtt = this.mqtt;
    this.mqtt = undefined;
    await this.queue;
    await mqtt?.stop();
    mqtt?.removeAllListeners();
  }

  /** Resolves once every message received so far is handled and what it sent has reached the broker (tests and the benchmark). */
  async idle(): Promise<void> {
    await this.queue;
    await this.out.settled();
  }

  async award(village: string, e: EntryBody): Promise<{ published: boolean; duplicate: boolean }> {
    const { event } = await addLedgerEntry(this.opts.db, village, e, this.signer, this.clock());
    if (!event) return { published: false, duplicate: true };
    return { published: await this.publishEvent(event), duplicate: false };
  }

  /**
   * A decision and the entries it makes, in one transaction: `decide` changes what it decides
   * and answers the entries (each made unless made already, as `award` does), so the decision is
   * never kept without its entries nor the entries without it. They are published after the commit.
   */
  async decide<T>(village: string, decide: (tx: SqlDb) => Promise<{ entries: EntryBody[]; result: T }>): Promise<{ result: T; published: boolean }> {
    const { result, events } = await this.opts.db.transaction(async (tx) => {
      const d = await decide(tx);
      const made: Envelope[] = [];
      for (const e of d.entries) {
        const { event } = await addLedgerEntry(tx, village, e, this.signer, this.clock());
        if (event) made.push(event);
      }
      return { result: d.result, events: made };
    }, { queue: [village] });
    let published = true;
    for (const e of events) published = (await this.publishEvent(e)) && published;
    return { result, published: events.length > 0 && published };
  }

  /** Without `status` the villager keeps theirs (tables.ts `upsertVillager`). */
  async putVillager(v: Omit<VillagerBody, 'status'> & { status?: VillagerBody['status'] }, changed?: VillagerChange): Promise<boolean> {
    return this.publishEvent(await upsertVillager(this.opts.db, v, this.signer, this.clock(), changed));
  }

  /** Commands and catalogue changes; a product is also recorded in the catalogue (catalogue.ts), in the event's transaction. */
  async publishOnStream(village: string, kind: 'command' | 'product', body: CommandBody | ProductBody, changed?: VillagerChange): Promise<boolean> {
    const c = body as CommandBody;
    // A villager's status is the village's: a snapshot carries one status for all, so a block
    // meant for one store would be undone there by its next snapshot.
    if (kind === 'command' && (c.command === 'block' || c.command === 'unblock') && c.store !== undefined) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${c.command} applies to every store of the village: leave out store (${c.store})`, {
        zh: '封禁或解封村民对全村所有门店生效，不能只针对一家门店：请去掉 store',
        details: { field: 'store' },
      });
    }
    const now = this.clock();
    const event = await this.opts.db.transaction(async (tx) => {
      // The status with its event: a block of a villager not in this village (404) publishes nothing.
      if (kind === 'command' && c.villager && (c.command === 'block' || c.command === 'unblock')) await setVillagerStatus(tx, village, c.villager, c.command === 'block' ? 'blocked' : 'active', now, changed);
      if (kind === 'product') await putCatalogueProduct(tx, village, body as ProductBody, now.toISOString());
      return appendEvent(tx, village, kind, `${kind}:${now.getTime()}:${Math.random().toString(36).slice(2, 10)}`, body, this.signer, now);
    }, { queue: [village] });
    return this.publishEvent(event);
  }

  /** A village's public board (board/publisher.ts), retained: a store that connects has the latest at once. */
  async publishBoard(village: string, e: Envelope): Promise<boolean> {
    return (await this.mqtt?.publish(villageBoardTopic(village), JSON.stringify(e), { retain: true })) ?? false;
  }

  private async publishEvent(e: Envelope): Promise<boolean> {
    return (await this.mqtt?.publish(villageEventsTopic(e.village), JSON.stringify(e))) ?? false;
  }

  /** One turn of the queue is due: every message that has arrived by the time it runs (at most TURN_MAX). */
  private queueTurn(): void {
    if (this.turnQueued) return;
    this.turnQueued = true;
    this.chain(async () => {
      // What the socket holds already is read first (setImmediate runs after the event loop's
      // I/O): a turn taken at once, as a microtask of the first read, held only that read's
      // 64 KiB, some two row batches of 100, and on SQLite (every query resolving at once) it
      // ran to its end before the next read. Larger turns share one commit (group.ts).
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.turnQueued = false;
      const msgs = this.takeTurn();
      if (this.inbox.length > 0) this.queueTurn();
      if (!tracing) return this.onTurn(msgs);
      const t = performance.now();
      await this.onTurn(msgs);
      trace('ledger', 'turn', { msgs: msgs.length, ms: Math.round(performance.now() - t), left: this.inbox.length });
    }, 'turn');
  }

  /**
   * The next turn's messages: at most TURN_MAX, and cut before a row batch that arrived after a
   * snapshot or reconciliation request. A turn answers requests after applying its rows, so
   * the answer must not include rows that came after the question: a store waiting for deltas
   * would get, after the stream's event, a second copy of it in an answer it no longer waits for.
   */
  private takeTurn(): Inbound[] {
    let n = 0;
    let asked = false;
    for (; n < this.inbox.length && n < TURN_MAX; n++) {
      const t = parseTopic(this.inbox[n]!.topic);
      const leaf = t?.kind === 'store' ? t.leaf : undefined;
      if (leaf === 'up/rows' && asked) break;
      if (leaf === 'up/snapshot-request' || leaf === 'up/reconcile-request') asked = true;
    }
    return this.inbox.splice(0, n);
  }

  /**
   * The messages that queued up while the ledger was busy, handled together: every row batch
   * first (group commit, acknowledged in arrival order), then the presence and heartbeats (one
   * transaction; a beat reflects every row of the turn, so it never shows a row sent before its
   * heartbeat as missing when the ledger holds it), then the snapshot requests and the
   * reconciliations, each in arrival order. A store's own messages are thus still handled in
   * the order it sent them, as far as the store can tell: what it learns (acks, beats) never
   * says less than it would have one message at a time.
   */
  private async onTurn(msgs: Inbound[]): Promise<void> {
    const rows: RowsMessage[] = [];
    const presence = new Map<string, PresenceRecord>();
    const heartbeats: { village: string; store: string; hb: Heartbeat }[] = [];
    const requests: { village: string; store: string; req: SnapshotRequest }[] = [];
    const reconciles: { village: string; store: string; req: { id: string; from: string; to: string } }[] = [];
    const alarmLists: { village: string; store: string; payload: Buffer; history: boolean }[] = [];
    for (const { topic, payload } of msgs) {
      const t = parseTopic(topic);
      if (!t || t.kind !== 'store') {
        this.refusals.add('invalid');
        continue;
      }
      const { village, store } = t;
      switch (t.leaf) {
        case 'up/rows':
          rows.push({ village, store, payload });
          break;
        case 'up/snapshot-request': {
          const req = decode(payload, checkers.snapshotRequest);
          if (!req.ok) this.refusals.add('invalid');
          else requests.push({ village, store, req: req.value });
          break;
        }
        case 'status': {
          const st = decode(payload, checkers.status);
          if (!st.ok) this.refusals.add('invalid');
          else {
            // The latest one counts (a store's status twice in a turn: offline, then online again).
            const k = addrKey(village, store);
            presence.delete(k);
            presence.set(k, { village, store, state: st.value.state });
          }
          break;
        }
        case 'heartbeat': {
          const h = decode(payload, checkers.heartbeat);
          if (!h.ok) this.refusals.add('invalid');
          else heartbeats.push({ village, store, hb: h.value });
          break;
        }
        case 'up/reconcile-request': {
          const req = decode(payload, opsCheckers.reconcileRequest);
          if (!req.ok || !reconcileWindowOk(req.value.from, req.value.to, this.clock().getTime(), DEFAULT_SKEW_MS)) this.refusals.add('invalid');
          else reconciles.push({ village, store, req: req.value });
          break;
        }
        case 'alarms': // the store's active alarms, kept per store (store-alarms.ts), and those that ended lately (store-alarm-history.ts)
        case 'alarm-history':
          alarmLists.push({ village, store, payload, history: t.leaf === 'alarm-history' });
          break;
        case 'down/ack':
        case 'down/snapshot':
        case 'down/deltas':
        case 'down/beat':
        case 'down/reconcile':
          break; // our own publications
      }
    }
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      // One step failing (the database away) must not keep the others of the turn from running.
      try {
        await fn();
      } catch (err) {
        this.opts.log.error({ err, step: what }, 'ledger failed to handle a message / 村账本处理消息失败');
      }
    };
    const t = tracing ? performance.now() : 0;
    if (rows.length > 0) await step('rows', () => this.onRowsGroup(rows));
    const t1 = tracing ? performance.now() : 0;
    if (presence.size > 0 || heartbeats.length > 0) await step('heartbeats', () => answerHeartbeats(this.heartbeatDeps, [...presence.values()], heartbeats));
    const t2 = tracing ? performance.now() : 0;
    if (requests.length > 0) await step('snapshot requests', () => this.onSnapshotRequests(requests));
    if (tracing) trace('ledger', 'parts', { rows: rows.length, rows_ms: Math.round(t1 - t), hb: heartbeats.length + presence.size, hb_ms: Math.round(t2 - t1), req: requests.length, req_ms: Math.round(performance.now() - t2) });
    for (const r of reconciles) await step('reconcile', () => this.answerReconcile(r.village, r.store, r.req));
    if (alarmLists.length > 0) await step('alarms', () => onAlarmMessages(this.opts.db, alarmLists, () => this.clock(), this.refusals, (what, err) => this.opts.log.error({ err, step: what }, 'ledger failed to handle a message / 村账本处理消息失败'), this.opts.alarmKeepDays));
  }

  /** Snapshot requests, in arrival order. Unsigned (docs/sync-protocol.md): answered only for a store the ledger knows, at a bounded rate. */
  private async onSnapshotRequests(requests: { village: string; store: string; req: SnapshotRequest }[]): Promise<void> {
    const known = await storesAt(this.opts.db, requests);
    for (const { village, store, req } of requests) {
      if (!known.has(addrKey(village, store))) {
        this.refusals.add('invalid');
        continue;
      }
      if (!this.catchUps.take(`${village}/${store}`, this.clock().getTime())) {
        this.counters.throttled++;
        continue;
      }
      await this.catchUp(village, store, req.from_seq, req.reason, req.accepts ?? []);
    }
  }

  private chain(fn: () => Promise<void>, topic: string): void {
    this.queue = this.queue.then(fn).catch((err: unknown) => this.opts.log.error({ err, topic }, 'ledger failed to handle a message / 村账本处理消息失败'));
  }

  /** Checked batches applied together (at most GROUP_MAX per transaction; one by one if that fails), then acknowledged. */
  private async onRowsGroup(group: RowsMessage[]): Promise<void> {
    const known = await storesAt(this.opts.db, group);
    this.rowCheck.remember(known.values());
    const checked: CheckedRows[] = [];
    for (const m of group) {
      const v = this.rowCheck.check(m.village, m.store, m.payload, known.get(addrKey(m.village, m.store)));
      if (v.ok) checked.push({ village: m.village, store: m.store, rows: v.rows, digests: v.digests, foreign: v.foreign, texts: v.texts });
      else this.refusals.add(v.reason);
    }
    for (let i = 0; i < checked.length; i += GROUP_MAX) {
      const part = checked.slice(i, i + GROUP_MAX);
      const outcomes = await applyRowGroup(this.opts.db, part, this.signer, this.clock, (err) => {
        this.opts.log.warn({ err, batches: part.length }, 'a group of row batches failed; applying them one by one / 批量写入失败，逐批重试');
      }, DEFAULT_SKEW_MS);
      for (const [k, b] of part.entries()) {
        const o = outcomes[k]!;
        if (o.ok) await this.afterRows(b, o.result);
        else {
          this.counters.failed++;
          this.opts.log.error({ err: o.error, village: b.village, store: b.store, first_seq: b.rows[0]?.seq }, 'ledger failed to apply a row batch; not acknowledged / 村账本写入门店记录失败，未确认');
        }
      }
    }
  }

  /** Counts the batch and publishes its events, then its ack (in that order on the wire). */
  private async afterRows({ village, store, rows, digests, foreign, texts }: CheckedRows, res: RowsResult): Promise<void> {
    countRows(this.counters, this.opts.log, village, store, rows.length, res);
    // A row id held with another payload is not acknowledged but named: the store sends it again under a new seq.
    const clashed = new Set(res.rowClashes);
    const ids = clashed.size === 0 ? res.ackIds : res.ackIds.filter((id) => !clashed.has(id));
    const ack: Ack = signControl({ ids, contiguous_seq: res.contiguousSeq, ...(clashed.size > 0 ? { clashed: [...clashed] } : {}), ...(digests ? { digests: ackDigests(rows, ids, texts) } : {}), ...(foreign && res.foreignAdds.length > 0 ? { foreign: res.foreignAdds } : {}) }, { village, store }, this.opts.key);
    for (const ev of res.events) await this.out.send(villageEventsTopic(ev.village), envelopeText(ev));
    await this.out.send(storeTopic({ village, store }, 'down/ack'), JSON.stringify(ack));
  }

  /** Deltas when they can bring the store level, else a snapshot (./catchup.ts). */
  private catchUp(village: string, store: string, fromSeq: number, reason: SnapshotRequest['reason'], accepts?: readonly string[]): Promise<void> {
    return catchUpStore(this.catchUpDeps, village, store, fromSeq, reason, accepts);
  }

  /** The daily reconciliation (cloud-sync/ledger/reconcile.ts): our totals for that store, signed for it. */
  private async answerReconcile(village: string, store: string, req: { id: string; from: string; to: string }): Promise<void> {
    if (!(await listStores(this.opts.db, village)).some((s) => s.id === store)) return void this.refusals.add('invalid');
    // Unsigned like a snapshot request: the same budget per store, the rest dropped and counted.
    if (!this.catchUps.take(`${village}/${store}`, this.clock().getTime())) return void this.counters.throttled++;
    const villagers = await ledgerTotals(this.opts.db, village, store, req.from, req.to);
    const answer: ReconcileAnswer = signControl({ id: req.id, from: req.from, to: req.to, villagers }, { village, store }, this.opts.key);
    await this.out.send(storeTopic({ village, store }, 'down/reconcile'), JSON.stringify(answer));
  }
}
