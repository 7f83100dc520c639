/**
 * The session engine with a fake lock and fake scales (tests/session/rig.ts). Timers are
 * faked; performance.now() is not, so "sweeps after this moment" behave as on the real store.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { upsertSlot } from '../../edge/ledger/products.ts';
import { sessionReview } from '../../edge/ledger/sessions.ts';
import { FakeScales, failNext, failWhen, store, timings } from './rig.ts';
import type { StoreSessionEvents } from '../../edge/session/engine.ts';
import type { Receipt } from '../../edge/session/receipt.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a villager whose unlock ran out before the door was pushed', () => {
  it('is let in again on the same visit; anyone else is still told to wait', () => {
    const s = store();
    s.admit('A');
    expect(s.engine.phase).toBe('entering');
    expect(s.engine.isStoreBusy('A')).toBe(false);
    expect(s.engine.isStoreBusy('B')).toBe(true);
    expect(s.engine.isStoreBusy()).toBe(true);
    const id = s.engine.current?.sessionId;
    s.admit('A');
    expect(s.engine.current?.sessionId).toBe(id);
    expect(s.engine.phase).toBe('entering');
  });
});

describe('a face the door does not let in by itself', () => {
  it('is asked for the card or QR code, without a name, and opens no session', () => {
    const s = store();
    const said: StoreSessionEvents['announce'][0][] = [];
    s.engine.on('announce', (a) => said.push(a));
    s.engine.onEntryDecision({ by: 'face', decision: 'uncertain', villagerId: null, unlocked: false });
    expect(said).toEqual([expect.objectContaining({ reason: 'uncertain', villagerId: null, text: expect.stringContaining('请刷卡或扫码') as string })]);
    expect(s.engine.phase).toBe('idle');
  });

  it('a face matched to a villager whose consent to face recognition is withdrawn is asked for the card or QR code, without a name', () => {
    const s = store();
    const said: StoreSessionEvents['announce'][0][] = [];
    s.engine.on('announce', (a) => said.push(a));
    s.engine.onEntryDecision({ by: 'face', decision: 'no_consent', villagerId: 'A', unlocked: false });
    expect(said).toEqual([expect.objectContaining({ reason: 'no_consent', villagerId: null, text: expect.stringContaining('请刷卡或扫码') as string })]);
    expect(said[0]?.text).not.toContain('Ann');
    expect(s.engine.phase).toBe('idle');
  });

  it('a face held as a spoof is told once, when the hold begins, that no live face was confirmed and asked for the card or QR code', () => {
    const s = store();
    const said: StoreSessionEvents['announce'][0][] = [];
    s.engine.on('announce', (a) => said.push(a));
    s.engine.onEntryDecision({ by: 'face', decision: 'spoof', villagerId: null, unlocked: false, detail: { spoofHold: 'started' } });
    // the same presentation decided again while it stays in view: no second word
    s.engine.onEntryDecision({ by: 'face', decision: 'spoof', villagerId: null, unlocked: false, detail: { spoofHold: 'held' } });
    expect(said).toEqual([expect.objectContaining({ reason: 'spoof', villagerId: null, text: expect.stringMatching(/^未能确认是真人.*请刷卡或扫码.*\/ .*card or QR code/) as string })]);
    expect(s.engine.phase).toBe('idle');
  });
});

describe('door never opened', () => {
  it('a dead scale does not count as a touched shelf: the admission is cancelled and the store is free', () => {
    const s = store();
    s.scales.slots.S2 = { health: 'no_reply', stable_g: null, last_stable_g: null };
    s.admit('A');
    vi.advanceTimersByTime(timings.entering_timeout_ms + 10);
    expect(s.engine.phase).toBe('idle');
    expect(s.engine.isStoreBusy()).toBe(false);
    expect(s.session('A')?.status).toBe('cancelled');
  });

  it('a shelf that did change keeps the session (someone is inside)', () => {
    const s = store();
    s.scales.slots.S2 = { health: 'no_reply', stable_g: null, last_stable_g: null };
    s.admit('A');
    s.scales.rest('S1', 900);
    vi.advanceTimersByTime(timings.entering_timeout_ms + 10);
    expect(s.engine.phase).toBe('shopping');
  });
});

describe('settlement', () => {
  it('a ledger read failing while weighing on the sweep path is a failed settlement: fault, then retried', () => {
    const s = store();
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 800);
    s.lock.exit();
    // the admission read the slots already (its products): the read fails when it runs again
    let once = true;
    failWhen(s.db, (sql) => {
      if (!once || !sql.startsWith('SELECT * FROM slots')) return false;
      once = false;
      return true;
    });
    expect(() => s.scales.sweep()).not.toThrow();
    expect(s.engine.phase).toBe('fault');
    expect(s.faults.map((f) => f.where)).toEqual(['settle']);
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.engine.phase).toBe('idle');
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    expect(s.balance('A')).toBe(80);
  });
});

describe('baseline: a slot still moving when the villager is let in', () => {
  it("the last villager's grab on the way out is not charged to the next one (review line for her, nothing for him)", () => {
    const s = store();
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.move('S1'); // A grabs a soap as she presses the exit button
    s.lock.exit();
    // no sweep comes: the wall clock ends the wait one normal wait after the longest one
    vi.advanceTimersByTime(timings.stability_wait_ms + timings.exit_settle_max_ms + 10);
    const a = s.session('A');
    expect(a).toMatchObject({ status: 'settled', chargedPoints: 0 });
    expect(sessionReview(s.db, a?.id ?? '').map((r) => `${r.slot}:${r.reason}`)).toEqual(['S1:not_stable']);
    s.admit('B'); // S1 still moving: no baseline for it
    s.scales.sweep();
    s.lock.door('open');
    s.scales.rest('S1', 900); // S1 settles with A's soap gone, B already inside
    s.lock.door('closed');
    s.lock.exit(); // B took nothing
    s.scales.sweep();
    const b = s.session('B');
    expect(b).toMatchObject({ status: 'settled', chargedPoints: 0 });
    expect(sessionReview(s.db, b?.id ?? '').map((r) => `${r.slot}:${r.reason}`)).toEqual(['S1:scale_unavailable']);
    expect([s.balance('A'), s.balance('B')]).toEqual([100, 100]);
  });

  it('a slot that comes to rest before the door opens gets its baseline then: what B takes afterwards is charged, what went before is not', () => {
    const s = store();
    s.scales.move('S1'); // someone reached in while the store was idle
    s.admit('B');
    s.scales.rest('S1', 900); // at rest again, one soap short, before B opens the door
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 800); // B takes one
    s.lock.exit();
    s.scales.sweep();
    const b = s.session('B');
    expect(b).toMatchObject({ status: 'settled', chargedPoints: 10 });
    expect(sessionReview(s.db, b?.id ?? '')).toEqual([]);
    expect(s.balance('B')).toBe(90);
  });

  it('a grab while the store is idle that has settled by the admission is not charged either', () => {
    const s = store();
    s.scales.rest('S2', 700);
    s.admit('B');
    s.lock.door('open');
    s.lock.door('closed');
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('B')).toMatchObject({ status: 'settled', chargedPoints: 0 });
  });
});

describe('resume after a power cut while exiting', () => {
  /** A's visit cut while exiting with two soaps taken; a new engine starts before the scales have read anything. */
  function cutWhileExiting(config: Record<string, unknown>) {
    const first = store();
    first.admit('A');
    first.lock.door('open');
    first.lock.door('closed');
    first.scales.rest('S1', 800);
    first.lock.exit();
    expect(first.engine.phase).toBe('exiting');
    first.engine.stop(); // power cut
    const scales = new FakeScales();
    scales.slots.S1 = { health: 'unknown', stable_g: null, last_stable_g: null };
    scales.slots.S2 = { health: 'unknown', stable_g: null, last_stable_g: null };
    return { db: first.db, again: store({ db: first.db, scales, config }) };
  }

  it('waits for every scale to report before the stability wait, however long that wait is', () => {
    const { again } = cutWhileExiting({ stability_wait_ms: 1500 });
    vi.advanceTimersByTime(1800); // longer than the stability wait, and no scale has reported
    expect(again.engine.phase).toBe('exiting');
    again.scales.rest('S1', 800);
    again.scales.rest('S2', 1000);
    again.scales.sweep();
    expect(again.engine.phase).toBe('idle');
    expect(again.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    expect(again.balance('A')).toBe(80);
  });

  it('a sweep with a scale still unread does not end the wait; the stability wait then runs as usual', () => {
    const { again } = cutWhileExiting({ stability_wait_ms: 1500 });
    again.scales.rest('S1', 800);
    again.scales.sweep(); // S2 still 'unknown'
    expect(again.engine.phase).toBe('exiting');
    again.scales.rest('S2', 1000);
    again.scales.move('S1'); // all reported, but S1 is moving
    again.scales.sweep();
    expect(again.engine.phase).toBe('exiting');
    again.scales.rest('S1', 800);
    again.scales.sweep();
    expect(again.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
  });

  it('scales that never report: after resume_scales_timeout_ms the session settles with review lines', () => {
    const { again } = cutWhileExiting({ stability_wait_ms: 1500, resume_scales_timeout_ms: 5000 });
    vi.advanceTimersByTime(4900);
    expect(again.engine.phase).toBe('exiting');
    vi.advanceTimersByTime(200);
    const a = again.session('A');
    expect(a).toMatchObject({ status: 'settled', totalPoints: 0 });
    expect(sessionReview(again.db, a?.id ?? '').map((r) => `${r.slot}:${r.reason}`)).toEqual(['S1:scale_unavailable', 'S2:scale_unavailable']);
  });
});

describe('the ledger refusing a session write (disk full)', () => {
  const takeTwoAndLeave = (s: ReturnType<typeof store>): void => {
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 800);
    s.lock.exit();
    s.scales.sweep();
  };

  it('the new session row failing once: the visit goes on, is written later, and is charged', () => {
    const s = store();
    failNext(s.db, 'INSERT INTO store_sessions');
    s.admit('A');
    expect(s.engine.phase).toBe('entering'); // the door is not held shut
    takeTwoAndLeave(s);
    expect(s.engine.phase).toBe('idle');
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    expect(s.balance('A')).toBe(80);
    expect(s.faults.map((f) => f.where)).toEqual(['open']);
  });

  it('every write of the visit failing: the settlement opens the row in its own transaction', () => {
    const s = store();
    failNext(s.db, 'INSERT INTO store_sessions', 3); // open, and the saves at the door and at the exit
    s.admit('A');
    takeTwoAndLeave(s);
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    expect(s.faults.map((f) => f.where)).toEqual(['open', 'persist', 'persist']);
  });

  it('a failed write is retried without waiting for the next transition, so a power cut finds the visit', () => {
    const s = store();
    failNext(s.db, 'INSERT INTO store_sessions', 2);
    s.admit('A');
    s.lock.door('open');
    expect(s.session('A')).toBeUndefined();
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.session('A')).toMatchObject({ status: 'open', state: 'shopping' });
    s.scales.rest('S1', 800);
    s.engine.stop(); // power cut while shopping
    const again = store({ db: s.db, scales: s.scales });
    expect(again.engine.phase).toBe('shopping');
    again.lock.exit();
    again.scales.sweep();
    again.scales.sweep();
    expect(again.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
  });

  it('a cancellation that fails is retried, not forgotten', () => {
    const s = store();
    failNext(s.db, "UPDATE store_sessions SET status = 'cancelled'");
    s.admit('A');
    vi.advanceTimersByTime(timings.entering_timeout_ms + 10);
    expect(s.engine.phase).toBe('idle');
    expect(s.session('A')?.status).toBe('open');
    vi.advanceTimersByTime(timings.settle_retry_ms + 10);
    expect(s.session('A')?.status).toBe('cancelled');
  });

  it('the next admission closes a cancellation still pending before it opens its own row', () => {
    const s = store();
    failNext(s.db, "UPDATE store_sessions SET status = 'cancelled'");
    s.admit('A');
    vi.advanceTimersByTime(timings.entering_timeout_ms + 10);
    s.admit('B');
    expect(s.session('A')?.status).toBe('cancelled');
    expect(s.session('B')?.status).toBe('open');
    s.lock.door('open');
    s.scales.rest('S2', 900);
    s.lock.door('closed');
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('B')).toMatchObject({ status: 'settled', totalPoints: 10 });
    expect(s.faults.map((f) => f.where)).toEqual(['cancel']);
  });
});

describe('the receipt counts the review lines the ledger stored', () => {
  it("a sale clipped at zero stock: the ledger's stock_clipped line is charged, so the receipt says so and never 'not charged'", () => {
    const s = store();
    upsertSlot(s.db, { slot: 'S1', address: 1, sku: 'soap', stock: 1 }); // the ledger thinks one is left
    const receipts: Receipt[] = [];
    s.engine.on('receipt', (r) => receipts.push(r));
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 800); // two taken
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
    expect(receipts.map((r) => [r.reviewCount, r.stockClipped])).toEqual([[0, 1]]);
    expect(receipts[0]?.text).not.toContain('不扣分');
    expect(receipts[0]?.text).toContain('已按实际拿取扣分');
  });

  it('a shelf change left for review beside a clipped sale: only the uncharged one is "not charged"', () => {
    const s = store();
    upsertSlot(s.db, { slot: 'S1', address: 1, sku: 'soap', stock: 0 });
    const receipts: Receipt[] = [];
    s.engine.on('receipt', (r) => receipts.push(r));
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 900); // one taken beyond the stock on record
    s.scales.rest('S2', 950); // half an item: not charged, for review
    s.lock.exit();
    s.scales.sweep();
    expect(receipts.map((r) => [r.reviewCount, r.stockClipped])).toEqual([[1, 1]]);
    expect(receipts[0]?.text).toContain('有 1 处货架变化将由管理员核对，不扣分。');
  });
});
