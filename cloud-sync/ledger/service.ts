/**
 * The village ledger's MQTT side: receives store rows (verified against the store's key,
 * de-duplicated permanently, gaps counted), acknowledges by id, rebroadcasts store entries to
 * the village, brings stores level (deltas or a snapshot), reads their heartbeats (a store
 * behind the stream, or one that believes the ledger holds more of its rows than it does, is
 * counted, logged and sent the stream), and publishes what the API creates.
 * Messages are handled one at a time, in arrival order.
 */
import type { KeyObject } from 'node:crypto';
import type { SqlDb } from './sql.ts';
import { SyncMqtt, type MqttOptions } from '../mqtt.ts';
import { checkers, decode, type Ack, type Beat, type Heartbeat, type SnapshotRequest, type Envelope, type Row, type EntryBody, type VillagerBody, type CommandBody, type ProductBody } from '../protocol/payloads.ts';
import { checkEnvelope, publicEd25519, signControl, signEnvelope, type SigningKey } from '../protocol/sign.ts';
import { LEDGER_SUBSCRIPTIONS, parseTopic, storeTopic, villageBoardTopic, villageEventsTopic } from '../protocol/topics.ts';
import { RefusalCounter } from '../protocol/refusals.ts';
import { addLedgerEntry, appendEvent, listStores, recordHeartbeat, recordPresence, upsertVillager, villageSeq, villageSnapshot, type RowsResult, type Signer } from './tables.ts';
import { applyRowGroup, type CheckedRows } from './group.ts';
import { CatchUpLimiter, planDeltas } from './catchup.ts';
import { ledgerTotals } from './reconcile.ts';
import { onAlarmList } from './store-alarms.ts';
import { opsCheckers, type ReconcileAnswer } from '../protocol/ops.ts';
import type { Logger } from '../../edge/log.ts';

export interface LedgerServiceOptions {
  db: SqlDb;
  mqtt: Omit<MqttOptions, 'will'>;
  key: SigningKey;
  /** Lifetime of a published event (default a week). */
  eventLifetimeMs?: number;
  clockSkewMs?: number;
  clock?: () => Date;
  log: Logger;
  /** A store further behind than this many stream events gets a snapshot instead of deltas (default 1000). */
  maxDeltas?: number;
  /** A store whose heartbeats show it behind the stream for this long is sent the stream (default 60 s). */
  behindAfterMs?: number;
  /** One store's snapshot requests answered at once before the rate below applies (default 10). */
  catchUpBurst?: number;
  /** Then one answered per this many ms; the rest are dropped and counted as `throttled` (default 1000). */
  catchUpEveryMs?: number;
}

export interface LedgerCounters {
  rows: number;
  duplicates: number;
  gaps: number;
  snapshots: number;
  /** Requests answered with the events after the store's seq. */
  deltas: number;
  /** Stores found behind the village stream by their heartbeats for longer than the bound. */
  behind: number;
  /** Heartbeats whose last acknowledged seq is ahead of what the ledger holds of that store. */
  ahead: number;
  /** Well-signed row batches the database refused: not acknowledged, so their store sends them again. */
  failed: number;
  /** Snapshot requests beyond a store's rate (`catchUpBurst`, `catchUpEveryMs`): dropped unanswered. */
  throttled: number;
}

const WEEK_MS = 7 * 86_400_000;
/** Row batches applied in one transaction at most. */
const GROUP_MAX = 50;

interface RowsMessage { village: string; store: string; payload: Buffer }

export class LedgerService {
  readonly refusals = new RefusalCounter();
  readonly counters: LedgerCounters = { rows: 0, duplicates: 0, gaps: 0, snapshots: 0, deltas: 0, behind: 0, ahead: 0, failed: 0, throttled: 0 };
  private mqtt: SyncMqtt | undefined;
  private queue: Promise<void> = Promise.resolve();
  private openGroup: RowsMessage[] | undefined;
  private readonly storeKeys = new Map<string, KeyObject>();
  private readonly signer: Signer;
  private readonly clock: () => Date;
  private readonly catchUps: CatchUpLimiter;

  constructor(private readonly opts: LedgerServiceOptions) {
    this.signer = { key: opts.key, lifetimeMs: opts.eventLifetimeMs ?? WEEK_MS };
    this.clock = opts.clock ?? (() => new Date());
    this.catchUps = new CatchUpLimiter(opts.catchUpBurst ?? 10, opts.catchUpEveryMs ?? 1000);
  }

  get connected(): boolean {
    return this.mqtt?.connected ?? false;
  }

  start(): void {
    this.mqtt = new SyncMqtt(this.opts.mqtt);
    this.mqtt.on('message', (topic, payload) => {
      // Row batches that queue up one after another are applied in one transaction (one commit
      // for all); anything else closes the group, so the arrival order is kept.
      const t = parseTopic(topic);
      if (t?.kind === 'store' && t.leaf === 'up/rows') {
        if (!this.openGroup) {
          const group: RowsMessage[] = [];
          this.openGroup = group;
          this.chain(() => {
            if (this.openGroup === group) this.openGroup = undefined;
            return this.onRowsGroup(group);
          }, topic);
        }
        this.openGroup.push({ village: t.village, store: t.store, payload });
        return;
      }
      this.openGroup = undefined;
      this.chain(() => this.onMessage(topic, payload), topic);
    });
    // Rows sent while the ledger was away went nowhere: tell every store where it stands.
    this.mqtt.on('connect', () => {
      this.queue = this.queue.then(() => this.greetStores()).catch((err: unknown) => this.opts.log.error({ err }, 'ledger failed to greet the stores / 村账本通知门店失败'));
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

  /** Resolves once every message received so far is handled (tests and the benchmark). */
  idle(): Promise<void> {
    return this.queue;
  }

  async award(village: string, e: EntryBody): Promise<{ published: boolean; duplicate: boolean }> {
    const { event } = await addLedgerEntry(this.opts.db, village, e, this.signer, this.clock());
    if (!event) return { published: false, duplicate: true };
    return { published: await this.publishEvent(event), duplicate: false };
  }

  async putVillager(v: VillagerBody): Promise<boolean> {
    return this.publishEvent(await upsertVillager(this.opts.db, v, this.signer, this.clock()));
  }

  /** Commands and catalogue changes: events with no table of their own beyond the stream. */
  async publishOnStream(village: string, kind: 'command' | 'product', body: CommandBody | ProductBody): Promise<boolean> {
    if (kind === 'command' && (body as CommandBody).villager && ((body as CommandBody).command === 'block' || (body as CommandBody).command === 'unblock')) {
      const c = body as CommandBody;
      await this.opts.db.run('UPDATE villagers SET status = $1, updated_at = $2 WHERE id = $3 AND village = $4', [c.command === 'block' ? 'blocked' : 'active', this.clock().toISOString(), c.villager, village]);
    }
    const now = this.clock();
    const event = await this.opts.db.transaction((tx) => appendEvent(tx, village, kind, `${kind}:${now.getTime()}:${Math.random().toString(36).slice(2, 10)}`, body, this.signer, now));
    return this.publishEvent(event);
  }

  /** A village's public board (board/publisher.ts), retained: a store that connects has the latest at once. */
  async publishBoard(village: string, e: Envelope): Promise<boolean> {
    return (await this.mqtt?.publish(villageBoardTopic(village), JSON.stringify(e), { retain: true })) ?? false;
  }

  private async publishEvent(e: Envelope): Promise<boolean> {
    return (await this.mqtt?.publish(villageEventsTopic(e.village), JSON.stringify(e))) ?? false;
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    const t = parseTopic(topic);
    if (!t || t.kind !== 'store') return void this.refusals.add('invalid');
    const { village, store } = t;
    switch (t.leaf) {
      case 'up/rows':
        return this.onRowsGroup([{ village, store, payload }]);
      case 'up/snapshot-request': {
        const req = decode(payload, checkers.snapshotRequest);
        if (!req.ok) return void this.refusals.add('invalid');
        // Unsigned (docs/sync-protocol.md): answered only for a store the ledger knows, at a bounded rate.
        if (!(await listStores(this.opts.db, village)).some((r) => r.id === store)) return void this.refusals.add('invalid');
        if (!this.catchUps.take(`${village}/${store}`, this.clock().getTime())) {
          this.counters.throttled++;
          return;
        }
        return this.catchUp(village, store, req.value.from_seq, req.value.reason);
      }
      case 'status': {
        const s = decode(payload, checkers.status);
        if (!s.ok) return void this.refusals.add('invalid');
        return recordPresence(this.opts.db, village, store, 'status', s.value.state);
      }
      case 'heartbeat': {
        const h = decode(payload, checkers.heartbeat);
        if (!h.ok) return void this.refusals.add('invalid');
        return this.onHeartbeat(village, store, h.value);
      }
      case 'up/reconcile-request': {
        const req = decode(payload, opsCheckers.reconcileRequest);
        if (!req.ok || req.value.from >= req.value.to) return void this.refusals.add('invalid');
        return this.answerReconcile(village, store, req.value);
      }
      case 'alarms': // the store's active alarms, kept per store (store-alarms.ts)
        return void (await onAlarmList(this.opts.db, village, store, payload, this.clock(), this.refusals));
      case 'down/ack':
      case 'down/snapshot':
      case 'down/deltas':
      case 'down/beat':
      case 'down/reconcile':
        return; // our own publications
    }
  }

  private chain(fn: () => Promise<void>, topic: string): void {
    this.queue = this.queue.then(fn).catch((err: unknown) => this.opts.log.error({ err, topic }, 'ledger failed to handle a message / 村账本处理消息失败'));
  }

  /** Checked batches applied together (at most GROUP_MAX per transaction; one by one if that fails), then acknowledged. */
  private async onRowsGroup(group: RowsMessage[]): Promise<void> {
    const checked: CheckedRows[] = [];
    for (const m of group) {
      const rows = await this.checkRows(m.village, m.store, m.payload);
      if (rows) checked.push({ village: m.village, store: m.store, rows });
    }
    for (let i = 0; i < checked.length; i += GROUP_MAX) {
      const part = checked.slice(i, i + GROUP_MAX);
      const outcomes = await applyRowGroup(this.opts.db, part, this.signer, this.clock, (err) => {
        this.opts.log.warn({ err, batches: part.length }, 'a group of row batches failed; applying them one by one / 批量写入失败，逐批重试');
      });
      // Published in order without waiting for each broker acknowledgement in turn.
      const sent: Promise<unknown>[] = [];
      for (const [k, b] of part.entries()) {
        const o = outcomes[k]!;
        if (o.ok) sent.push(this.afterRows(b, o.result));
        else {
          this.counters.failed++;
          this.opts.log.error({ err: o.error, village: b.village, store: b.store, first_seq: b.rows[0]?.seq }, 'ledger failed to apply a row batch; not acknowledged / 村账本写入门店记录失败，未确认');
        }
      }
      await Promise.all(sent);
    }
  }

  /** A rows message verified against its store's key: its rows, or undefined (refused and counted). */
  private async checkRows(village: string, store: string, payload: Buffer): Promise<Row[] | undefined> {
    const env = decode(payload, checkers.envelope);
    if (!env.ok) return void this.refusals.add('invalid');
    const e = env.value;
    const rec = (await listStores(this.opts.db, village)).find((s) => s.id === store);
    // An unknown store is refused as forged: no key vouches for it.
    const keys = rec ? new Map([[rec.keyId, this.storeKey(rec.publicKey)]]) : new Map();
    const bad = checkEnvelope(e, keys, this.clock().getTime(), this.opts.clockSkewMs ?? 300_000);
    if (bad) return void this.refusals.add(bad);
    if (e.kind !== 'rows' || e.village !== village || e.store !== store || !checkers.rows.Check(e.body)) return void this.refusals.add('invalid');
    const rows = e.body.rows;
    if (rows.some((r) => r.id !== `${store}:${r.seq}`)) return void this.refusals.add('invalid');
    return rows;
  }

  /** Counts the batch and publishes its events, then its ack (in that order on the wire). */
  private afterRows({ village, store, rows }: CheckedRows, res: RowsResult): Promise<unknown> {
    this.counters.rows += rows.length - res.duplicates;
    this.counters.duplicates += res.duplicates;
    this.counters.gaps += res.gaps;
    const ack: Ack = signControl({ ids: res.ackIds, contiguous_seq: res.contiguousSeq }, { village, store }, this.opts.key);
    const sent = res.events.map((ev) => this.publishEvent(ev));
    sent.push(this.mqtt?.publish(storeTopic({ village, store }, 'down/ack'), JSON.stringify(ack)) ?? Promise.resolve(false));
    return Promise.all(sent);
  }

  /** Parsing a PEM costs more than verifying a signature: each store key is parsed once. */
  private storeKey(pem: string): KeyObject {
    let k = this.storeKeys.get(pem);
    if (!k) {
      k = publicEd25519(pem);
      if (this.storeKeys.size >= 10_000) this.storeKeys.clear();
      this.storeKeys.set(pem, k);
    }
    return k;
  }

  /** Deltas when they can bring the store level, else a snapshot. */
  private async catchUp(village: string, store: string, fromSeq: number, reason: SnapshotRequest['reason']): Promise<void> {
    const plan = reason === 'resync' ? undefined : await planDeltas(this.opts.db, village, fromSeq, this.clock(), {
      maxEvents: this.opts.maxDeltas ?? 1000, maxBytes: 1024 * 1024, validForMs: this.opts.clockSkewMs ?? 300_000,
    });
    if (!plan) return this.sendSnapshot(village, store);
    this.counters.deltas++;
    for (const p of plan.payloads) await this.mqtt?.publish(storeTopic({ village, store }, 'down/deltas'), p);
  }

  private async onHeartbeat(village: string, store: string, hb: Heartbeat): Promise<void> {
    const rec = (await listStores(this.opts.db, village)).find((s) => s.id === store);
    if (!rec) return void this.refusals.add('invalid');
    const seq = await villageSeq(this.opts.db, village);
    const now = this.clock();
    let behindSince = hb.inbound_seq < seq ? rec.behindSince ?? now.toISOString() : null;
    const behindLong = behindSince !== null && now.getTime() - Date.parse(behindSince) >= (this.opts.behindAfterMs ?? 60_000);
    // The store says the ledger acknowledged rows that it does not hold (a ledger restored from an
    // older backup): the store resends them when it reads our beat (cloud-sync/agent).
    const ahead = hb.last_acked_seq > rec.contiguousSeq;
    if (behindLong) {
      this.counters.behind++;
      this.opts.log.warn({ village, store, inbound_seq: hb.inbound_seq, village_seq: seq, since: behindSince }, 'store is behind the village stream; sending it the stream / 门店落后于村数据流，正在补发');
      behindSince = now.toISOString();
    }
    if (ahead) {
      this.counters.ahead++;
      this.opts.log.error({ village, store, last_acked_seq: hb.last_acked_seq, contiguous_seq: rec.contiguousSeq }, 'store has acknowledged rows the ledger does not hold; asking it to resend / 门店已确认的记录村账本没有，要求重发');
    }
    await recordHeartbeat(this.opts.db, village, store, hb, behindSince, behindLong || ahead);
    const beat: Beat = signControl({ village_seq: seq, contiguous_seq: rec.contiguousSeq, reason: 'heartbeat', answers: hb.at }, { village, store }, this.opts.key);
    await this.mqtt?.publish(storeTopic({ village, store }, 'down/beat'), JSON.stringify(beat));
    if (behindLong) await this.catchUp(village, store, hb.inbound_seq, 'gap');
  }

  /** The daily reconciliation (cloud-sync/ledger/reconcile.ts): our totals for that store, signed for it. */
  private async answerReconcile(village: string, store: string, req: { id: string; from: string; to: string }): Promise<void> {
    if (!(await listStores(this.opts.db, village)).some((s) => s.id === store)) return void this.refusals.add('invalid');
    const villagers = await ledgerTotals(this.opts.db, village, store, req.from, req.to);
    const answer: ReconcileAnswer = signControl({ id: req.id, from: req.from, to: req.to, villagers }, { village, store }, this.opts.key);
    await this.mqtt?.publish(storeTopic({ village, store }, 'down/reconcile'), JSON.stringify(answer));
  }

  private async greetStores(): Promise<void> {
    const sent: Promise<boolean>[] = [];
    for (const s of await listStores(this.opts.db)) {
      const beat: Beat = signControl({ village_seq: await villageSeq(this.opts.db, s.village), contiguous_seq: s.contiguousSeq, reason: 'online' }, { village: s.village, store: s.id }, this.opts.key);
      sent.push(this.mqtt?.publish(storeTopic({ village: s.village, store: s.id }, 'down/beat'), JSON.stringify(beat)) ?? Promise.resolve(false));
    }
    await Promise.all(sent);
  }

  private async sendSnapshot(village: string, store: string): Promise<void> {
    const snap = await villageSnapshot(this.opts.db, village);
    const now = this.clock();
    const env = signEnvelope({
      v: 1, id: `snapshot:${store}:${snap.seq}:${now.getTime()}`, kind: 'snapshot', village, store, seq: snap.seq,
      issued_at: now.toISOString(), expires_at: new Date(now.getTime() + this.signer.lifetimeMs).toISOString(), body: snap.body,
    }, this.signer.key);
    this.counters.snapshots++;
    await this.mqtt?.publish(storeTopic({ village, store }, 'down/snapshot'), JSON.stringify(env));
  }
}
