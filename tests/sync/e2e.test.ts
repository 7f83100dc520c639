import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { inboundSeq } from '../../edge/ledger/sync-state.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig } from '../../harness/sync/rig.ts';

const at = () => new Date().toISOString();

describe(`sync end to end (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('an award at the ledger reaches every store; a redemption in one store reaches the ledger and the other store', async () => {
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('both stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-1', villager: 'zhang', kind: 'award', points: 100, reason: '打扫卫生', created_at: at() });
    await waitFor('the award in both stores', () => getVillager(a.db, 'zhang')?.balance === 100 && getVillager(b.db, 'zhang')?.balance === 100);

    applyEntry(a.db, { id: 'red-1', villagerId: 'zhang', kind: 'redemption', points: -30, origin: 'store' }, { creditFloor: 0 });
    await waitFor('the redemption at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === 70);
    await waitFor('store A drained', () => countOutbox(a.db).pending === 0);
    await waitFor('store B sees the redemption', () => getVillager(b.db, 'zhang')?.balance === 70);
    expect(getVillager(a.db, 'zhang')?.balance).toBe(70);
    expect(inboundSeq(a.db)).toBe(inboundSeq(b.db));
    expect(a.agent.refusals.total() + b.agent.refusals.total()).toBe(0);
  });

  it('a store that joins late gets a snapshot and then the stream', async () => {
    await rig.ledger.putVillager({ id: 'li', name: '李四', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-li-1', villager: 'li', kind: 'award', points: 40, created_at: at() });
    const late = await rig.addStore();
    await waitFor('the snapshot applied', () => getVillager(late.db, 'li')?.balance === 40);
    await rig.ledger.award(rig.village, { id: 'aw-li-2', villager: 'li', kind: 'award', points: 5, created_at: at() });
    await waitFor('the next award applied', () => getVillager(late.db, 'li')?.balance === 45);
    expect(rig.ledger.counters.snapshots).toBeGreaterThanOrEqual(1);
  });
});
