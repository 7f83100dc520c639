/**
 * The door held open: the door contact open for longer than `alarms.door_open_s` raises the
 * `door_open` alarm, which clears when the door closes. A door propped open, a cart left in the
 * doorway or a latch that did not catch lets anyone walk in unseen, and nobody works in the
 * store to notice. It runs on the lock's own door events with a timer of its own rather than in
 * AlarmWatch's periodic check: the alarm comes when the limit passes, and a door that stood
 * open between two checks is not missed. The session engine is not involved: whether a visit is
 * open or not, a door standing open is the same condition.
 */
import type { DoorState, LockEvents } from '../../drivers/lock/lock-driver.ts';
import type { Part } from '../parts.ts';
import type { AlarmBoard } from './alarms.ts';

/** What the watch needs of the lock driver (drivers/lock/lock-driver.ts LockDriver fits): the door contact. */
export interface DoorContact {
  readonly doorState: DoorState;
  on(event: 'door', listener: (d: LockEvents['door'][0]) => void): unknown;
  off(event: 'door', listener: (d: LockEvents['door'][0]) => void): unknown;
}

export interface DoorWatchDeps {
  /** The lock, once the hardware has started (undefined: a daemon without one). */
  lock: () => DoorContact | undefined;
  board: AlarmBoard;
  /** Seconds the door may stand open; 0: no alarm. */
  openS: number;
  now?: () => number;
}

export const DOOR_OPEN_SUBJECT = 'door';

export class DoorWatch implements Part {
  readonly name = 'door watch';
  readonly critical = false;
  private timer: NodeJS.Timeout | undefined;
  private openedAt: number | undefined;
  private lock: DoorContact | undefined;

  constructor(private readonly deps: DoorWatchDeps) {}

  /** After the hardware: the door as it stands now counts (open at start, or closed after a run that left the alarm). */
  start(): void {
    this.lock = this.deps.lock();
    if (!this.lock) return;
    this.lock.on('door', this.onDoor);
    const state = this.lock.doorState;
    if (state !== 'unknown') this.onDoor({ state, initial: true, at: (this.deps.now ?? Date.now)() });
  }

  stop(): void {
    this.lock?.off('door', this.onDoor);
    this.lock = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onDoor = (d: LockEvents['door'][0]): void => {
    const { board, openS } = this.deps;
    if (d.state === 'open') {
      // The first opening counts: a contact that reports open again does not restart the wait.
      if (this.openedAt !== undefined || openS <= 0) return;
      this.openedAt = d.at;
      this.timer = setTimeout(() => {
        const since = new Date(this.openedAt ?? d.at).toISOString();
        board.raise('door_open', DOOR_OPEN_SUBJECT, `the door has stood open since ${since}, longer than ${openS} s; someone may walk in unseen: close it or check the camera / 门自 ${since} 起已开着超过 ${openS} 秒，可能有人未经识别进入：请关门或查看监控`);
      }, openS * 1000);
      this.timer.unref();
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.openedAt = undefined;
    // Closed (or found closed at start, after a run that left the alarm active).
    if (board.isActive('door_open', DOOR_OPEN_SUBJECT)) board.clear('door_open', DOOR_OPEN_SUBJECT);
  };
}
