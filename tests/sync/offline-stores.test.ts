/**
 * Two stores offline at once, one villager spending in both: each store's door honours the
 * offline limit on its own, and when both reconnect the village ledger holds every redemption
 * once; where the two together spent more than the villager had, the balance is below the
 * floor everywhere (the villager's debt, paid off by later awards).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LedgerRules } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { unconfirmedSpendToday } from '../../edge/ledger/sync-state.ts';
import { brokerKind, ledgerDbKind, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { expectReconciled, stockStore, visit } from './shop.ts';

const rules: LedgerRules = { creditFloor: 0, offline: { dailyLimit: 100, offlineAfterS: 600 } };

/** 10:00 UTC tomorrow, and minutes after it: hours past the stores' last contact, all in one UTC day. */
function tomorrowAt10(minutes: number): () => Date {
  const d = new Date();
  return () => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1, 10, minutes));
}

describe(`two stores offline, one villager (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('each door honours the limit; reconnected, the ledger has every redemption once and the overspend is debt in every store', async () => {
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'wang', name: '王五', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 150, created_at: new Date().toISOString() });
    await waitFor('the award in both stores', () => getVillager(a.db, 'wang')?.balance === 150 && getVillager(b.db, 'wang')?.balance === 150);
    for (const s of [a, b]) stockStore(s.db);
    await a.stop();
    await b.stop();

    // Store A: 60, then 60 more with 40 left (charged in full, the 20 over is a review line), then shut.
    expect(visit(a.db, 'wang', 'a1', 6, rules, tomorrowAt10(0))).toMatchObject({ verdict: 'admit', settled: { charged: 60, review: [] } });
    const over = visit(a.db, 'wang', 'a2', 6, rules, tomorrowAt10(5));
    expect(over).toMatchObject({ verdict: 'admit', settled: { charged: 60, debt: 0 } });
    expect(over.settled?.review).toEqual([expect.objectContaining({ reason: 'offline_limit' })]);
    expect(visit(a.db, 'wang', 'a3', 1, rules, tomorrowAt10(10)).verdict).toBe('offline_limit');
    // Store B, not knowing of A: 50 and 50, then shut.
    expect(visit(b.db, 'wang', 'b1', 5, rules, tomorrowAt10(1)).verdict).toBe('admit');
    expect(visit(b.db, 'wang', 'b2', 5, rules, tomorrowAt10(6))).toMatchObject({ verdict: 'admit', settled: { charged: 50, review: [] } });
    expect(visit(b.db, 'wang', 'b3', 1, rules, tomorrowAt10(11)).verdict).toBe('offline_limit');
    // the limit bounded what each store let go: A's second visit is the only overshoot
    expect(unconfirmedSpendToday(a.db, 'wang', tomorrowAt10(12)().toISOString())).toBe(120);
    expect(unconfirmedSpendToday(b.db, 'wang', tomorrowAt10(12)().toISOString())).toBe(100);
    expect([getVillager(a.db, 'wang')?.balance, getVillager(b.db, 'wang')?.balance]).toEqual([30, 50]);

    await a.restart();
    await b.restart();
    const balances = await expectReconciled(rig, [a, b], ['wang']);
    // 150 - 120 - 100: the two together overspent by 70, which every store and the ledger now show
    expect(balances.get('wang')).toBe(-70);
    const entries = await rig.ledgerDb.query<{ id: string }>("SELECT id FROM entries WHERE village = $1 AND kind = 'redemption'", [rig.village]);
    expect(entries.map((e) => e.id).sort()).toEqual(['redemption:a1', 'redemption:a2', 'redemption:b1', 'redemption:b2']);
    // back in contact, no offline limit, but the debt keeps both doors shut until an award covers it
    const now = () => new Date();
    expect(visit(a.db, 'wang', 'a4', 1, rules, now).verdict).toBe('blocked');
    expect(visit(b.db, 'wang', 'b4', 1, rules, now).verdict).toBe('blocked');
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 100, created_at: new Date().toISOString() });
    await expectReconciled(rig, [a, b], ['wang']);
    expect(getVillager(a.db, 'wang')?.balance).toBe(30);
    expect(visit(a.db, 'wang', 'a5', 1, rules, now)).toMatchObject({ verdict: 'admit', settled: { charged: 10, review: [] } });
    await expectReconciled(rig, [a, b], ['wang']);
  }, 300_000);
});
