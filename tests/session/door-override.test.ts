/**
 * The maintainer's override of a door sensor stuck open (edge/session/door-override.ts): "the
 * door is closed, its sensor is faulty". A door open at start holds every villager until it
 * closes (door-at-start.test.ts); a contact that never reports closed would hold them for ever.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DOOR_OVERRIDE_SUBJECT, type OverrideAlarms } from '../../edge/session/door-override.ts';
import { store, timings } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** The alarm board as the override uses it: the active (kind, subject) pairs and their detail. */
function board() {
  const active = new Map<string, { detail: string; severity: string }>();
  const alarms: OverrideAlarms = {
    raise: (kind, subject, detail, severity) => active.set(`${kind} ${subject}`, { detail, severity }),
    clear: (kind, subject) => active.delete(`${kind} ${subject}`),
    isActive: (kind, subject) => active.has(`${kind} ${subject}`),
  };
  return { alarms, active, override: () => active.get(`door_open ${DOOR_OVERRIDE_SUBJECT}`) };
}

/** The daemon starts with the door sensor stuck open and nobody's visit open. */
function stuckOpen(b = board()) {
  const s = store({ start: false, alarms: () => b.alarms });
  s.lock.doorState = 'open';
  s.engine.start();
  expect(s.engine.isStoreBusy('B')).toBe(true); // held by the door "standing open"
  return { s, b };
}

describe('the door sensor override', () => {
  it('lets the next villager in, raises a critical alarm that stays while it holds, and the visit runs blind: in by the shelves, out by the exit button', () => {
    const { s, b } = stuckOpen();
    const r = s.engine.doorSensor.set('maint');
    expect(r).toMatchObject({ ok: true, changed: true, view: { holds: true, by: 'maint', sensor: 'open' } });
    expect(b.override()).toMatchObject({ severity: 'critical' });
    expect(b.override()!.detail).toMatch(/maint.*sensor.*\/ .*门磁/);
    expect(s.engine.isStoreBusy('B')).toBe(false);
    s.admit('B');
    expect(s.engine.phase).toBe('entering'); // the stuck contact is not her walking in
    s.lock.door('open'); // the faulty contact reports open again: not heard
    expect(s.engine.phase).toBe('entering');
    s.scales.rest('S1', 900); // she takes a soap
    s.scales.emit('change', { slot: 'S1', delta_g: -100 });
    vi.advanceTimersByTime(timings.entering_timeout_ms);
    expect(s.engine.phase).toBe('shopping');
    s.lock.door('open'); // still not heard: no exit by a door that never closed
    expect(s.engine.phase).toBe('shopping');
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('B')).toMatchObject({ status: 'settled', totalPoints: 10 });
    expect(s.engine.doorSensor.view().holds).toBe(true);
    expect(b.override()).toBeDefined();
  });

  it('a villager who walks in and touches nothing for the entering timeout is inside, not cancelled: the next villager waits, and is never charged for her pick', () => {
    const { s } = stuckOpen();
    s.engine.doorSensor.set('maint');
    s.admit('B');
    vi.advanceTimersByTime(timings.entering_timeout_ms); // she walks in and looks around, touching nothing
    expect(s.engine.phase).toBe('shopping'); // blind at the door: her visit stays open
    expect(s.session('B')).toMatchObject({ status: 'open' });
    expect(s.engine.isStoreBusy('A')).toBe(true); // nobody else is let in while it is open
    s.scales.rest('S1', 900); // she takes a soap
    s.scales.emit('change', { slot: 'S1', delta_g: -100 });
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('B')).toMatchObject({ status: 'settled', totalPoints: 10 });
    expect(s.engine.phase).toBe('idle');
  });

  it('a visit nobody ends by the exit button ends by the idle timeout', () => {
    const { s } = stuckOpen();
    s.engine.doorSensor.set('maint');
    s.admit('B');
    vi.advanceTimersByTime(timings.entering_timeout_ms);
    expect(s.engine.phase).toBe('shopping');
    vi.advanceTimersByTime(timings.shopping_idle_timeout_ms);
    expect(s.engine.phase).toBe('exiting');
    s.scales.sweep();
    expect(s.session('B')).toMatchObject({ status: 'settled', totalPoints: 0 });
  });

  it('is refused while the sensor does not report the door open (nothing to override), and set twice is one override', () => {
    const b = board();
    const s = store({ alarms: () => b.alarms });
    expect(s.engine.doorSensor.set('maint')).toMatchObject({ ok: false, reason: 'sensor_not_open', view: { holds: false, sensor: 'closed' } });
    expect(b.override()).toBeUndefined();
    const { s: t } = stuckOpen(b);
    expect(t.engine.doorSensor.set('maint').ok).toBe(true);
    expect(t.engine.doorSensor.set('other')).toMatchObject({ ok: true, changed: false, view: { by: 'maint' } });
  });

  it('ends when the sensor reports closed and then open: it works again, that opening counts, the alarm clears', () => {
    const { s, b } = stuckOpen();
    s.engine.doorSensor.set('maint');
    s.admit('B');
    s.lock.door('closed'); // the sensor comes back
    expect(s.engine.doorSensor.view().holds).toBe(true);
    expect(s.engine.phase).toBe('entering');
    s.lock.door('open'); // a real opening: hers
    expect(s.engine.doorSensor.view().holds).toBe(false);
    expect(b.override()).toBeUndefined();
    expect(s.engine.phase).toBe('shopping');
  });

  it('withdrawn by the maintainer: the sensor is believed again, the door it reports open holds the next villager', () => {
    const { s, b } = stuckOpen();
    s.engine.doorSensor.set('maint');
    expect(s.engine.isStoreBusy('B')).toBe(false);
    expect(s.engine.doorSensor.withdraw('maint')).toMatchObject({ changed: true, view: { holds: false } });
    expect(b.override()).toBeUndefined();
    expect(s.engine.isStoreBusy('B')).toBe(true);
    expect(s.engine.doorSensor.withdraw('maint').changed).toBe(false);
  });

  it('withdrawn while an admitted visit is entering: the visit is not cancelled; she goes inside at the entering timeout and is charged for what she takes', () => {
    const { s } = stuckOpen();
    s.engine.doorSensor.set('maint');
    s.admit('B'); // let in under the override: the door cannot be seen to open for her
    s.engine.doorSensor.withdraw('maint'); // a moment later, the maintainer takes it back
    expect(s.engine.phase).toBe('entering');
    vi.advanceTimersByTime(timings.entering_timeout_ms); // she is inside, touching nothing yet
    expect(s.engine.phase).toBe('shopping');
    expect(s.session('B')).toMatchObject({ status: 'open' });
    expect(s.engine.isStoreBusy('A')).toBe(true);
    s.scales.rest('S1', 900); // she takes a soap
    s.scales.emit('change', { slot: 'S1', delta_g: -100 });
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('B')).toMatchObject({ status: 'settled', totalPoints: 10 });
    // the next visit, admitted after the withdrawal, is read by the sensor again
    s.lock.door('open'); // she goes out (the sensor works again)
    s.lock.door('closed');
    s.admit('A');
    expect(s.engine.phase).toBe('entering');
    vi.advanceTimersByTime(timings.entering_timeout_ms);
    expect(s.session('A')).toMatchObject({ status: 'cancelled' });
  });

  it('holds across a restart while its alarm is active', () => {
    const { s, b } = stuckOpen();
    s.engine.doorSensor.set('maint');
    s.engine.stop();
    const again = store({ start: false, alarms: () => b.alarms }); // the same alarm board: the override's alarm still active
    again.lock.doorState = 'open';
    again.engine.start();
    expect(again.engine.doorSensor.view()).toMatchObject({ holds: true, by: 'restart' });
    expect(again.engine.isStoreBusy('B')).toBe(false);
  });
});
