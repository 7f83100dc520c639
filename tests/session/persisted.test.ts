/**
 * The persisted visit: written with its version, an unversioned (version 0) visit migrated on
 * resume, and an unreadable one closed for review without stopping the start.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openSession, sessionReview } from '../../edge/ledger/sessions.ts';
import { readVisit, VISIT_VERSION } from '../../edge/session/persisted.ts';
import { seedLedger, store } from './rig.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const v0 = { sessionId: 'old', villagerId: 'A', kind: 'shopping', enteredBy: 'card', baseline: { S1: 1000, S2: 1000 }, openedAt: 1, doorOpenedAt: 2, exitAt: null, exitBy: null, settleAttempts: 0, lastError: null };

describe('the persisted visit', () => {
  it('is written with its version', () => {
    const s = store();
    s.admit('A');
    expect(s.session('A')?.context).toMatchObject({ version: VISIT_VERSION, villagerId: 'A' });
  });

  it('an unversioned visit (version 0) is migrated and resumed: the purchase is charged', () => {
    const db = seedLedger();
    openSession(db, { id: 'old', kind: 'shopping', villagerId: 'A', enteredBy: 'card', state: 'shopping', context: v0 });
    const s = store({ db });
    expect(s.engine.phase).toBe('shopping');
    s.scales.rest('S1', 800);
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20 });
  });

  it.each([
    ['a newer version', { ...v0, version: 99 }, /version 99/],
    ['a missing baseline', { ...v0, baseline: undefined }, /baseline/],
    ['not an object', 'garbage', /not an object/],
  ])('%s: refused with a reason naming it', (_name, context, why) => {
    const r = readVisit('shopping', context);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.why).toMatch(why);
  });

  it('an unreadable visit does not stop the start: closed as cancelled with a review line, the store is free', () => {
    const db = seedLedger();
    openSession(db, { id: 'old', kind: 'shopping', villagerId: 'A', enteredBy: 'card', state: 'shopping', context: { ...v0, version: 99 } });
    let s: ReturnType<typeof store> | undefined;
    expect(() => { s = store({ db }); }).not.toThrow();
    expect(s?.engine.phase).toBe('idle');
    expect(s?.session('A')?.status).toBe('cancelled');
    expect(sessionReview(db, 'old')).toEqual([expect.objectContaining({ slot: '*', reason: 'unreadable_session', detail: expect.stringContaining('version 99') })]);
    s?.admit('B');
    expect(s?.engine.phase).toBe('entering');
  });

  it.each([
    ['a torn write (not JSON)', '{"version":1,"sessionId":"ol', /not JSON/],
    ['JSON that is not an object', '"garbage"', /not an object/],
  ])('a damaged row, %s: cancelled for review at start, its text kept, the next villager let in', (_name, text, why) => {
    const db = seedLedger();
    openSession(db, { id: 'old', kind: 'shopping', villagerId: 'A', enteredBy: 'card', state: 'shopping', context: v0 });
    db.prepare("UPDATE store_sessions SET state_json = ? WHERE id = 'old'").run(text);
    const s = store({ db });
    expect(s.engine.phase).toBe('idle');
    expect(s.session('A')).toMatchObject({ status: 'cancelled' });
    expect(sessionReview(db, 'old')).toEqual([expect.objectContaining({ slot: '*', reason: 'unreadable_session', detail: expect.stringMatching(why) })]);
    const saved = JSON.parse(db.prepare("SELECT state_json FROM store_sessions WHERE id = 'old'").pluck().get() as string) as Record<string, unknown>;
    expect(saved).toMatchObject({ cancelReason: expect.any(String), damaged: text });
    expect(s.engine.admit('B', 'card')).toMatchObject({ ok: true });
  });
});
