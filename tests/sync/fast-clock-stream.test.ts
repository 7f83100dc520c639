/**
 * A store whose clock ran fast stamps its entries in the future; the ledger takes such a stamp,
 * beyond its receipt plus the allowed skew (DEFAULT_SKEW_MS), as the receipt (store-time.ts). The
 * other stores of the village see the entry on the stream, and in a snapshot, at that same
 * capped time, as the ledger's pages count it: never in the future.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { villageSnapshot } from '../../cloud-sync/ledger/tables.ts';
import { planSnapshot, snapshotHead } from '../../cloud-sync/ledger/snapshot-pages.ts';
import { DEFAULT_SKEW_MS } from '../../cloud-sync/protocol/clock.ts';
import { brokerKind, ledgerDbKind, startRig, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';

describe(`a store's entry stamped in the future, seen by the other stores (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig(); });
  afterEach(async () => { await rig.close(); });

  it('the stream and the snapshots carry the ledger\'s receipt, not the stamp from a month ahead; the store that made it keeps its own', async () => {
    const fast = await rig.addStore(uid('fast'));
    const other = await rig.addStore(uid('other'));
    await waitFor('both online', () => fast.agent.state().connected && other.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'zhang', kind: 'award', points: 100, reason: 'x', created_at: new Date().toISOString() });
    await waitFor('award at both stores', () => getVillager(fast.db, 'zhang')?.balance === 100 && getVillager(other.db, 'zhang')?.balance === 100);

    // made while the store's clock ran a month fast; sent once it was set right (its batch is then on time)
    const ahead = new Date(Date.now() + 30 * 86_400_000);
    const id = uid('sess-');
    applyEntry(fast.db, { id, villagerId: 'zhang', kind: 'redemption', points: -15, reason: '超市兑换 / store purchase', origin: 'store' }, { creditFloor: 0 }, () => ahead);
    fast.agent.kick();
    await waitFor('the other store has the sale', () => getVillager(other.db, 'zhang')?.balance === 85);

    const stampAt = (db: typeof other.db) => (db.prepare('SELECT created_at FROM entries WHERE id = ?').get(id) as { created_at: string }).created_at;
    const held = (await rig.ledgerDb.query<{ created_at: string; received_at: string }>('SELECT created_at, received_at FROM entries WHERE id = $1', [id]))[0]!;
    // the ledger keeps what the store sent, and counts it from its receipt
    expect(held.created_at).toBe(ahead.toISOString());
    expect(Date.parse(held.created_at)).toBeGreaterThan(Date.parse(held.received_at) + DEFAULT_SKEW_MS);
    expect(stampAt(fast.db)).toBe(ahead.toISOString());
    expect(stampAt(other.db)).toBe(held.received_at);
    // a snapshot, whole or paged, says the same
    const whole = (await villageSnapshot(rig.ledgerDb, rig.village)).body.entries.find((e) => e.id === id);
    expect(whole?.created_at).toBe(held.received_at);
    const planned = await planSnapshot(rig.ledgerDb, rig.village, await snapshotHead(rig.ledgerDb, rig.village), { catalogue: false, pageRows: 1 });
    expect('body' in planned && planned.body.entries.find((e) => e.id === id)?.created_at).toBe(held.received_at);
  }, 60_000);
});
