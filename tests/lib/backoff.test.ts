import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from '../../lib/backoff.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Backoff', () => {
  it('doubles from the first wait up to the cap and stays there; reset starts over', () => {
    const b = new Backoff({ firstMs: 500, maxMs: 3000 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000, 3000, 3000]);
    expect(b.attempts).toBe(5);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(500);
  });

  it('grows by the given factor', () => {
    const b = new Backoff({ firstMs: 100, maxMs: 10_000, factor: 3 });
    expect([b.next(), b.next(), b.next()]).toEqual([100, 300, 900]);
  });

  it('jitter takes a random part off each wait, never more than the wait itself', () => {
    const low = new Backoff({ firstMs: 1000, maxMs: 8000, jitter: 0.5, random: () => 0.999999 });
    const high = new Backoff({ firstMs: 1000, maxMs: 8000, jitter: 0.5, random: () => 0 });
    expect([low.next(), low.next()]).toEqual([500, 1000]);
    expect([high.next(), high.next()]).toEqual([1000, 2000]);
  });

  it('schedule runs the attempt after the wait, once, and ignores a second request meanwhile', () => {
    const b = new Backoff({ firstMs: 200, maxMs: 1000 });
    const attempt = vi.fn();
    expect(b.schedule(attempt)).toBe(200);
    expect(b.schedule(attempt)).toBeNull(); // a burst of failure reports: one attempt
    expect(b.pending).toBe(true);
    vi.advanceTimersByTime(199);
    expect(attempt).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(b.pending).toBe(false);
    expect(b.schedule(attempt)).toBe(400);
    vi.advanceTimersByTime(400);
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it('cancel drops the scheduled attempt', () => {
    const b = new Backoff({ firstMs: 100, maxMs: 100 });
    const attempt = vi.fn();
    b.schedule(attempt);
    b.cancel();
    vi.advanceTimersByTime(1000);
    expect(attempt).not.toHaveBeenCalled();
    expect(b.pending).toBe(false);
  });

  it('refuses options that make no sense, naming the option', () => {
    expect(() => new Backoff({ firstMs: -1, maxMs: 10 })).toThrow(/firstMs/);
    expect(() => new Backoff({ firstMs: 100, maxMs: 10 })).toThrow(/maxMs/);
    expect(() => new Backoff({ firstMs: 1, maxMs: 10, factor: 0.5 })).toThrow(/factor/);
    expect(() => new Backoff({ firstMs: 1, maxMs: 10, jitter: 2 })).toThrow(/jitter/);
  });
});
