/**
 * The lock as the store session hears it: the door contact, the exit button and the unlock
 * pulse, turned into the machine's events (machine.ts). Listener bodies run in the lock
 * driver's poll loop: whatever they throw is the session's fault to handle (`guard`), never
 * the driver's.
 */
import type { LockEvents } from '../../drivers/index.ts';
import type { FrontDoor } from './front-door.ts';
import type { Logger } from 'pino';
import type { Phase, SessionEvent, Visit } from './machine.ts';
import type { DoorSignals } from './ports.ts';

export interface LockWatchHost {
  lock: DoorSignals;
  door: FrontDoor;
  phase(): Phase;
  dispatch(e: SessionEvent): void;
  /** While entering: slots without a baseline that are at rest now get one. */
  settleBaseline(): void;
  /** Whether the visit's shelves changed (a cart line, or a review line other than a dead scale). */
  shelvesTouched(): boolean;
  current(): Visit | null;
  logger: Logger;
  /**
   * The daemon's clock (ms), what the visit records a door or button at: the driver stamps its
   * events with the machine's, which a simulated daemon clock may be far from (see `daemonTime`).
   */
  now(): number;
  /** Runs a listener body; what it throws becomes a fault of the session. */
  guard(where: string, body: () => void): void;
  /** The pulse began or ended: told to observers (the runner's `lock` event). */
  pulsed(released: boolean): void;
  /** session.door_settle_ms: how long after the pulse's end an unconfirmed relock is waited for. */
  doorSettleMs: number;
  /** Whether a door reading counts: not the faulty sensor a maintainer overrode (door-override.ts). */
  heard(d: LockEvents['door'][0]): boolean;
}

export class LockWatch {
  /** Whether the lock's unlock pulse runs (between its `unlocked` and `relocked`). */
  private released = false;
  /** Ends the pulse on the board's clock if the driver never confirms the relay off. */
  private pulseEnd: NodeJS.Timeout | undefined;
  /** A door found open at start with no visit open was told (once per start). */
  private openAtStartTold = false;

  constructor(private readonly host: LockWatchHost) {}

  /** Whether the unlock pulse runs: a door opening now is still the entry. */
  get pulseRunning(): boolean {
    return this.released;
  }

  start(): void {
    const { lock } = this.host;
    this.openAtStartTold = false;
    lock.on('door', this.onDoor);
    lock.on('exit_button', this.onExitButton);
    lock.on('unlocked', this.onUnlocked);
    lock.on('relocked', this.onRelocked);
  }

  stop(): void {
    const { lock } = this.host;
    lock.off('door', this.onDoor);
    lock.off('exit_button', this.onExitButton);
    lock.off('unlocked', this.onUnlocked);
    lock.off('relocked', this.onRelocked);
    this.released = false;
    clearTimeout(this.pulseEnd);
    this.pulseEnd = undefined;
  }

  /**
   * The door as it stands now counts, read as the lock's first reading would have been: the
   * lock driver starts polling with the hardware, before the session, so that reading may
   * have come before anyone listened. Called once the open visit is taken up at start (a
   * door standing open while it is `entering` is the villager who went in meanwhile), or found
   * not to exist (a door standing open then moved while the daemon was down).
   */
  doorAsItStands(): void {
    const state = this.host.lock.doorState;
    if (state !== 'unknown') this.onDoor({ state, initial: true, at: Date.now() }); // as the driver stamps it
  }

  /**
   * A driver's time (the machine's clock, Date.now) on the daemon's clock: as long before the
   * daemon's now as it is before the machine's. The visit records the daemon's time, while the
   * spans between the driver's events (a door opening within door_settle_ms of the first) stay
   * as the driver saw them.
   */
  private daemonTime(driverAt: number): number {
    return this.host.now() - (Date.now() - driverAt);
  }

  private readonly onDoor = (d: LockEvents['door'][0]): void => this.host.guard('door', () => {
    if (!this.host.heard(d)) return;
    // The first reading after a start says how the door stands, not that it moved: only while
    // entering does "open" mean the villager went in (during the power cut). While shopping it
    // is the villager still holding the door they came in by, not an exit.
    if (d.initial && this.host.phase() !== 'entering') {
      if (d.state === 'open' && this.host.phase() === 'idle') this.openAtStart();
      return;
    }
    if (!d.initial) this.host.door.doorMoved(d.state);
    // the last moment at which nobody of this visit can have touched a shelf
    if (d.state === 'open') this.host.settleBaseline();
    const at = this.daemonTime(d.at);
    this.host.dispatch(d.state === 'open' ? { type: 'door_opened', at } : { type: 'door_closed', at });
  });

  /**
   * Nobody's visit was open, yet the door stands open: it was opened while the daemon was down
   * (a key, the fire release, a break-in), and whoever opened it may be inside. Nobody's visit
   * takes it over (nothing is charged to anyone); the door holds the next villager until it has
   * closed, however long that takes, and the door-open alarm (edge/ops/door-watch.ts) runs as
   * for any open door, so a maintainer learns why the store turns villagers away.
   */
  private openAtStart(): void {
    if (this.openAtStartTold) return;
    this.openAtStartTold = true;
    this.host.logger.warn({ event: 'door_open_at_start' }, '启动时门开着，但没有进行中的购物：门在系统停机期间被打开过，可能有人在店内；门关上之前不放行任何人，请查看监控后关门 / the door stands open at start with no visit open: it was opened while the daemon was down and someone may be inside; nobody is let in until it has closed: check the camera and close it');
    this.host.door.openAtStart();
  }

  private readonly onExitButton = (b: LockEvents['exit_button'][0]): void => this.host.guard('exit button', () => {
    if (b.state !== 'pressed' || b.initial) return;
    this.host.door.exitPressed(); // the door opening after this is the villager leaving
    const at = this.daemonTime(b.at);
    if (this.host.phase() !== 'entering') return this.host.dispatch({ type: 'exit_button', at });
    // nobody of the visit was seen coming in: touched shelves say someone of it is inside
    const shelvesTouched = this.host.shelvesTouched();
    const v = this.host.current();
    this.host.logger.info({ event: 'exit_while_entering', sessionId: v?.sessionId, villagerId: v?.villagerId, shelvesTouched }, shelvesTouched
      ? '未见开门但货架有变动：按出门按钮即离店结算 / exit button before the door was seen to open, shelves touched: the visit leaves and is settled'
      : '进店时店内有人按出门按钮：下次开门算其离店，不算进店 / exit button while a villager is let in: the next door opening is someone leaving, not the entry');
    this.host.dispatch({ type: 'exit_button', at, shelvesTouched });
  });

  /**
   * The relay board times the pulse itself and drops the relay at `release_at`. The driver's
   * `relocked` confirms it; when its release check gets no answer (`release_unconfirmed`) no
   * `relocked` comes, and a visit waiting for one would take every later door opening for the
   * entry, never the villager leaving. So the pulse also ends `door_settle_ms` after its end.
   * A relay that really stayed on is the driver's `relay_stuck_on` alarm. A real timer on the
   * driver's own clock (`release_at` is the machine's time), never the daemon's: a simulated
   * clock far from the machine's, or one that jumps, must not stretch or cut the pulse.
   */
  private readonly onUnlocked = (u: LockEvents['unlocked'][0]): void => this.host.guard('unlock', () => {
    this.pulse(true);
    this.pulseEnd = setTimeout(() => {
      this.pulseEnd = undefined;
      this.host.guard('pulse end', () => this.pulse(false));
    }, Math.max(0, u.release_at - Date.now()) + this.host.doorSettleMs);
  });

  private readonly onRelocked = (): void => this.host.guard('relock', () => this.pulse(false));

  /** The lock's pulse, told to the visit (a door opening during it is the entry) and observers. */
  private pulse(released: boolean): void {
    clearTimeout(this.pulseEnd);
    this.pulseEnd = undefined;
    // an end already told (on the board's clock, then by a late `relocked`) is not told again
    if (released || this.released) this.host.pulsed(released);
    this.released = released;
    this.host.dispatch({ type: released ? 'lock_released' : 'lock_closed' });
  }
}
