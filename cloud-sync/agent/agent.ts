/**
 * The store's sync agent, a Part of the daemon: drains the outbox to the village ledger in
 * seq order and resends what is not acknowledged, with backoff (./sender.ts), as the ledger's
 * acks and beats say (below); applies the village stream
 * (cloud-sync/agent/inbound.ts); asks for a snapshot when it is new or sees a gap
 * (cloud-sync/agent/catch-up.ts); announces
 * itself with a retained status and a last will; reports its state to the health board.
 */
import { createPublicKey } from 'node:crypto';
import { inLazyTransaction, type Db } from '../../edge/ledger/db.ts';
import { activeAlarm } from '../../edge/ledger/alarms.ts';
import type { LedgerRules } from '../../edge/ledger/entries.ts';
import { countPendingOutbox, lastAckedSeq, markOutboxAcked, outboxRange } from '../../edge/ledger/outbox.ts';
import { inboundSeq, lastContact, noteVillageSeq, resyncWanted, touchContact, touchContactEvery } from '../../edge/ledger/sync-state.ts';
import { iso, systemClock, type Clock } from '../../edge/ledger/time.ts';
import type { HealthBoard, Part } from '../../edge/parts.ts';
import type { Logger } from '../../edge/log.ts';
import { SyncMqtt } from '../mqtt.ts';
import { checkers, type Heartbeat } from '../protocol/payloads.ts';
import { keyRing, signControl, type KeyRing, type SigningKey } from '../protocol/sign.ts';
import { loadOrCreateStoreKey, storeClientId } from './identity.ts';
import { parseTopic, storeSubscriptions, storeTopic, type StoreAddress } from '../protocol/topics.ts';
import { RefusalCounter } from '../protocol/refusals.ts';
import { InboundStream, type InboundOutcome } from './inbound.ts';
import { logOutcome } from './outcome-log.ts';
import { BoardInbox } from './board.ts';
import { foreignVillagerIds, recordAck, applyBeat, dropAcked, oldestInFlight, ownSeqs, reconnectInFlight } from './rows.ts';
import { RowSender } from './sender.ts';
import type { SyncConfig } from './config.ts';
import { OpsLink } from './ops.ts';
import { CatchUp } from './catch-up.ts';
import { trace } from '../trace.ts';
import { Heartbeats } from './heartbeats.ts';
import { LedgerSilence, silentAfterMs } from './silence.ts';
import { ControlInbox } from './control.ts';
import { ClockSkewWatch } from './clock-skew.ts';
import { FirstBeat, moveClashedRows, settleRollback, type Renumbered } from './rollback.ts';
import { healthLine, ledgerSilent, silentReason, type SyncState } from './state.ts';

export interface SyncAgentDeps {
  db: () => Db;
  config: SyncConfig;
  address: StoreAddress;
  dataDir: string;
  /** The store's signing key (default <dataDir>/sync-store-key.pem; edge/keys.ts keeps it apart). */
  keyFile?: string;
  rules: LedgerRules;
  log: Logger;
  health?: HealthBoard;
  clock?: Clock;
  /** Raises (`detail`) or clears (undefined) the `clock_skew` alarm: the store's clock too slow to read the stream (./clock-skew.ts). */
  clockAlarm?: (detail: string | undefined) => void;
  /** Told the ids of villagers registered here that the ledger holds in another village (an ack's `foreign`, rows it acknowledges now): the `villager_id_taken` alarm. */
  villagerIdTaken?: (villagerIds: string[]) => void;
  /** Raises (`detail`) or clears (undefined) the `ledger_silent` alarm: connected, but the ledger has answered nothing for a while (./silence.ts). */
  ledgerSilent?: (detail: string | undefined) => void;
}

export type { SyncState } from './state.ts';

const STATUS_ONLINE = JSON.stringify({ state: 'online' });
const STATUS_OFFLINE = JSON.stringify({ state: 'offline' });

export class SyncAgent implements Part {
  readonly name = 'sync';
  readonly critical = false;
  readonly refusals = new RefusalCounter();
  /**
   * `sent`: rows the broker took from the drain (each send counts, retransmits too). `resent`: rows
   * sent again as a beat showed the ledger without them (it lost rows it had acknowledged). `asked`:
   * snapshot requests sent. `checked`: reconnects after which a beat told whether the stream lost its
   * tail. `dropped`: snapshots, or parts, not applied as they came while one was (./inbound.ts).
   * `resumed`: starts that found a resync wanted before (a store killed before the snapshot came,
   * or part way through applying it), asked for again (./catch-up.ts).
   */
  readonly counters = { sent: 0, resent: 0, asked: 0, checked: 0, dropped: 0, resumed: 0 };
  private mqtt: SyncMqtt | undefined;
  private inbound: InboundStream | undefined;
  private board: BoardInbox | undefined;
  private key: SigningKey | undefined;
  private keys: KeyRing = new Map();
  /** Heartbeats sent and the beats answering them: fresh word, or a copy (./heartbeats.ts). */
  private readonly heartbeats = new Heartbeats();
  /** Connected time with no answer from the ledger: past `silentAfterMs`, the `ledger_silent` alarm (./silence.ts). */
  private readonly silence = new LedgerSilence();
  /**
   * Whether the `ledger_silent` alarm is raised (deps.ledgerSilent told so); undefined at start,
   * not known: the alarm is kept in the store's ledger, and one an earlier run raised (the key
   * then registered and the daemon restarted) is cleared at the first answer (clearing an alarm
   * that is not raised leaves it be).
   */
  private silentRaised: boolean | undefined = undefined;
  /** The outbox drain: what is in flight, and what goes again (./sender.ts). */
  private readonly rows: RowSender;
  private timers: NodeJS.Timeout[] = [];
  /** Nothing goes out before a beat after a restore, or for a while from a store that never heard from the ledger (./rollback.ts). */
  private firstBeat: FirstBeat | undefined;
  /** When to ask for the stream, and when to stop (cloud-sync/agent/catch-up.ts). */
  private catchUp: CatchUp | undefined;
  private readonly clock: Clock;
  private readonly control: ControlInbox;
  /** The `clock_skew` alarm: the stream refused as from the future, or own rows unacknowledged while the ledger answers. */
  private readonly clockSkew: ClockSkewWatch;
  /** Alarms to the village and the daily reconciliation (cloud-sync/agent/ops.ts). */
  readonly ops: OpsLink;

  constructor(private readonly deps: SyncAgentDeps) {
    this.clock = deps.clock ?? systemClock;
    this.control = new ControlInbox({ address: deps.address, keys: () => this.keys, refusals: this.refusals, log: deps.log });
    this.ops = new OpsLink({ address: deps.address, mqtt: () => this.mqtt, keys: () => this.keys, refusals: this.refusals });
    // an earlier run's alarm is read from the store's ledger, where the daemon's board keeps it (edge/main.ts)
    this.clockSkew = new ClockSkewWatch({ log: deps.log, alarm: deps.clockAlarm, standing: () => (deps.clockAlarm ? activeAlarm(deps.db(), 'clock_skew', 'village ledger')?.detail : undefined) });
    this.rows = new RowSender({
      db: deps.db, config: deps.config, address: deps.address, log: deps.log, clock: this.clock, counters: this.counters,
      mqtt: () => this.mqtt, key: () => this.key, firstBeat: () => this.firstBeat,
    });
  }

  /** The store's public key (PEM), which the village ledger must hold for this store. */
  get publicKeyPem(): string {
    if (!this.key) throw new Error('the sync agent is not started');
    return createPublicKey(this.key.key).export({ type: 'spki', format: 'pem' }).toString();
  }

  start(): void {
    const { config: c, address } = this.deps;
    trace(address.store, 'start');
    this.key = loadOrCreateStoreKey(this.deps.dataDir, c.store_key_id, this.deps.keyFile);
    this.firstBeat = new FirstBeat(this.deps.db(), this.clock().getTime());
    this.keys = keyRing(c.ledger_public_keys);
    const owed = resyncWanted(this.deps.db());
    if (owed) {
      this.counters.resumed++;
      this.deps.log.warn({ seq: owed.seq, why: owed.why }, 'a resync was wanted before the sync agent stopped; asking the village ledger for a snapshot again / 同步代理停止前需要重新同步，正在重新向村账本请求快照');
    }
    const catchUp = new CatchUp({
      // An answer later than this is not coming (the ledger dropped the request, or a broker lost it).
      clock: this.clock, retransmitMs: c.retransmit_ms, partWaitMs: c.retransmit_max_ms, horizonMs: Math.max(c.retransmit_max_ms, c.offline_after_s * 1000),
      inboundSeq: () => inboundSeq(this.deps.db()), heldCount: () => this.inbound?.heldCount ?? 0, applying: () => this.inbound?.applyingSnapshot ?? false, counters: this.counters, check: () => void this.heartbeat(),
      resyncOwed: () => resyncWanted(this.deps.db()) !== undefined,
      ask: (req) => {
        trace(address.store, 'ask', { reason: req.reason });
        void this.mqtt?.publish(storeTopic(address, 'up/snapshot-request'), JSON.stringify(req));
      },
    });
    this.catchUp = catchUp;
    this.inbound = new InboundStream({
      db: this.deps.db, address, keys: () => this.keys, rules: this.deps.rules, clock: this.clock,
      skewMs: c.clock_skew_s * 1000, refusals: this.refusals, onResyncWanted: () => catchUp.want('resync'),
      snapshotPending: () => catchUp.pending, clockSkew: this.clockSkew, heard: () => this.heartbeats.heardSinceReconnect,
      later: (outcomes) => this.handleOutcomes(outcomes, 'snapshot', storeTopic(address, 'down/snapshot')),
    });
    this.board = new BoardInbox({ db: this.deps.db, village: address.village, keys: () => this.keys, clock: this.clock, skewMs: c.clock_skew_s * 1000, refusals: this.refusals });
    const status = storeTopic(address, 'status');
    this.mqtt = new SyncMqtt({
      url: c.broker_url, clientId: storeClientId(address), username: c.username, password: c.password,
      caFile: c.ca_file, certFile: c.cert_file, keyFile: c.key_file, will: { topic: status, payload: STATUS_OFFLINE }, persistentSession: true, freshSessionAtStart: true, reconnectMs: c.reconnect_ms, log: this.deps.log,
    });
    this.mqtt.on('connect', (sessionPresent) => this.onConnect(sessionPresent));
    this.mqtt.on('disconnect', () => {
      this.silence.disconnected(this.clock().getTime());
      this.report();
    });
    this.mqtt.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.mqtt.start(storeSubscriptions(address));
    this.timers.push(setInterval(() => this.tick(), c.poll_ms));
    this.timers.push(setInterval(() => void this.heartbeat(), c.heartbeat_s * 1000));
    this.report();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.ops.stop();
    this.inbound?.stop();
    const mqtt = this.mqtt;
    this.mqtt = undefined;
    await mqtt?.stop({ topic: storeTopic(this.deps.address, 'status'), payload: STATUS_OFFLINE, retain: true });
    mqtt?.removeAllListeners();
  }

  state(): SyncState {
    const db = this.deps.db();
    return {
      connected: this.mqtt?.connected ?? false, last_error: this.mqtt?.lastError ?? null,
      outbox_pending: countPendingOutbox(db),
      last_acked_seq: lastAckedSeq(db),
      inbound_seq: inboundSeq(db),
      last_contact: lastContact(db) ?? null,
      refused: this.refusals.toJSON(),
      unanswered_heartbeats: this.heartbeats.unanswered,
      unanswered_s: this.silence.silentMs(this.clock().getTime()) / 1000,
      silent_after_s: silentAfterMs(this.deps.config.heartbeat_s) / 1000,
    };
  }

  /** Look at the outbox now (the daemon's parts call this after a change; the timer also does). */
  kick = (): void => void this.rows.drain();

  private onConnect(sessionPresent: boolean): void {
    const mqtt = this.mqtt;
    if (!mqtt) return;
    trace(this.deps.address.store, 'connect', { inflight: this.rows.inflight.size, sessionPresent });
    this.rows.lostWithSession = sessionPresent ? 0 : this.rows.sendNo;
    void mqtt.publish(storeTopic(this.deps.address, 'status'), STATUS_ONLINE, { retain: true });
    this.ops.onConnect();
    // Whatever was in flight may have died with the broker. A heartbeat now brings the ledger's
    // beat, which says what it holds: only the rest goes again (or everything, from a ledger
    // that has never answered a heartbeat, once the longest backoff passes with no answer).
    const now = this.clock().getTime();
    reconnectInFlight(this.rows.inflight, now, now + this.deps.config.retransmit_ms);
    this.rows.lastAckAt = now;
    this.heartbeats.reconnected();
    this.silence.connected(now);
    // The stream's tail may have died with the broker: the beat answering the heartbeat below
    // says (it comes after every event the ledger published before it).
    this.catchUp?.onConnect();
    // New rows before the heartbeat: their ack (naming rows whose seqs the ledger holds as other
    // rows) then comes before the beat, whose contiguous_seq would mark those acknowledged.
    void this.rows.drain();
    void this.heartbeat();
    this.report();
  }

  private tick(): void {
    void this.rows.drain();
    this.catchUp?.tick();
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = parseTopic(topic);
    const { address } = this.deps;
    if (!t || t.village !== address.village || (t.kind === 'store' && t.store !== address.store)) {
      this.refusals.add('invalid');
      return;
    }
    if (t.kind === 'village-board') {
      const r = this.board!.receive(payload);
      if (r.kind === 'refused') this.deps.log.warn({ reason: r.reason, why: r.why, topic }, 'sync message refused / 同步消息被拒绝');
      return;
    }
    if (t.kind === 'store' && t.leaf === 'down/ack') return this.onAck(payload);
    if (t.kind === 'store' && t.leaf === 'down/beat') return this.onBeat(payload);
    if (t.kind === 'store' && t.leaf === 'down/reconcile') return this.ops.onAnswer(payload);
    if (t.kind === 'store' && t.leaf === 'down/deltas') {
      const r = this.inbound!.receiveDeltas(payload);
      this.handleOutcomes(r.outcomes, 'deltas', topic);
      this.catchUp!.onDeltas(r.complete, r.toSeq);
      return;
    }
    if (t.kind === 'store' && t.leaf !== 'down/snapshot') {
      this.refusals.add('invalid');
      return;
    }
    const from = t.kind === 'village-events' ? 'events' : 'snapshot';
    this.handleOutcomes(this.inbound!.receive(payload, from), from, topic);
  }

  private handleOutcomes(outcomes: InboundOutcome[], from: 'events' | 'snapshot' | 'deltas', topic: string): void {
    for (const o of outcomes) {
      this.catchUp!.onOutcome(o, from);
      logOutcome(this.deps.log, o, topic);
    }
  }

  /**
   * The ledger's side of the heartbeat exchange, or its greeting after it (re)connected: what
   * it says of the stream goes to catch-up.ts. Rows acknowledged here that the ledger does not
   * hold: send them again. A greeting (the ledger just connected; what was in flight may have
   * gone nowhere): send a heartbeat, whose answer says which rows to send again.
   */
  private onBeat(payload: Buffer): void {
    const beat = this.control.read(payload, checkers.beat, 'down/beat');
    if (!beat) return;
    const kind = this.heartbeats.classify(beat.answers);
    if (kind === 'replayed') return this.control.refuse('replayed', 'down/beat');
    this.rows.beatSeen = true;
    trace(this.deps.address.store, 'beat', { reason: beat.reason, c: beat.contiguous_seq, answers: beat.answers !== undefined });
    const db = this.deps.db();
    // Only heartbeats sent since the reconnect are awaited. A beat answering another (queued in
    // the session before this connection; an earlier run's queue is discarded at start,
    // freshSessionAtStart) is old news: it moves no row (a file put back in time).
    const [stale, fresh] = [kind === 'stale', kind === 'fresh'];
    this.catchUp!.onBeat(beat.village_seq, fresh ? Date.parse(beat.answers!) : undefined);
    this.moved(settleRollback(db, beat.contiguous_seq, this.firstBeat?.neverHeard, fresh), beat.contiguous_seq);
    this.firstBeat?.beat();
    const acked = lastAckedSeq(db);
    if (acked > beat.contiguous_seq && !stale) void this.rows.resend(outboxRange(db, beat.contiguous_seq, acked, this.deps.config.window));
    const at = iso(this.clock);
    inLazyTransaction(db, 'recording the ledger\'s beat', () => {
      // The ledger holds every row up to contiguous_seq (their acks may have died with a broker);
      // rows above it sent before the heartbeat that this beat answers were lost.
      const marked = acked < beat.contiguous_seq && !stale;
      if (marked) markOutboxAcked(db, beat.contiguous_seq, at);
      // Only a fresh beat is word from the ledger now (the offline limit): a beat carries no
      // time; a greeting or an old one may be a copy published again. A contact on record from
      // less than 1 % of offline_after_s ago (at most a second) stands.
      if (fresh && marked) touchContact(db, at);
      else if (fresh) touchContactEvery(db, at, Math.min(1000, this.deps.config.offline_after_s * 10));
      // Behind the stream for offline_after_s counts as offline too (edge/ledger/sync-state.ts).
      noteVillageSeq(db, beat.village_seq, at);
    });
    // The ledger answers: a row of ours it has had for offline_after_s and not acknowledged (refused as from the future?) raises the alarm.
    if (fresh) this.clockSkew.ownRows(oldestInFlight(this.rows.inflight, Date.parse(beat.answers!)), at, this.deps.config.offline_after_s * 1000, this.deps.config.clock_skew_s * 1000);
    // A greeting after the broker lost our session (and the ledger's, with the rows queued for
    // it): what we sent before this connection and the ledger lacks goes again now, ahead of the
    // heartbeat below, not a beat's round trip later. A copy of a greeting sends copies at most.
    const answered = fresh ? this.heartbeats.answer(beat.answers!) : kind === 'greeting' ? this.rows.lostWithSession : 0;
    if (kind === 'greeting') this.rows.lostWithSession = 0;
    if (applyBeat(this.rows.inflight, beat.contiguous_seq, answered)) void this.rows.drain();
    // A greeting answers nothing: our heartbeat now gets a beat that does.
    if (beat.reason === 'online') void this.heartbeat();
    if (fresh) this.answered();
  }

  private onAck(payload: Buffer): void {
    const ack = this.control.read(payload, checkers.ack, 'down/ack');
    if (!ack) return;
    trace(this.deps.address.store, 'ack', { n: ack.ids.length, c: ack.contiguous_seq });
    const db = this.deps.db();
    const foreign = ack.foreign ? foreignVillagerIds(db, this.deps.address.store, ack.foreign) : [];
    const seqs = recordAck(db, this.deps.address.store, ack, iso(this.clock));
    if (!seqs) return this.control.refuse('replayed', 'down/ack');
    const latest = dropAcked(this.rows.inflight, seqs);
    this.rows.ackedSendNo = Math.max(this.rows.ackedSendNo, latest);
    this.rows.lastAckAt = this.clock().getTime();
    this.heartbeats.acked();
    // a row this run sent acknowledged (sendNo counts from 1): the ledger took its signature's time
    if (latest > 0) this.clockSkew.acked();
    this.answered();
    const taken = foreign.filter((f) => seqs.includes(f.seq)).map((f) => f.id);
    if (taken.length > 0) this.deps.villagerIdTaken?.(taken);
    if (ack.clashed) this.moved(moveClashedRows(db, ownSeqs(this.deps.address.store, ack.clashed), ack.contiguous_seq, new Set([...this.rows.inflight.keys(), ...this.rows.sending])), ack.contiguous_seq);
    void this.rows.drain();
  }

  /** Rows moved to new seqs past what the ledger holds (./rollback.ts): what was in flight under the old ones is gone. */
  private moved(m: Renumbered | undefined, ledgerSeq: number): void {
    if (!m) return;
    this.deps.log.warn({ rows: m.rows, from_seq: m.from, ledger_seq: ledgerSeq }, 'the ledger holds rows this store no longer has (a restored or reinstalled ledger); rows written since go under new seqs / 村账本有本店已没有的记录（账本已恢复或重装），之后的记录改用新序号发送');
    for (const seq of m.old) this.rows.inflight.delete(seq);
  }

  private async heartbeat(): Promise<void> {
    const s = this.state();
    trace(this.deps.address.store, 'heartbeat');
    if (!this.key) return;
    // Signed with the store's key (as the ledger signs its beats): only then may it move the village stream.
    const hb: Heartbeat = signControl({ at: iso(this.clock), outbox_pending: s.outbox_pending, last_acked_seq: s.last_acked_seq, inbound_seq: s.inbound_seq, refused: s.refused }, this.deps.address, this.key);
    this.heartbeats.sent(hb.at, this.rows.sendNo);
    if (!(await this.mqtt?.publish(storeTopic(this.deps.address, 'heartbeat'), JSON.stringify(hb)))) this.heartbeats.unsent(hb.at);
    this.report();
  }

  /** The health board's line for /healthz: degraded while the ledger is out of reach. */
  private report(): void {
    const s = this.state();
    // raised once connected with no answer for longer than the bound (./silence.ts); cleared only
    // by an answer (answered()), which sets the silence back to 0: not by a reconnect
    if (ledgerSilent(s) && this.silentRaised !== true) {
      this.silentRaised = true;
      this.deps.ledgerSilent?.(silentReason(s.unanswered_s ?? 0));
    }
    const h = this.deps.health;
    if (!h) return;
    const { status, detail } = healthLine(s);
    h.set(this.name, status, detail);
  }

  /**
   * A fresh beat or an ack: the ledger reads this store's signature; the `ledger_silent` alarm
   * clears, and the health line with it. Only then: an ack comes for every batch of a drain, and
   * the line reads the ledger (state()), which a heartbeat's report does anyway.
   */
  private answered(): void {
    this.silence.answered(this.clock().getTime());
    if (this.silentRaised === false) return;
    this.silentRaised = false;
    this.deps.ledgerSilent?.(undefined);
    this.report();
  }
}
