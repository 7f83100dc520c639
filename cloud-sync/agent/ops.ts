/**
 * The store's operations traffic with its village (cloud-sync/protocol/ops.ts), owned by the
 * sync agent: the active alarms, published retained (again at every reconnect, so the village
 * sees the store's alarms as they stand), and the reconciliation's request and signed answer.
 */
import type { StoreAddress } from '../protocol/topics.ts';
import { storeTopic } from '../protocol/topics.ts';
import type { SyncMqtt } from '../mqtt.ts';
import { decode } from '../protocol/payloads.ts';
import { checkControl, type KeyRing } from '../protocol/sign.ts';
import { opsCheckers, type Alarm, type AlarmHistory, type AlarmsMessage, type ClearedAlarm, type EndedAlarm, type ReconcileAnswer, type ReconcileRequest } from '../protocol/ops.ts';
import type { RefusalCounter } from '../protocol/refusals.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';

/** An alarm as the store keeps it (edge/ledger/alarms.ts), with the fields the message leaves out. */
type StoredAlarm = Omit<Alarm, 'acknowledged_at' | 'acknowledged_by' | 'ack_note'> & { acknowledged_at: string | null; acknowledged_by: string | null; ack_note: string | null; cleared_at?: string | null; cleared_by?: string | null };

/** An alarm cleared by hand as the store keeps it (edge/ledger/alarms.ts `handClearedSince`). */
interface HandCleared { id: number; kind: string; subject: string; raised_at: string; cleared_at: string; cleared_by: string; note: string | null }

/**
 * The retained alarms message: the active alarms, each with its acknowledgement when it has one,
 * and the ones cleared by hand lately (`cleared`, only when there are any: a ledger older than
 * the field would refuse the whole list).
 */
export function alarmsMessage(at: string, active: StoredAlarm[], cleared: HandCleared[] = []): AlarmsMessage {
  return {
    at,
    active: active.map(({ cleared_at: _c, cleared_by: _b, acknowledged_at, acknowledged_by, ack_note, ...a }) => ({
      ...a,
      ...(acknowledged_at !== null && acknowledged_by !== null ? { acknowledged_at, acknowledged_by, ...(ack_note ? { ack_note } : {}) } : {}),
    })),
    ...(cleared.length > 0 ? { cleared: cleared.map(({ note, ...c }): ClearedAlarm => ({ ...c, ...(note ? { note } : {}) })) } : {}),
  };
}

/** An ended alarm as the store keeps it (edge/ledger/alarms.ts `endedSince`). */
type StoredEnded = StoredAlarm & { cleared_at: string; cleared_by: string; note: string | null };

/**
 * The retained alarm history: the alarms that ended in [since, at] (`listed`, newest first), each
 * as it last stood with when and by whom it cleared, and the ones of the window left out, counted
 * (`unlisted`, sent only when there are any).
 */
export function alarmHistoryMessage(at: string, since: string, listed: StoredEnded[], unlisted: NonNullable<AlarmHistory['unlisted']>): AlarmHistory {
  return {
    at,
    since,
    ended: listed.map(({ cleared_at, cleared_by, note, ...a }): EndedAlarm => ({ ...alarmsMessage(at, [a]).active[0]!, cleared_at, cleared_by, ...(note ? { note } : {}) })),
    ...(unlisted.count > 0 ? { unlisted } : {}),
  };
}

interface Waiting { req: ReconcileRequest; resolve: (a: ReconcileAnswer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

/** Requests given up on (timed out) remembered, so that their late answers are told from replays. */
const GIVEN_UP_MAX = 100;

export class OpsLink {
  private alarms: string | undefined;
  private history: string | undefined;
  private source: (() => { alarms: AlarmsMessage; history?: AlarmHistory }) | undefined;
  private readonly waiting = new Map<string, Waiting>();
  private readonly givenUp = new Set<string>();

  constructor(private readonly deps: { address: StoreAddress; mqtt: () => SyncMqtt | undefined; keys: () => KeyRing; refusals: RefusalCounter }) {}

  /**
   * Publish the active alarms, and the history of those that ended when given (both retained);
   * kept to publish again after each reconnect: what could not go out while offline goes then.
   * The history goes first, so an occurrence gone from the list is cleared at the store's time
   * (a ledger that takes the list first clears it at the list's, and the history then corrects it).
   */
  publishAlarms(msg: AlarmsMessage, history?: AlarmHistory): void {
    this.alarms = JSON.stringify(msg);
    if (history) this.history = JSON.stringify(history);
    this.send();
  }

  /**
   * Where the store's alarms come from: each (re)connect publishes them as they stand then, so a
   * store restarted while offline sends them at its first connect, not only at its next change.
   */
  alarmsFrom(source: () => { alarms: AlarmsMessage; history?: AlarmHistory }): void {
    this.source = source;
  }

  onConnect(): void {
    if (!this.deps.mqtt()) return;
    if (this.source) {
      const now = this.source();
      this.alarms = JSON.stringify(now.alarms);
      if (now.history) this.history = JSON.stringify(now.history);
    }
    this.send();
  }

  private send(): void {
    const mqtt = this.deps.mqtt();
    if (!mqtt) return;
    if (this.history) void mqtt.publish(storeTopic(this.deps.address, 'alarm-history'), this.history, { retain: true });
    if (this.alarms) void mqtt.publish(storeTopic(this.deps.address, 'alarms'), this.alarms, { retain: true });
  }

  /** Ask the ledger for its totals of this store over [from, to); rejects when no signed answer comes within `timeoutMs`. */
  reconcile(req: ReconcileRequest, timeoutMs: number): Promise<ReconcileAnswer> {
    const mqtt = this.deps.mqtt();
    if (!mqtt?.connected) return Promise.reject(new EdgeError(ErrorCode.SYNC_OFFLINE, 'not connected to the village broker; cannot reconcile now', { zh: '未连接村级消息服务器，暂时无法对账' }));
    return new Promise<ReconcileAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(req.id);
        this.givenUp.add(req.id);
        if (this.givenUp.size > GIVEN_UP_MAX) this.givenUp.delete(this.givenUp.values().next().value!);
        reject(new EdgeError(ErrorCode.SYNC_OFFLINE, `the village ledger did not answer the reconciliation within ${Math.round(timeoutMs / 1000)} s`, { zh: '村账本未在限定时间内答复对账请求' }));
      }, timeoutMs);
      this.waiting.set(req.id, { req, resolve, reject, timer });
      void mqtt.publish(storeTopic(this.deps.address, 'up/reconcile-request'), JSON.stringify(req)).then((ok) => {
        if (ok) return;
        clearTimeout(timer);
        this.waiting.delete(req.id);
        reject(new EdgeError(ErrorCode.SYNC_OFFLINE, 'the reconciliation request could not be sent', { zh: '对账请求发送失败' }));
      });
    });
  }

  /**
   * `down/reconcile`: checked against the ledger's keys and our address, then handed to its
   * request, only when it answers that very question: its window is the one asked. A signed
   * answer to another question (an earlier run's, published again) is refused as `replayed` and
   * the request waits on for its own; a late answer to a request given up on is dropped.
   */
  onAnswer(payload: Buffer): void {
    const msg = decode(payload, opsCheckers.reconcileAnswer);
    if (!msg.ok) return void this.deps.refusals.add('invalid');
    const bad = checkControl(msg.value, this.deps.address, this.deps.keys());
    if (bad) return void this.deps.refusals.add(bad);
    const w = this.waiting.get(msg.value.id);
    if (!w) return void (this.givenUp.has(msg.value.id) ? undefined : this.deps.refusals.add('replayed'));
    if (msg.value.from !== w.req.from || msg.value.to !== w.req.to) return void this.deps.refusals.add('replayed');
    this.waiting.delete(msg.value.id);
    clearTimeout(w.timer);
    w.resolve(msg.value);
  }

  stop(): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new EdgeError(ErrorCode.SYNC_OFFLINE, 'the sync agent stopped', { zh: '同步组件已停止' }));
      this.waiting.delete(id);
    }
  }
}
