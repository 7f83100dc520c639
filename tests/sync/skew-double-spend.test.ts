/**
 * A store whose clock runs more than sync.clock_skew_s slow refuses every stream event as
 * issued in the future (invalid), so it never learns of redemptions made at other stores; the
 * ledger's beats still reach it. Behind the village stream for longer than
 * sync.offline_after_s, it counts as offline for the offline limit (else: unbounded double
 * spend), and a streak of such refusals raises the clock alarm.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LedgerRules } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { behindMark, inboundSeq, offlineAllowance } from '../../edge/ledger/sync-state.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, ledgerDbKind, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { stockStore, visit } from './shop.ts';

const rules: LedgerRules = { creditFloor: 0, offline: { dailyLimit: 20, offlineAfterS: 2, clockSkewS: 300 } };

describe(`a store clock 10 minutes slow (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig(); });
  afterEach(async () => { await rig.close(); });

  /** Stores A and B online, 王五 awarded 100 in both, both stocked; `slowB` sets B's clock 10 minutes slow. */
  async function twoStores() {
    let offsetMs = 0;
    const bClock = () => new Date(Date.now() + offsetMs);
    const a = await rig.addStore();
    const b = await rig.addStore(uid('s'), { offline_after_s: 2 }, bClock);
    await waitFor('stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'wang', name: '王五', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 100, created_at: new Date().toISOString() });
    await waitFor('award in both stores', () => getVillager(a.db, 'wang')?.balance === 100 && getVillager(b.db, 'wang')?.balance === 100);
    for (const s of [a, b]) stockStore(s.db);
    return { a, b, bClock, slowB: () => { offsetMs = -10 * 60_000; } };
  }

  it('behind the stream it cannot read, it counts as offline: the limit applies to the second spend', async () => {
    const { a, b, bClock, slowB } = await twoStores();
    // In reach (once a beat has answered since it connected) and level: no limit.
    await waitFor('store B in reach', () => offlineAllowance(b.db, 'wang', rules.offline!, bClock()) === Number.POSITIVE_INFINITY);

    slowB(); // store B's clock is 10 minutes slow (a power cut without NTP)
    const seqB = inboundSeq(b.db);
    expect(visit(a.db, 'wang', uid('a-'), 10, rules, () => new Date()).settled).toMatchObject({ charged: 100 });
    a.agent.kick();
    await waitFor('ledger has the redemption', async () => (await balanceOf(rig.ledgerDb, 'wang')) === 0);
    await waitFor('store B refuses the stream event', () => (b.agent.state().refused.invalid ?? 0) >= 1);
    // Beats keep coming, yet store B stays behind: after offline_after_s it is limited.
    await waitFor('store B limited', () => offlineAllowance(b.db, 'wang', rules.offline!, bClock()) === 20, 10_000);
    expect(inboundSeq(b.db)).toBe(seqB);
    expect(b.agent.state().last_contact).not.toBeNull();
    const second = visit(b.db, 'wang', uid('b-'), 10, rules, bClock);
    expect(second.verdict).toBe('admit');
    // Charged in full, the part beyond the allowance (80 of 100) a review line (docs/sync-offline.md, "Offline").
    expect(second.settled?.review.some((r) => r.reason === 'offline_limit')).toBe(true);
  }, 60_000);

  it('still behind, an acknowledgement gives nothing back: the day\'s limit holds visit after visit', async () => {
    const { a, b, bClock, slowB } = await twoStores();

    slowB();
    expect(visit(a.db, 'wang', uid('a-'), 10, rules, () => new Date()).settled).toMatchObject({ charged: 100 });
    a.agent.kick();
    await waitFor('ledger has the redemption', async () => (await balanceOf(rig.ledgerDb, 'wang')) === 0);
    // Limited for being behind the stream (every row of its own acknowledged, the stream mark set offline_after_s ago).
    await waitFor('store B behind and limited', () => countOutbox(b.db).pending === 0 && behindMark(b.db) !== undefined && offlineAllowance(b.db, 'wang', rules.offline!, bClock()) === 20, 10_000);

    // Store B still holds the 100 spent at A. Each visit's rows are acknowledged within moments,
    // while B stays blind to the stream: what it let be spent today still counts.
    const verdicts: string[] = [];
    let spentAtB = 0;
    for (let i = 0; i < 3; i++) {
      const r = visit(b.db, 'wang', uid(`b${i}-`), 2, rules, bClock);
      verdicts.push(r.verdict);
      if (r.verdict !== 'admit') break;
      spentAtB += r.settled?.status === 'settled' ? r.settled.charged : 0;
      b.agent.kick();
      await waitFor('the ledger acknowledged store B\'s rows', () => countOutbox(b.db).pending === 0, 10_000);
    }
    expect(getVillager(b.db, 'wang')!.balance).toBe(100 - spentAtB); // still blind to the 100 spent at A
    expect(spentAtB).toBe(20);
    expect(verdicts).toEqual(['admit', 'offline_limit']);
    expect(offlineAllowance(b.db, 'wang', rules.offline!, bClock())).toBe(0);
  }, 60_000);
});
