/**
 * The exit button pressed while a visit is `entering` (tests/session/rig.ts): the villager was
 * let in and the door unlocked, but nobody of the visit has been seen inside. The button is
 * inside the store: whoever pressed it is leaving, and the door opening that follows is theirs.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { store, timings } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A is let in; before she opens the door, someone inside presses exit and goes out. */
function someoneLeavesWhileAEnters(s: ReturnType<typeof store>): void {
  s.admit('A');
  s.lock.unlock();
  expect(s.engine.phase).toBe('entering');
  s.lock.exit();
  s.lock.door('open'); // the one leaving
  s.lock.door('closed');
}

describe('the exit button while entering, the shelves untouched', () => {
  it("the leaver's door opening is not A's entry: A changed her mind, the visit is cancelled, nothing charged, the store free", () => {
    const s = store();
    someoneLeavesWhileAEnters(s);
    expect(s.engine.phase).toBe('entering');
    expect(s.session('A')).toMatchObject({ status: 'open', state: 'entering' });
    s.lock.relock();
    vi.advanceTimersByTime(timings.entering_timeout_ms);
    expect(s.engine.phase).toBe('idle');
    const row = s.session('A')!;
    expect(row.status).toBe('cancelled');
    expect((row.context as { cancelReason: string }).cancelReason).toMatch(/exit button.*\/.*出门按钮/);
    expect(s.balance('A')).toBe(100);
    expect(s.engine.isStoreBusy('B')).toBe(false);
    expect(s.engine.admit('B', 'card')).toMatchObject({ ok: true });
  });

  it('A waited outside for the leaver: let in again on the same visit, her door opening takes her inside', () => {
    const s = store();
    someoneLeavesWhileAEnters(s);
    s.lock.relock();
    // the leaver's opening gave her the full wait again
    vi.advanceTimersByTime(timings.entering_timeout_ms - 1);
    expect(s.engine.phase).toBe('entering');
    const first = s.engine.current!.sessionId;
    expect(s.engine.admit('A', 'card')).toMatchObject({ ok: true, sessionId: first });
    s.admit('A');
    s.lock.unlock();
    s.lock.door('open');
    expect(s.engine.phase).toBe('shopping');
    s.lock.relock();
    s.lock.door('closed');
    s.scales.rest('S1', 900);
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ id: first, status: 'settled', totalPoints: 10 });
  });

  it('two leave while A waits outside: the second exit press is a leaver too, never A going out; A, in after them, pays for what she takes and B waits for her', () => {
    const s = store();
    someoneLeavesWhileAEnters(s);
    s.lock.relock();
    s.lock.exit(); // a second person leaving: A is still outside
    s.scales.sweep();
    s.lock.door('open');
    s.lock.door('closed');
    expect(s.engine.isStoreBusy('B')).toBe(true);
    expect(s.engine.admit('B', 'card')).toMatchObject({ ok: false });
    s.admit('A');
    s.lock.unlock();
    s.lock.door('open'); // A goes in
    s.lock.relock();
    s.lock.door('closed');
    s.scales.rest('S1', 900);
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 10 });
    expect(s.balance('A')).toBe(90);
    expect(s.balance('B')).toBe(100);
  });

  it('A slipped in as the leaver went out and took a soap: her visit goes inside and she is charged for it', () => {
    const s = store();
    someoneLeavesWhileAEnters(s);
    s.scales.rest('S1', 900);
    s.scales.sweep();
    vi.advanceTimersByTime(timings.entering_timeout_ms);
    expect(s.engine.phase).toBe('shopping');
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 10 });
    expect(s.balance('A')).toBe(90);
  });
});

describe('the exit button while entering, the shelves touched', () => {
  it('is the visit leaving (she went in unseen, the door contact missed her): settled at once, charged for what she took, never left entering', () => {
    const s = store();
    s.admit('A');
    s.scales.rest('S1', 900);
    s.scales.sweep();
    expect(s.engine.phase).toBe('entering');
    s.lock.exit();
    expect(s.engine.phase).not.toBe('entering');
    s.scales.sweep();
    expect(s.engine.phase).toBe('idle');
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 10 });
    expect(s.balance('A')).toBe(90);
    // the one who pressed is walking out: the next villager waits for the door
    expect(s.engine.isStoreBusy('B')).toBe(true);
    s.lock.door('open');
    s.lock.door('closed');
    expect(s.engine.isStoreBusy('B')).toBe(false);
  });
});
