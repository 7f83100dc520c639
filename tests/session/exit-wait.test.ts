/**
 * The exit wait counted in the scales' reading time: a slot still moving extends the wait up to
 * `exit_settle_max_ms`, each slot is decided from the sweep it came to rest in, and a slot still
 * moving at the bound is a review line. Timers and performance.now() are faked, so "reading
 * time" is the fake clock and the sweeps are the test's.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sessionReview } from '../../edge/ledger/sessions.ts';
import { store } from './rig.ts';

const config = { stability_wait_ms: 1500, exit_settle_max_ms: 10_000 };
const SWEEP_MS = 100;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A inside, the door closed behind her; `take` changes the shelves, then she presses exit. */
function leaving(take: (s: ReturnType<typeof store>) => void) {
  const s = store({ config });
  s.admit('A');
  s.lock.door('open');
  s.lock.door('closed');
  take(s);
  s.lock.exit();
  expect(s.engine.phase).toBe('exiting');
  const exitAt = performance.now();
  /** Sweeps every SWEEP_MS of reading time until `untilMs` after the exit, while the session still waits. */
  const sweepUntil = (untilMs: number): void => {
    while (performance.now() - exitAt + SWEEP_MS <= untilMs && s.engine.phase === 'exiting') {
      vi.advanceTimersByTime(SWEEP_MS);
      s.scales.sweep();
    }
  };
  const review = (): string[] => sessionReview(s.db, s.session('A')?.id ?? '').map((r) => `${r.slot}:${r.reason}`);
  return { s, exitAt, sweepUntil, review };
}

describe('the exit wait on the scales’ reading time', () => {
  it('a slot that comes to rest 1.5× the normal wait after the exit is charged right', () => {
    const { s, sweepUntil, review } = leaving((x) => x.scales.move('S1')); // her hand still on S1
    sweepUntil(2200);
    expect(s.engine.phase).toBe('exiting'); // still moving after the normal wait: the wait goes on
    s.scales.rest('S1', 800); // two soaps gone, at rest 2250 ms after the exit
    sweepUntil(2300);
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20, chargedPoints: 20 });
    expect(review()).toEqual([]);
    expect(s.balance('A')).toBe(80);
  });

  it('readings taken soon after the exit do not end the wait, however late the daemon gets to them', () => {
    const { s, review } = leaving((x) => x.scales.move('S1'));
    vi.advanceTimersByTime(3000); // the event loop busy: no sweep handled for 3 s of wall clock
    expect(s.engine.phase).toBe('exiting');
    s.scales.sweep(2950); // the sweep that just finished read S1 50 ms after the exit: still moving
    expect(s.engine.phase).toBe('exiting');
    s.scales.rest('S1', 900);
    vi.advanceTimersByTime(SWEEP_MS);
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', chargedPoints: 10 });
    expect(review()).toEqual([]);
  });

  it('each slot is decided from the sweep it came to rest in', () => {
    const { s, sweepUntil } = leaving((x) => {
      x.scales.rest('S1', 800);
      x.scales.move('S2');
    });
    sweepUntil(500); // S1 at rest on 800 g from the first sweep on; S2 still moving
    s.scales.move('S1'); // a soap left rocking on S1
    s.scales.rest('S2', 900);
    sweepUntil(600);
    expect(s.session('A')).toMatchObject({ status: 'settled', chargedPoints: 30 });
  });

  it('a slot that never comes to rest: a not_stable review line once the readings pass exit_settle_max_ms, the rest charged', () => {
    const { s, exitAt, sweepUntil, review } = leaving((x) => {
      x.scales.rest('S2', 900); // one soap from S2
      x.scales.move('S1'); // S1 keeps swinging
    });
    sweepUntil(config.exit_settle_max_ms - SWEEP_MS);
    expect(s.engine.phase).toBe('exiting');
    sweepUntil(config.exit_settle_max_ms + SWEEP_MS);
    expect(performance.now() - exitAt).toBeGreaterThanOrEqual(config.exit_settle_max_ms);
    expect(s.session('A')).toMatchObject({ status: 'settled', chargedPoints: 10 });
    expect(review()).toEqual(['S1:not_stable']);
  });

  it('scales that stop sweeping: the wall clock ends the wait one normal wait after the longest one', () => {
    const { s, review } = leaving((x) => x.scales.move('S1'));
    vi.advanceTimersByTime(config.exit_settle_max_ms + config.stability_wait_ms - 10);
    expect(s.engine.phase).toBe('exiting');
    vi.advanceTimersByTime(20);
    expect(s.session('A')).toMatchObject({ status: 'settled', chargedPoints: 0 });
    expect(review()).toEqual(['S1:not_stable']);
  });
});
