/**
 * What a door opening means while a villager is inside (tests/session/rig.ts): during the
 * unlock pulse, or just after the door first opened, it is still the entry — a companion,
 * a second push, contact bounce — and never the villager's exit.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { store } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a door opened again while the unlock pulse runs', () => {
  it('is a companion coming in, not an exit: what the villager takes afterwards is hers, and the next villager waits', () => {
    const s = store();
    s.lock.unlock();
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.lock.door('open'); // a companion pushes the still-unlocked door
    s.lock.door('closed');
    s.scales.sweep();
    expect(s.engine.phase).toBe('shopping');
    expect(s.engine.isStoreBusy('B')).toBe(true);
    s.lock.relock();
    s.scales.rest('S1', 800); // A takes 2 soaps
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    expect(s.balance('A')).toBe(80);
  });

  it('once the lock has closed again, a door opening is the exit', () => {
    const s = store();
    s.lock.unlock();
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.lock.relock();
    s.scales.rest('S1', 900);
    s.lock.door('open');
    expect(s.engine.phase).toBe('exiting');
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 10 });
    expect(s.engine.phase).toBe('idle');
  });

  it('the unlock heard before the admission (an unlock without `admit`) still counts', () => {
    const s = store();
    s.lock.unlock();
    s.admit('A'); // onEntryDecision in idle: the visit is opened after the lock's event
    s.lock.door('open');
    s.lock.door('closed');
    s.lock.door('open');
    expect(s.engine.phase).toBe('shopping');
  });
});

describe('a pulse whose relock is never confirmed (the release check got no answer)', () => {
  it('ends door_settle_ms after the board drops the relay: before that a door opening is still the entry, after it the exit', () => {
    const s = store({ config: { door_settle_ms: 2000 } });
    const pulses: boolean[] = [];
    s.engine.on('lock', (l) => pulses.push(l.released));
    const t0 = Date.now(); // the door's times follow the timers (only they are faked)
    s.lock.unlock(3000); // no relock follows
    s.admit('A');
    s.lock.door('open', t0);
    s.lock.door('closed', t0 + 500);
    vi.advanceTimersByTime(4900); // the pulse ended 1.9 s ago
    s.lock.door('open', t0 + 4900); // a companion
    s.lock.door('closed', t0 + 4950);
    expect(s.engine.phase).toBe('shopping');
    vi.advanceTimersByTime(200);
    expect(pulses).toEqual([true, false]);
    s.scales.rest('S1', 900);
    s.lock.door('open', t0 + 5100); // A leaves by the handle
    expect(s.engine.phase).toBe('exiting');
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 10 });
    s.lock.relock(); // a late confirmation is not told again
    expect(pulses).toEqual([true, false]);
  });
});

describe('a door opening just after the first one (door_settle_ms)', () => {
  it('is still the entry; after the settle time it is the exit', () => {
    const s = store({ config: { door_settle_ms: 2000 } });
    s.admit('A');
    s.lock.door('open', 10_000);
    s.lock.door('closed', 10_300);
    s.lock.door('open', 11_500); // bounce or a companion, 1.5 s after
    expect(s.engine.phase).toBe('shopping');
    s.lock.door('closed', 11_800);
    s.lock.door('open', 12_500); // 2.5 s after the first opening, the lock closed: leaving
    expect(s.engine.phase).toBe('exiting');
  });
});
