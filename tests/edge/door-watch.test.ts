/**
 * The door held open: `door_open` is raised once the door contact has stood open for
 * `alarms.door_open_s`, never for a door that closes in time, and cleared when it closes; the
 * door as it stands at start counts. On fake timers, with the real AlarmBoard over a ledger.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { Value } from '@sinclair/typebox/value';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { AlarmsConfigSchema } from '../../edge/ops/alarms-config.ts';
import { DoorWatch, type DoorContact } from '../../edge/ops/door-watch.ts';
import type { DoorState } from '../../drivers/lock/lock-driver.ts';
import { captureLogger, simulatedLock, until } from '../drivers/helpers.ts';

const log = pino({ level: 'silent' });

class FakeLock extends EventEmitter implements DoorContact {
  doorState: DoorState = 'closed';
  move(state: 'open' | 'closed'): void {
    this.doorState = state;
    this.emit('door', { state, initial: false, at: Date.now() });
  }
}

let db: Db | undefined;
let watch: DoorWatch | undefined;
afterEach(() => {
  watch?.stop();
  watch = undefined;
  vi.useRealTimers();
  if (db) closeLedger(db);
  db = undefined;
});

function rig(state: DoorState = 'closed'): { lock: FakeLock; board: AlarmBoard; active: () => boolean } {
  vi.useFakeTimers();
  db = openLedger(':memory:');
  const board = new AlarmBoard(() => db!, log);
  const lock = new FakeLock();
  lock.doorState = state;
  return { lock, board, active: () => board.isActive('door_open', 'door') };
}

describe('the door held open', () => {
  it('is raised once the door has stood open for door_open_s, and cleared when it closes', () => {
    const { lock, board, active } = rig();
    watch = new DoorWatch({ lock: () => lock, board, openS: 60 });
    watch.start();
    lock.move('open');
    vi.advanceTimersByTime(59_000);
    expect(active()).toBe(false);
    // the contact saying open again does not restart the wait
    lock.move('open');
    vi.advanceTimersByTime(1_000);
    expect(active()).toBe(true);
    expect(board.active()[0]).toMatchObject({ kind: 'door_open', subject: 'door', severity: 'warning' });
    expect(board.active()[0]!.detail).toMatch(/longer than 60 s.*超过 60 秒/);
    lock.move('closed');
    expect(active()).toBe(false);
  });

  it('is not raised for a door that closes in time, however often it opens', () => {
    const { lock, board, active } = rig();
    watch = new DoorWatch({ lock: () => lock, board, openS: 60 });
    watch.start();
    for (let i = 0; i < 5; i++) {
      lock.move('open');
      vi.advanceTimersByTime(30_000);
      lock.move('closed');
      vi.advanceTimersByTime(30_000);
    }
    vi.advanceTimersByTime(600_000);
    expect(active()).toBe(false);
    expect(board.recent(10)).toHaveLength(0);
  });

  it('counts the door as it stands at start: open starts the wait, closed clears an alarm a previous run left', () => {
    const open = rig('open');
    watch = new DoorWatch({ lock: () => open.lock, board: open.board, openS: 60 });
    watch.start();
    vi.advanceTimersByTime(60_000);
    expect(open.active()).toBe(true);
    // the daemon stops with the alarm active and starts again with the door shut
    watch.stop();
    open.lock.doorState = 'closed';
    watch = new DoorWatch({ lock: () => open.lock, board: open.board, openS: 60 });
    watch.start();
    expect(open.active()).toBe(false);
  });

  it('raises nothing with door_open_s 0 or without a lock; stop ends the wait', () => {
    const { lock, board, active } = rig();
    watch = new DoorWatch({ lock: () => lock, board, openS: 0 });
    watch.start();
    lock.move('open');
    vi.advanceTimersByTime(86_400_000);
    expect(active()).toBe(false);
    watch.stop();
    watch = new DoorWatch({ lock: () => undefined, board, openS: 60 });
    watch.start();
    watch.stop();
    watch = new DoorWatch({ lock: () => lock, board, openS: 60 });
    lock.doorState = 'closed';
    watch.start();
    lock.move('open');
    watch.stop();
    vi.advanceTimersByTime(120_000);
    expect(active()).toBe(false);
    expect(lock.listenerCount('door')).toBe(0);
  });

  it('defaults to 60 s, and the config refuses a negative wait', () => {
    expect((Value.Default(AlarmsConfigSchema, {}) as { door_open_s: number }).door_open_s).toBe(60);
    expect(Value.Check(AlarmsConfigSchema, { door_open_s: -1 })).toBe(false);
  });
});

describe('the door held open, on the real lock driver over the simulated relay board', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  it('a door forced open and left raises door_open once door_open_s has passed, and closing it clears the alarm', async () => {
    const { logger } = captureLogger();
    const { relay, lock, stop } = await simulatedLock(logger, { lock: { input_poll_ms: 20 } });
    stops.push(stop);
    db = openLedger(':memory:');
    const board = new AlarmBoard(() => db!, log);
    watch = new DoorWatch({ lock: () => lock, board, openS: 1 });
    watch.start();
    relay.openDoor({ force: true });
    await until(() => board.isActive('door_open', 'door'), 10_000, 'the door_open alarm');
    relay.closeDoor();
    await until(() => !board.isActive('door_open', 'door'), 10_000, 'the alarm cleared');
    expect(board.recent(10).map((a) => [a.kind, a.cleared_by])).toEqual([['door_open', 'resolved']]);
  });
});
