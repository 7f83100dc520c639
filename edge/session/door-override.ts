/**
 * The maintainer's override of a faulty door sensor: "the door is closed, its sensor is faulty".
 * A contact stuck open holds every villager at the door (a door open at start with no visit open
 * holds the next one until it closes, front-door.ts `openAtStart`), and nothing the store sees
 * ends that. While the override holds, the session reads the door as closed: the hold is dropped,
 * an admission does not take the stuck contact for the villager's entry, a restart does not take
 * it for someone at the door. The store then runs blind at the door: an admitted visit goes inside
 * when the shelves are touched or the entering timeout passes (never cancelled for a door not seen
 * to open: she may be inside touching nothing yet), and ends by the exit button or the idle
 * timeout; nobody else is let in while it is open. So the override raises an alarm (`door_open`, subject
 * DOOR_OVERRIDE_SUBJECT, critical) that stays while it holds.
 *
 * It ends when the sensor shows it works again, reporting closed and then open (that opening is
 * believed, as every one after it), or when a maintainer withdraws it. Its alarm is its record
 * across a restart: an override alarm still active at start is the override again. So a
 * maintainer's set or withdrawal writes the alarm first, strictly (a ledger refusal is thrown),
 * inside the caller's transaction (`commit`: the admin route's, with its audit record), and
 * changes what the session reads only once that has committed: a failed write leaves the
 * override, its alarm and its audit as they were.
 *
 * A withdrawal makes the sensor believed again for what happens next, not for what it could not
 * see: the visit open at that moment was admitted (or went in) while nobody could see the door,
 * so the villager may already be inside, or be walking in, with no opening ever reported. That
 * visit keeps the override's rule (`blindTo`): still entering when its entering timeout passes,
 * it goes inside rather than being cancelled, and ends by the exit button, a door opening the
 * sensor reports, or the idle timeout; she is charged for what she takes, as any visit. A door
 * opening the sensor reports meanwhile counts as usual (her entry while entering). The visits
 * after it are read by the sensor alone.
 *
 * The end the sensor shows is the store's own doing, with no caller to answer to: its alarm is
 * cleared strictly, and a ledger refusal is logged (in Chinese and English, once) and the clear
 * retried every `retryMs` while the session runs, and again at its next start (`restore` takes
 * up an ended override only after that clear has landed), so an override that ended is not
 * brought back by its alarm. A daemon killed while the ledger still refused it starts with the
 * override again; it ends again at the sensor's next closed-then-open.
 */
import type { Logger } from 'pino';
import type { LockEvents } from '../../drivers/index.ts';
import type { DoorSignals, OverrideAlarms } from './ports.ts';

export type { OverrideAlarms } from './ports.ts';

export const DOOR_OVERRIDE_SUBJECT = 'door sensor';

export interface DoorOverrideView {
  /** Whether the session reads the door as closed whatever its sensor says. */
  holds: boolean;
  /** Who set it (`restart`: taken up from its alarm at start) and when (ms), while it holds. */
  by: string | null;
  since: number | null;
  /** What the sensor itself reports. */
  sensor: 'open' | 'closed' | 'unknown';
}

/** What `set` did: refused unless the sensor reports the door open (there is nothing to override). */
export type OverrideResult = { ok: true; changed: boolean; view: DoorOverrideView } | { ok: false; reason: 'sensor_not_open'; view: DoorOverrideView };

/**
 * Runs the override's alarm write inside the caller's transaction and commits it; throws (and
 * rolls back) if it cannot. Called only when something changes. Default: the write alone.
 */
export type OverrideCommit = (writeAlarm: () => void) => void;
const alone: OverrideCommit = (writeAlarm) => writeAlarm();

export interface DoorOverrideHost {
  /** The lock as its driver reports it. */
  lock: DoorSignals;
  logger: Logger;
  /** The alarm board, once the daemon has one (absent: alarms.enabled false, or a test). */
  alarms?: (() => OverrideAlarms | undefined) | undefined;
  now(): number;
  /** The override began: the door's hold on the next villager goes. */
  began(): void;
  /** A maintainer withdrew it: the door as its sensor reports it counts again. */
  withdrawn(): void;
  /** The session id of the visit open now (null: none). */
  visit?: (() => string | null) | undefined;
  /** Whether the session runs: a refused alarm clear is retried only then (and at the next start). */
  running?: (() => boolean) | undefined;
  /** How long after a refused alarm clear it is tried again (ms; default 5000). */
  retryMs?: number | undefined;
}

export class DoorOverride {
  private held: { by: string; at: number; sawClosed: boolean } | null = null;
  /** The visit open when the override was withdrawn: it keeps the override's rule (blindTo). */
  private blindVisit: string | null = null;
  /** The sensor ended the override but the ledger refused its alarm's clear: retried until it lands. */
  private endUnstored = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly host: DoorOverrideHost) {}

  /** The lock as the session reads it: the door closed while the override holds. */
  readonly lock: DoorSignals = new ReadAsClosed(this);

  /** Whether the session reads the door as closed whatever its sensor says. */
  get holds(): boolean {
    return this.held !== null;
  }

  /**
   * Whether the visit `sessionId` may have gone in unseen: the override holds, or held when that
   * visit was open (it was withdrawn during it). Asked when its entering timeout passes.
   */
  blindTo(sessionId: string | null | undefined): boolean {
    return this.held !== null || (sessionId != null && sessionId === this.blindVisit);
  }

  /** The lock as its driver reports it. */
  get sensor(): DoorSignals {
    return this.host.lock;
  }

  view(): DoorOverrideView {
    return { holds: this.held !== null, by: this.held?.by ?? null, since: this.held?.at ?? null, sensor: this.host.lock.doorState };
  }

  /** A maintainer says the door is closed and its sensor faulty. Only while the sensor reports it open. */
  set(by: string, commit: OverrideCommit = alone): OverrideResult {
    if (this.held) return { ok: true, changed: false, view: this.view() };
    if (this.host.lock.doorState !== 'open') return { ok: false, reason: 'sensor_not_open', view: this.view() };
    const at = this.host.now();
    commit(() => this.raise(by, at));
    this.held = { by, at, sawClosed: false };
    // the alarm stands for this override now: an earlier end's clear is no longer wanted
    this.endUnstored = false;
    clearTimeout(this.retry);
    this.host.logger.warn({ event: 'door_override', by }, `${by} 确认门已关、门磁故障：门磁恢复（先报关、再报开）或撤销之前，系统当门是关着的；期间看不到进出，放行的购物在货架变动或进店超时后即算在店内，离店靠出门按钮或闲置超时 / ${by} says the door is closed and its sensor faulty: the door counts as closed until the sensor reports closed and then open again, or the override is withdrawn; meanwhile the store is blind at the door (an admitted visit is inside once the shelves change or the entering timeout passes, and ends by the exit button or the idle timeout)`);
    this.host.began();
    return { ok: true, changed: true, view: this.view() };
  }

  /** A maintainer withdraws it: the sensor is believed again. */
  withdraw(by: string, commit: OverrideCommit = alone): { changed: boolean; view: DoorOverrideView } {
    if (!this.held) return { changed: false, view: this.view() };
    commit(() => this.host.alarms?.()?.clear('door_open', DOOR_OVERRIDE_SUBJECT, 'resolved', { strict: true }));
    this.held = null;
    // the visit let in while nobody could see the door is not cancelled for a door it was never seen to open
    const visit = this.host.visit?.() ?? null;
    this.blindVisit = visit;
    this.host.logger.warn({ event: 'door_override_withdrawn', by, sensor: this.host.lock.doorState, sessionId: visit }, `${by} 撤销了门磁故障的确认：系统重新以门磁为准（门磁报开时，门关上之前不放行）${visit ? '；进行中的购物照旧，进店超时后即算在店内，不会被取消' : ''} / ${by} withdrew the door sensor override: the sensor is believed again (while it reports open, nobody is let in until it closes)${visit ? '; the visit under way goes on as under the override: inside once the entering timeout passes, never cancelled' : ''}`);
    this.host.withdrawn();
    return { changed: true, view: this.view() };
  }

  /**
   * A door reading, before the session hears it: whether it should. While the override holds an
   * opening is the faulty sensor, unless it reported closed since: then it works again, the
   * override ends and this opening counts.
   */
  heard(d: LockEvents['door'][0]): boolean {
    const h = this.held;
    if (!h) return true;
    if (d.state === 'closed') {
      // the sensor's own reading (the door as the session reads it is closed anyway)
      if (this.host.lock.doorState === 'closed') h.sawClosed = true;
      return true;
    }
    if (!h.sawClosed) return false;
    this.held = null;
    this.host.logger.info({ event: 'door_override_ended' }, '门磁先报关、再报开，已恢复正常：门磁故障的确认自动结束 / the door sensor reported closed and then open: it works again, the override ended');
    this.storeEnd();
    return true;
  }

  /**
   * Clears the alarm of an override the sensor ended; a ledger refusal is logged once and the
   * clear retried while the session runs (the alarm left active would bring the override back at
   * the next start).
   */
  private storeEnd(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    try {
      this.host.alarms?.()?.clear('door_open', DOOR_OVERRIDE_SUBJECT, 'resolved', { strict: true });
    } catch (err) {
      if (!this.endUnstored) this.host.logger.error({ err, event: 'door_override_end_unstored' }, '门磁故障的确认已自动结束，但账本拒绝解除其告警：系统会一直重试；告警解除之前重启，会当确认仍然有效（门磁再次先报关、再报开时结束） / the door sensor override ended, but the ledger refused to clear its alarm: it is retried until it lands; a restart before then takes the override up again (until the sensor reports closed and then open once more)');
      this.endUnstored = true;
      if (this.host.running?.() ?? true) this.retry = setTimeout(() => this.retryEnd(), this.host.retryMs ?? 5000).unref();
      return;
    }
    if (this.endUnstored) this.host.logger.info({ event: 'door_override_end_stored' }, '门磁故障确认的告警已解除：重启后不会再当门是关着的 / the ended door sensor override\'s alarm is cleared: a restart will not take the override up again');
    this.endUnstored = false;
  }

  private retryEnd(): void {
    this.retry = undefined;
    // stopped: the next start tries again (restore)
    if (this.endUnstored && !this.held && (this.host.running?.() ?? true)) this.storeEnd();
  }

  /**
   * At start: an override alarm still active is the override set before the restart, unless
   * this process saw it end (its clear refused until now): then that clear is tried again.
   */
  restore(): void {
    if (this.endUnstored && !this.held) return this.storeEnd();
    if (this.held || !this.host.alarms?.()?.isActive('door_open', DOOR_OVERRIDE_SUBJECT)) return;
    this.held = { by: 'restart', at: this.host.now(), sawClosed: this.host.lock.doorState === 'closed' };
    this.host.logger.warn({ event: 'door_override_restored' }, '重启前确认过门磁故障（告警仍在）：继续当门是关着的，直到门磁先报关、再报开，或撤销 / the door sensor override set before the restart still holds (its alarm is active): the door counts as closed until the sensor reports closed and then open, or it is withdrawn');
  }

  private raise(by: string, at: number): void {
    const since = new Date(at).toISOString();
    this.host.alarms?.()?.raise('door_open', DOOR_OVERRIDE_SUBJECT, `${by} said at ${since} that the door is closed and its sensor faulty: the store runs blind at the door (nobody seen coming or going) until the sensor reports closed then open again, or the override is withdrawn on /door; check the door and the sensor / ${by} 于 ${since} 确认门已关、门磁故障：门店看不到进出，直到门磁先报关、再报开，或在 /door 撤销；请检查门和门磁`, 'critical', { strict: true });
  }
}

/** The lock with its door read through the override. */
class ReadAsClosed implements DoorSignals {
  constructor(private readonly o: DoorOverride) {}
  get doorState(): DoorSignals['doorState'] {
    return this.o.holds ? 'closed' : this.o.sensor.doorState;
  }
  on<K extends keyof LockEvents>(event: K, listener: (...args: LockEvents[K]) => void): unknown {
    return this.o.sensor.on(event, listener);
  }
  off<K extends keyof LockEvents>(event: K, listener: (...args: LockEvents[K]) => void): unknown {
    return this.o.sensor.off(event, listener);
  }
}
