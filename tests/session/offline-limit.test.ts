/**
 * The offline spending limit as a villager meets it: at the door (the entry pipeline with the
 * session engine as its store) and at settlement (the engine's receipt). The store has never
 * heard from the village ledger unless a test says so, so the limit applies.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { doorPolicy, type VillagerStanding } from '../../edge/entry/decision.ts';
import { addCard } from '../../edge/entry/credentials.ts';
import { EntryPipeline, type EntryDecision } from '../../edge/entry/pipeline.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { sessionReview } from '../../edge/ledger/sessions.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { touchContact, type OfflineLimit } from '../../edge/ledger/sync-state.ts';
import type { Announcement, Receipt } from '../../edge/session/receipt.ts';
import { store } from './rig.ts';

const stops: Array<() => void> = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
  vi.useRealTimers();
});

/** Ann (A) has 100 points; `spent` of them redeemed here today and not yet confirmed by the ledger. */
function door(limit: OfflineLimit, spent = 0) {
  const s = store({ rules: { creditFloor: 0, offline: limit } });
  stops.push(() => s.engine.stop());
  addCard(s.db, 'PB-0001', 'A', new Date().toISOString());
  if (spent > 0) applyEntry(s.db, { id: 'earlier', villagerId: 'A', kind: 'redemption', points: -spent, origin: 'store' }, { creditFloor: 0 });
  let pulses = 0;
  const pipeline = new EntryPipeline({
    config: resolveEntryConfig({}), db: s.db, recogniser: null, camera: null, templateKey: Buffer.alloc(32), store: s.engine,
    qrPublicKey: null, logger: pino({ level: 'silent' }), rules: { creditFloor: 0, offline: limit },
    lock: { unlock: () => { pulses++; return Promise.resolve(); } },
  });
  const decisions: EntryDecision[] = [];
  const said: Announcement[] = [];
  pipeline.on('decision', (d) => {
    decisions.push(d);
    s.engine.onEntryDecision(d);
  });
  s.engine.on('announce', (a) => said.push(a));
  return { ...s, pipeline, pulses: () => pulses, decisions, said };
}

describe('the door policy with an offline allowance', () => {
  const v = (over: Partial<VillagerStanding> = {}): VillagerStanding => ({ id: 'a', status: 'active', faceConsentAt: '2026-01-01', debt: 0, ...over });
  it.each([
    [v({ offlineAllowance: 0 }), 'card', false, 'offline_limit'],
    [v({ offlineAllowance: 0 }), 'face', true, 'offline_limit'],
    [v({ offlineAllowance: 0, debt: 5 }), 'qr', false, 'blocked'],
    [v({ offlineAllowance: 1 }), 'face', false, 'admit'],
    [v({ offlineAllowance: 1 }), 'card', true, 'store_busy'],
  ] as const)('%o by %s (busy %s) → %s', (standing, method, busy, expected) => {
    expect(doorPolicy(standing, method, busy)).toBe(expected);
  });
});

describe('the offline limit at the door', () => {
  it("today's allowance used up while the ledger is out of reach: the door stays shut and says why in both languages", async () => {
    const d = door({ dailyLimit: 30, offlineAfterS: 600 }, 30);
    expect(await d.pipeline.presentCode('PB-0001')).toMatchObject({ decision: 'offline_limit', unlocked: false, villagerId: 'A', detail: { offlineAllowance: 0 } });
    expect(d.pulses()).toBe(0);
    expect(d.engine.phase).toBe('idle');
    expect(d.said.map((a) => a.reason)).toEqual(['offline_limit']);
    expect(d.said[0]?.text).toMatch(/离线兑换额度已用完.*门未打开.*offline allowance for today is used up/);
    const row = d.db.prepare("SELECT decision, villager_id FROM entry_events ORDER BY id DESC LIMIT 1").get();
    expect(row).toEqual({ decision: 'offline_limit', villager_id: 'A' });
  });

  it('with some allowance left the door opens and announces the cap', async () => {
    const d = door({ dailyLimit: 50, offlineAfterS: 600 }, 20);
    expect(await d.pipeline.presentCode('PB-0001')).toMatchObject({ decision: 'matched', unlocked: true, detail: { offlineAllowance: 30 } });
    expect(d.pulses()).toBe(1);
    expect(d.said.map((a) => a.reason)).toEqual(['welcome']);
    expect(d.said[0]?.text).toContain('最多还能兑换 30 分');
    expect(d.said[0]?.text).toContain('up to 30 points');
  });

  it('the ledger heard from recently: no limit, no cap announced', async () => {
    const d = door({ dailyLimit: 30, offlineAfterS: 600 }, 30);
    touchContact(d.db, new Date().toISOString());
    const decision = await d.pipeline.presentCode('PB-0001');
    expect(decision).toMatchObject({ decision: 'matched', unlocked: true });
    expect(decision.detail).not.toHaveProperty('offlineAllowance');
    expect(d.said[0]?.text).not.toContain('离线');
  });
});

describe('a balance below the floor at the door', () => {
  it('another store overspent, and the ledger said so: the door counts it as debt and says how much', async () => {
    const d = door({ dailyLimit: 30, offlineAfterS: 600 });
    touchContact(d.db, new Date().toISOString());
    applySnapshot(d.db, { villagers: [], entries: [{ id: 'elsewhere', villager: 'A', kind: 'redemption', points: -120, created_at: new Date().toISOString() }] }, { creditFloor: 0 });
    expect(d.balance('A')).toBe(-20);
    expect(await d.pipeline.presentCode('PB-0001')).toMatchObject({ decision: 'blocked', unlocked: false, detail: { debt: 20 } });
    expect(d.pulses()).toBe(0);
    expect(d.said).toEqual([expect.objectContaining({ reason: 'debt', text: expect.stringContaining('还欠 20 分') as string })]);
  });
});

describe('the offline limit at settlement', () => {
  it('taking more than the cap: charged in full, the excess a review line and on the receipt, not counted as a shelf change', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const s = store({ rules: { creditFloor: 0, offline: { dailyLimit: 15, offlineAfterS: 600 } } });
    stops.push(() => s.engine.stop());
    const receipts: Receipt[] = [];
    s.engine.on('receipt', (r) => receipts.push(r));
    s.admit('A');
    s.lock.door('open');
    s.lock.door('closed');
    s.scales.rest('S1', 800); // two soaps, 20 points, with 15 allowed
    s.lock.exit();
    s.scales.sweep();
    expect(s.session('A')).toMatchObject({ status: 'settled', totalPoints: 20, chargedPoints: 20, debtPoints: 0 });
    expect(s.balance('A')).toBe(80);
    expect(sessionReview(s.db, s.session('A')!.id)).toEqual([expect.objectContaining({ slot: '*', reason: 'offline_limit' })]);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({ offlineOverPoints: 5, reviewCount: 0, chargedPoints: 20 });
    expect(receipts[0]?.text).toContain('超出今日离线额度 5 分');
    expect(receipts[0]?.text).not.toContain('货架变化');
  });
});
