/**
 * Every effect of the session runner failing on a ledger (or driver) error: the daemon's
 * loops never see the exception, the visit goes to `fault` and shows on the health board,
 * the retry resumes it, and afterwards the ledger says what memory says.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listEntries } from '../../edge/ledger/entries.ts';
import { listSessions } from '../../edge/ledger/sessions.ts';
import { FakeScales, failWhen, store, timings } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

type Rig = ReturnType<typeof store>;

/** Memory and ledger agree: the open row's state is the engine's phase, or nothing is open when idle. */
function agree(s: Rig): void {
  const open = listSessions(s.db).filter((x) => x.status === 'open');
  if (s.engine.phase === 'idle') expect(open).toEqual([]);
  else expect(open.map((x) => [x.id, x.state])).toEqual([[s.engine.current?.sessionId, s.engine.phase]]);
}

const health = (s: Rig): string => s.board.report().status;

/** After the retry: A takes two soaps (S1) and leaves; charged once, 20 points. */
function shopAndLeave(s: Rig, opened = true): void {
  if (!opened) {
    s.lock.door('open');
    s.lock.door('closed');
  }
  s.scales.rest('S1', 800);
  s.lock.exit();
  s.scales.sweep();
  expect(s.engine.phase).toBe('idle');
  expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
  expect(s.balance('A')).toBe(80);
  expect(listEntries(s.db, 'A').filter((e) => e.kind === 'redemption')).toHaveLength(1);
  agree(s);
  expect(health(s)).toBe('ok');
}

describe('an effect failing on a ledger error', () => {
  it('publishing the cart (a shelf change while shopping): fault, retry, shopping again', () => {
    const s = store();
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    const stop = failWhen(s.db, (sql) => sql.startsWith('SELECT * FROM slots'));
    expect(() => s.scales.emit('change', { slot: 'S1', from_g: 1000, to_g: 900, delta_g: -100, at: Date.now() })).not.toThrow();
    expect(s.engine.phase).toBe('fault');
    expect(s.faults.map((f) => f.where)).toEqual(['effect']);
    expect(health(s)).toBe('degraded');
    expect(s.board.report().parts['store session']?.detail).toContain('disk I/O error');
    agree(s);
    vi.advanceTimersByTime(timings.settle_retry_ms + 10); // still failing: fault again
    expect(s.engine.phase).toBe('fault');
    stop();
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.engine.phase).toBe('shopping');
    agree(s);
    shopAndLeave(s);
  });

  it('reading the products at admission (the visit records them): the door stays shut, the next scan is let in', () => {
    const s = store();
    const stop = failWhen(s.db, (sql) => sql.startsWith('SELECT * FROM products'));
    expect(s.engine.admit('A', 'card')).toMatchObject({ ok: false, reason: 'not_recorded' });
    expect(s.engine.phase).toBe('idle');
    agree(s);
    stop();
    expect(s.engine.admit('A', 'card')).toMatchObject({ ok: true });
    shopAndLeave(s, false);
  });

  it('the entering timer weighing the shelves: fault, retry, entering again; then the visit goes on', () => {
    const s = store();
    s.admit('A');
    const stop = failWhen(s.db, (sql) => sql.startsWith('SELECT * FROM slots'));
    expect(() => vi.advanceTimersByTime(timings.entering_timeout_ms + 10)).not.toThrow();
    expect(s.engine.phase).toBe('fault');
    agree(s);
    stop();
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.engine.phase).toBe('entering');
    agree(s);
    shopAndLeave(s, false);
  });

  it('an exit pressed while in fault is not lost: the retry resumes the exit', () => {
    const s = store();
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    const stop = failWhen(s.db, (sql) => sql.startsWith('SELECT * FROM slots'));
    s.scales.emit('change', { slot: 'S1', from_g: 1000, to_g: 800, delta_g: -200, at: Date.now() });
    s.scales.rest('S1', 800);
    s.lock.exit();
    expect(s.engine.phase).toBe('fault');
    stop();
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.engine.phase).toBe('exiting');
    s.scales.sweep(); // the scales report since the start
    s.scales.sweep(); // and are at rest
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    agree(s);
    expect(health(s)).toBe('ok');
  });

  it('building the receipt after the settlement committed: fault, retry, one charge and one receipt', () => {
    const s = store();
    const receipts: number[] = [];
    s.engine.on('receipt', (r) => receipts.push(r.totalPoints));
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 800);
    s.lock.exit();
    const stop = failWhen(s.db, (sql, raw) => sql.startsWith('SELECT * FROM villagers WHERE id') && !s.db.inTransaction
      && raw.prepare("SELECT status FROM store_sessions WHERE villager_id = 'A'").pluck().get() === 'settled');
    expect(() => s.scales.sweep()).not.toThrow();
    expect(s.engine.phase).toBe('fault');
    expect(s.session('A')?.status).toBe('settled');
    expect(health(s)).toBe('degraded');
    stop();
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.engine.phase).toBe('idle');
    expect(receipts).toEqual([20]);
    expect(s.balance('A')).toBe(80);
    expect(listEntries(s.db, 'A').filter((e) => e.kind === 'redemption')).toHaveLength(1);
    agree(s);
    expect(health(s)).toBe('ok');
  });

  it('a settlement failing (the sweep path) shows on the health board until the retry lands', () => {
    const s = store();
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 800);
    s.lock.exit();
    const stop = failWhen(s.db, (sql) => sql.startsWith('INSERT INTO session_lines'));
    s.scales.sweep();
    expect(s.engine.phase).toBe('fault');
    expect(health(s)).toBe('degraded');
    stop();
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    expect(health(s)).toBe('ok');
  });

  it('a session write refused shows on the health board until it lands', () => {
    const s = store();
    const stop = failWhen(s.db, (sql) => sql.startsWith('INSERT INTO store_sessions'));
    s.admit('A');
    expect(s.engine.phase).toBe('entering');
    expect(health(s)).toBe('degraded');
    stop();
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(health(s)).toBe('ok');
    agree(s);
  });
});

describe('a driver or ledger call failing inside a listener', () => {
  it('the lock poll (door opened) reading a scale that throws: fault, retry, the visit goes on', () => {
    const s = store();
    s.scales.move('S1'); // no baseline for S1: the door opening reads the scales to fill it
    s.admit('A');
    const status = s.scales.status.bind(s.scales);
    let broken = true;
    s.scales.status = () => {
      if (broken) throw new Error('scale bus gone');
      return status();
    };
    expect(() => s.lock.door('open')).not.toThrow();
    expect(s.engine.phase).toBe('fault');
    broken = false;
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.engine.phase).toBe('entering');
    s.lock.door('closed');
    s.lock.door('open'); // the villager pushes the door again
    expect(s.engine.phase).toBe('shopping');
  });

  it('a sweep while exiting whose readings cannot be taken: fault, retry, settled right', () => {
    const s = store();
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 800);
    s.lock.exit();
    const status = s.scales.status.bind(s.scales);
    let broken = true;
    s.scales.status = () => {
      if (broken) throw new Error('scale bus gone');
      return status();
    };
    expect(() => s.scales.sweep()).not.toThrow();
    expect(s.engine.phase).toBe('fault');
    broken = false;
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.engine.phase).toBe('exiting');
    s.scales.sweep();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    agree(s);
  });

  it('an entry decision whose villager cannot be read: reported, the daemon goes on, the next visit works', () => {
    const s = store();
    const stop = failWhen(s.db, (sql) => sql.startsWith('SELECT * FROM villagers WHERE id'));
    expect(() => s.admit('A')).not.toThrow();
    expect(s.engine.phase).toBe('idle');
    expect(s.faults.map((f) => f.where)).toEqual(['effect']);
    expect(health(s)).toBe('degraded');
    stop();
    s.admit('A');
    expect(s.engine.phase).toBe('entering');
    expect(health(s)).toBe('ok');
  });
});

/** Runs the pending timers one at a time until `done` holds (at most `max` of them). */
function until(done: () => boolean, max = 20): void {
  for (let i = 0; i < max && !done(); i++) vi.advanceTimersToNextTimer();
  expect(done()).toBe(true);
}

describe('the resume at start failing to read the open session', () => {
  /** A takes two soaps; the power goes; the restart's reads of the open session fail until the switch returned is called. */
  function restartUnreadable(): { again: Rig; readable: () => void } {
    const first = store();
    first.admit('A');
    first.lock.door('open');
    first.lock.door('closed');
    first.scales.rest('S1', 800);
    first.engine.stop(); // power cut
    const readable = failWhen(first.db, (sql) => sql.startsWith("SELECT * FROM store_sessions WHERE status = 'open'"));
    const scales = new FakeScales();
    scales.rest('S1', 800);
    scales.rest('S2', 1000);
    return { again: store({ db: first.db, scales }), readable };
  }

  it('the store counts as busy and nobody is admitted until the read succeeds; then the visit resumes and is charged', () => {
    const { again, readable } = restartUnreadable();
    expect(again.engine.phase).toBe('idle');
    expect(health(again)).toBe('degraded');
    expect(again.engine.isStoreBusy('B')).toBe(true);
    expect(again.engine.admit('B', 'card')).toMatchObject({ ok: false, reason: 'store_busy' });
    vi.advanceTimersToNextTimer(); // retried, still failing
    expect(again.engine.phase).toBe('idle');
    expect(again.engine.isStoreBusy()).toBe(true);
    readable();
    until(() => again.engine.phase === 'shopping');
    agree(again);
    expect(again.engine.isStoreBusy('B')).toBe(true);
    again.lock.exit();
    again.scales.sweep();
    again.scales.sweep();
    expect(again.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    expect(again.balance('A')).toBe(80);
    expect(health(again)).toBe('ok');
    again.lock.door('open'); // A walks out
    again.lock.door('closed');
    expect(again.engine.admit('B', 'card')).toMatchObject({ ok: true });
  });

  it('stopped while the retry waits: nothing runs after the stop', () => {
    const { again, readable } = restartUnreadable();
    again.engine.stop();
    readable();
    expect(vi.getTimerCount()).toBe(0);
    expect(again.engine.phase).toBe('idle');
  });
});
