/**
 * What the live page follows, gathered from the daemon's events (edge/events.ts) and the door
 * lock's driver: the door contact and the lock relay as they are now, the alarms raised since
 * start, and a `change` signal naming what changed (the page's stream, edge/http/live.ts,
 * turns each into one message for every watching tablet).
 *
 * `raise()` is the hook for any part that wants an alarm on the live page (a metric over its
 * limit, a job that failed): one call, Chinese and English text, no other wiring.
 */
import { EventEmitter } from 'node:events';
import type { DaemonEvents } from '../events.ts';
import type { AlarmRow } from '../ledger/alarms.ts';
import { ALARM_TEXT, CLEARED_BY_HAND, type AlarmKind } from '../ops/alarms.ts';
import { alarmDetail } from './admin-words.ts';

export type DoorContact = 'open' | 'closed' | 'unknown';
export type LockRelay = 'locked' | 'unlocked' | 'alarm' | 'unknown';

export interface DoorView {
  door: DoorContact;
  lock: LockRelay;
  /** While unlocked: when the relay board drops the pulse by itself (ISO 8601). */
  unlocked_until: string | null;
  /** When the door or the lock last changed (ISO 8601). */
  since: string | null;
}

export interface LiveAlarm {
  id: number;
  at: string;
  /** What kind of trouble (`unattended_shelf`, `lock_relay`, `unlock_failed`, `fault`, or a raiser's own). */
  kind: string;
  zh: string;
  en: string;
}

/** The door lock driver as the feed reads it (drivers/lock/lock-driver.ts LockDriver fits). */
export interface LockSource {
  readonly doorState: DoorContact;
  on(event: 'door', l: (e: { state: 'open' | 'closed'; at: number }) => void): unknown;
  on(event: 'unlocked', l: (e: { release_at: number; confirmed_at: number }) => void): unknown;
  on(event: 'relocked', l: (e: { at: number }) => void): unknown;
  on(event: 'alarm', l: (e: { reason: string; detail: string; at: number }) => void): unknown;
  on(event: 'unlock_failed', l: (e: { code: string; detail: string; at: number }) => void): unknown;
  on(event: 'inputs', l: (e: { state: 'read' | 'unread'; polls: number; at: number }) => void): unknown;
  off(event: 'door', l: (e: { state: 'open' | 'closed'; at: number }) => void): unknown;
  off(event: 'unlocked', l: (e: { release_at: number; confirmed_at: number }) => void): unknown;
  off(event: 'relocked', l: (e: { at: number }) => void): unknown;
  off(event: 'alarm', l: (e: { reason: string; detail: string; at: number }) => void): unknown;
  off(event: 'unlock_failed', l: (e: { code: string; detail: string; at: number }) => void): unknown;
  off(event: 'inputs', l: (e: { state: 'read' | 'unread'; polls: number; at: number }) => void): unknown;
}

/** The shelf scales as the feed reads them (drivers/scales/scale-driver.ts ScaleDriver fits). */
export interface ScaleSource {
  status(): Array<{ slot: string; health: string; stable_g: number | null }>;
  on(event: 'sweep', l: () => void): unknown;
  off(event: 'sweep', l: () => void): unknown;
}

/** The store's alarm board as the feed reads it (edge/ops/alarms.ts AlarmBoard fits). */
export interface AlarmBoardSource {
  active(): AlarmRow[];
  on(event: 'raised' | 'acknowledged' | 'cleared', l: (a: AlarmRow) => void): unknown;
  off(event: 'raised' | 'acknowledged' | 'cleared', l: (a: AlarmRow) => void): unknown;
}

/**
 * An alarm of the board not yet cleared, as the live page shows it with its acknowledgement
 * (acknowledged through `POST /api/alarms/ID/acknowledge`, as on /alarms); `id` 0: kept in
 * memory only (the ledger could not write it), so it cannot be acknowledged. `clearable`: a kind
 * only a maintainer can say is settled (CLEARED_BY_HAND), cleared through
 * `POST /api/alarms/ID/clear` as on /alarms.
 */
export type OpenAlarm = Pick<AlarmRow, 'id' | 'kind' | 'subject' | 'severity' | 'detail' | 'raised_at' | 'seen' | 'acknowledged_at' | 'acknowledged_by' | 'ack_note'> & { zh: string; en: string; clearable: boolean; detail_zh: string };

/** The daemon's event relay as the feed reads it. */
export type DaemonEventSource = Pick<EventEmitter<DaemonEvents>, 'on' | 'off'>;

export type LiveTopic = 'door' | 'store' | 'decisions' | 'alarms' | 'open_alarms' | 'shelves';

interface LiveFeedEvents {
  change: [LiveTopic];
}

export interface LiveFeedOptions {
  events: DaemonEventSource;
  /** The door lock, when the daemon has hardware (read at start). */
  lock?: () => LockSource | undefined;
  /** The shelf scales, when the daemon has hardware (read at start): `shelves` changes. */
  scales?: () => ScaleSource | undefined;
  /** The store's alarm board (absent with alarms.enabled false): `open_alarms` changes when one is raised, acknowledged or cleared. */
  board?: () => AlarmBoardSource | undefined;
  /** Alarms kept for the page (oldest dropped first). */
  maxAlarms?: number;
  now?: () => number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class LiveFeed extends EventEmitter<LiveFeedEvents> {
  private contact: DoorContact = 'unknown';
  private relay: LockRelay = 'unknown';
  private unlockedUntil: number | null = null;
  private since: number | null = null;
  private readonly alarmList: LiveAlarm[] = [];
  private nextAlarmId = 1;
  private changeCount = 0;
  private readonly detach: Array<() => void> = [];

  constructor(private readonly opts: LiveFeedOptions) {
    super();
  }

  start(): void {
    if (this.detach.length > 0) return;
    const ev = this.opts.events;
    const listen = <K extends keyof DaemonEvents>(name: K, l: (...a: DaemonEvents[K]) => void): void => {
      const untyped = ev as unknown as { on(e: string, f: (...a: DaemonEvents[K]) => void): unknown; off(e: string, f: (...a: DaemonEvents[K]) => void): unknown };
      untyped.on(name, l);
      this.detach.push(() => untyped.off(name, l));
    };
    listen('session_state', () => this.changed('store'));
    listen('cart', () => this.changed('store'));
    listen('receipt', () => this.changed('store'));
    listen('entry_decision', () => this.changed('decisions'));
    listen('alarm', (a) => {
      if (a.kind === 'unattended_shelf') {
        const g = Math.round(a.deltaG);
        this.raise({ kind: a.kind, at: a.at, zh: `无人时货位 ${a.slot} 的重量变了（${g > 0 ? '+' : ''}${g} 克），请查看监控`, en: `Shelf ${a.slot} changed with nobody inside (${g > 0 ? '+' : ''}${g} g); check the camera` });
      } else {
        const other = a as { kind: string; at?: number };
        this.raise({ kind: other.kind, ...(other.at ? { at: other.at } : {}), zh: `告警：${other.kind}`, en: `Alarm: ${other.kind}` });
      }
    });
    listen('fault', (f) => this.raise({ kind: 'fault', zh: `${f.source} 出错（${f.where}）：${f.message}`, en: `${f.source} failed (${f.where}): ${f.message}` }));
    let lock: LockSource | undefined;
    try {
      lock = this.opts.lock?.();
    } catch {
      // hardware that failed to build: the page shows the door as unknown
      lock = undefined;
    }
    if (lock) this.watchLock(lock);
    let scales: ScaleSource | undefined;
    try {
      scales = this.opts.scales?.();
    } catch {
      scales = undefined;
    }
    if (scales) this.watchScales(scales);
    const board = this.opts.board?.();
    if (board) {
      const onBoard = (): void => this.changed('open_alarms');
      for (const e of ['raised', 'acknowledged', 'cleared'] as const) {
        board.on(e, onBoard);
        this.detach.push(() => board.off(e, onBoard));
      }
    }
  }

  /** The board's alarms not yet cleared, oldest first (as /alarms lists them); null without a board (alarms turned off). */
  openAlarms(): OpenAlarm[] | null {
    const board = this.opts.board?.();
    if (!board) return null;
    return board.active().map((a) => {
      const t = ALARM_TEXT[a.kind as AlarmKind] ?? { zh: a.kind, en: a.kind };
      return {
        id: a.id, kind: a.kind, subject: a.subject, severity: a.severity, detail: a.detail, detail_zh: alarmDetail(a.detail, 'zh'), raised_at: a.raised_at, seen: a.seen,
        acknowledged_at: a.acknowledged_at, acknowledged_by: a.acknowledged_by, ack_note: a.ack_note,
        clearable: a.id !== 0 && CLEARED_BY_HAND.has(a.kind),
        zh: `${t.zh}${a.subject ? `（${a.subject}）` : ''}`, en: `${t.en}${a.subject ? ` (${a.subject})` : ''}`,
      };
    });
  }

  /**
   * A sweep reads every scale several times a second; `shelves` is signalled only when what a
   * page shows changed (a slot's resting weight, or its scale's health), and only while a page
   * listens. Rate-limiting the messages is the stream's part (edge/http/live.ts).
   */
  private watchScales(scales: ScaleSource): void {
    let last = '';
    const onSweep = (): void => {
      if (this.listenerCount('change') === 0) return;
      let now = '';
      for (const s of scales.status()) now += `${s.slot}\u0000${s.health}\u0000${s.stable_g ?? ''}\u0001`;
      if (now === last) return;
      last = now;
      this.changed('shelves');
    };
    scales.on('sweep', onSweep);
    this.detach.push(() => scales.off('sweep', onSweep));
  }

  stop(): void {
    while (this.detach.length > 0) this.detach.pop()!();
  }

  private watchLock(lock: LockSource): void {
    this.contact = lock.doorState;
    // The relay board ends every pulse by itself: a store starting up is locked.
    this.relay = 'locked';
    const onDoor = (e: { state: 'open' | 'closed'; at: number }): void => {
      this.contact = e.state;
      this.since = e.at;
      this.changed('door');
    };
    const onUnlocked = (e: { release_at: number; confirmed_at: number }): void => {
      this.relay = 'unlocked';
      this.unlockedUntil = e.release_at;
      this.since = e.confirmed_at;
      this.changed('door');
    };
    const onRelocked = (e: { at: number }): void => {
      this.relay = 'locked';
      this.unlockedUntil = null;
      this.since = e.at;
      this.changed('door');
    };
    const onAlarm = (e: { reason: string; detail: string; at: number }): void => {
      this.relay = 'alarm';
      this.since = e.at;
      this.changed('door');
      const stuck = e.reason === 'relay_stuck_on';
      this.raise({ kind: 'lock_relay', at: e.at, zh: stuck ? '门锁继电器没有松开，门可能一直开着，请到店查看' : '无法确认门锁已重新锁上，请到店查看', en: stuck ? 'The lock relay did not release: the door may stay open; check the store' : 'Could not confirm the lock relocked; check the store' });
    };
    const onFailed = (e: { code: string; detail: string; at: number }): void => {
      this.raise({ kind: 'unlock_failed', at: e.at, zh: `开锁失败（${e.code}），村民进不了门，请检查门锁`, en: `Unlock failed (${e.code}); villagers cannot get in; check the lock` });
    };
    // A relay board whose inputs go unread (lock.input_unread_polls): the door's last state is no
    // longer known, so the page says so rather than show it as current; read again, it follows.
    const onInputs = (e: { state: 'read' | 'unread'; at: number }): void => {
      this.contact = e.state === 'unread' ? 'unknown' : lock.doorState;
      this.since = e.at;
      this.changed('door');
    };
    lock.on('door', onDoor);
    lock.on('inputs', onInputs);
    lock.on('unlocked', onUnlocked);
    lock.on('relocked', onRelocked);
    lock.on('alarm', onAlarm);
    lock.on('unlock_failed', onFailed);
    this.detach.push(() => {
      lock.off('door', onDoor);
      lock.off('inputs', onInputs);
      lock.off('unlocked', onUnlocked);
      lock.off('relocked', onRelocked);
      lock.off('alarm', onAlarm);
      lock.off('unlock_failed', onFailed);
    });
  }

  /** Put an alarm on the live page (newest first there). */
  raise(a: { kind: string; zh: string; en: string; at?: number }): LiveAlarm {
    const alarm: LiveAlarm = { id: this.nextAlarmId++, at: iso(a.at ?? this.now()), kind: a.kind, zh: a.zh, en: a.en };
    this.alarmList.push(alarm);
    const max = this.opts.maxAlarms ?? 50;
    if (this.alarmList.length > max) this.alarmList.splice(0, this.alarmList.length - max);
    this.changed('alarms');
    return alarm;
  }

  /** The alarms, newest first. */
  alarms(): LiveAlarm[] {
    return [...this.alarmList].reverse();
  }

  door(): DoorView {
    return { door: this.contact, lock: this.relay, unlocked_until: this.unlockedUntil !== null ? iso(this.unlockedUntil) : null, since: this.since !== null ? iso(this.since) : null };
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** How many changes were signalled since start: equal counts, nothing changed (the admin page's parts are kept by it). */
  get changes(): number {
    return this.changeCount;
  }

  private changed(topic: LiveTopic): void {
    this.changeCount += 1;
    this.emit('change', topic);
  }
}
