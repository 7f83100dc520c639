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
import { inboundSeq, offlineAllowance } from '../../edge/ledger/sync-state.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, ledgerDbKind, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { stockStore, visit } from './shop.ts';

const rules: LedgerRules = { creditFloor: 0, offline: { dailyLimit: 20, offlineAfterS: 2, clockSkewS: 300 } };

describe(`a store clock 10 minutes slow (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig(); });
  afterEach(async () => { await rig.close(); });

  it('behind the stream it cannot read, it counts as offline: the limit applies to the second spend', async () => {
    let offsetMs = 0;
    const bClock = () => new Date(Date.now() + offsetMs);
    const a = await rig.addStore();
    const b = await rig.addStore(uid('s'), { offline_after_s: 2 }, bClock);
    await waitFor('stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'wang', name: '王五', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points: 100, created_at: new Date().toISOString() });
    await waitFor('award in both stores', () => getVillager(a.db, 'wang')?.balance === 100 && getVillager(b.db, 'wang')?.balance === 100);
    for (const s of [a, b]) stockStore(s.db);
    // In reach and level: no limit.
    expect(offlineAllowance(b.db, 'wang', rules.offline!, bClock())).toBe(Number.POSITIVE_INFINITY);

    offsetMs = -10 * 60_000; // store B's clock is 10 minutes slow (a power cut without NTP)
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
    // Charged in full, the part beyond the allowance (80 of 100) a review line (docs/sync-protocol.md, "Offline").
    expect(second.settled?.review.some((r) => r.reason === 'offline_limit')).toBe(true);
  }, 60_000);
});
