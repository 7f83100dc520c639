/**
 * A villager registered at a store (`store-edge villagers add`, a `villager` row `{op: "add"}`)
 * keeps the name given there: the village ledger registers them under that name, so the events it
 * sends (a block made at the store, coming back on the stream) and its snapshots carry it. Before,
 * the ledger knew such a villager only by id and named them by it, and the block's event came
 * back to the store and renamed 王大妈 to her id, at the store, on /village and at every store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addVillager, getVillager, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { villagerOf, villageSnapshot } from '../../cloud-sync/ledger/tables.ts';
import { applyRowBatches, applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig } from '../../harness/sync/rig.ts';

describe(`a villager registered at a store keeps their name (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('blocked at the store: the name stays at the store, the ledger and the other stores', async () => {
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('both stores online', () => a.agent.state().connected && b.agent.state().connected);
    addVillager(a.db, { id: 'tst3', name: '王大妈', village: rig.village });
    setVillagerStatus(a.db, 'tst3', 'blocked');
    await waitFor('blocked at the ledger', async () => (await villagerOf(rig.ledgerDb, 'tst3'))?.status === 'blocked');
    await waitFor('store A drained', () => countOutbox(a.db).pending === 0);
    await waitFor('blocked at the other store', () => getVillager(b.db, 'tst3')?.status === 'blocked');
    expect((await villagerOf(rig.ledgerDb, 'tst3'))?.name).toBe('王大妈');
    expect(getVillager(b.db, 'tst3')?.name).toBe('王大妈');
    // the block's event has come back to store A too (its stream is past it): the name is kept
    await waitFor('store A has applied the stream', async () => a.agent.state().inbound_seq >= (await villageSnapshot(rig.ledgerDb, rig.village)).seq);
    expect(getVillager(a.db, 'tst3')?.name).toBe('王大妈');
    const snap = await villageSnapshot(rig.ledgerDb, rig.village);
    expect(snap.body.villagers.find((v) => v.id === 'tst3')?.name).toBe('王大妈');
  });

  it('known first by an entry (named by id), then registered: the name replaces the id; a name the village gave is never replaced', async () => {
    const signer = { key: privateEd25519('ledger-1', rig.ledgerKey.privatePem), lifetimeMs: 86_400_000 };
    const now = new Date();
    const at = now.toISOString();
    // a store's entry for li arrives before her registration's row (another store's batch first)
    await applyStoreRows(rig.ledgerDb, rig.village, 's-x', [
      { id: 's-x:1', seq: 1, topic: 'entry', payload: { id: 'e-li-1', villager: 'li', kind: 'award', points: 5, created_at: at }, created_at: at },
    ], signer, now);
    expect((await villagerOf(rig.ledgerDb, 'li'))?.name).toBe('li');
    await applyStoreRows(rig.ledgerDb, rig.village, 's-y', [
      { id: 's-y:1', seq: 1, topic: 'villager', payload: { op: 'add', id: 'li', name: '李奶奶', village: rig.village }, created_at: at },
    ], signer, now);
    expect((await villagerOf(rig.ledgerDb, 'li'))?.name).toBe('李奶奶');
    // the village named zhou itself: a store's registration under the same id does not rename her
    await rig.ledger.putVillager({ id: 'zhou', name: '周阿姨', village: rig.village, status: 'active' });
    await applyStoreRows(rig.ledgerDb, rig.village, 's-y', [
      { id: 's-y:2', seq: 2, topic: 'villager', payload: { op: 'add', id: 'zhou', name: '别人', village: rig.village }, created_at: at },
    ], signer, now);
    expect((await villagerOf(rig.ledgerDb, 'zhou'))?.name).toBe('周阿姨');
    // registered and used in one batch: named, not by id
    await applyStoreRows(rig.ledgerDb, rig.village, 's-y', [
      { id: 's-y:3', seq: 3, topic: 'villager', payload: { op: 'add', id: 'sun', name: '孙七', village: rig.village }, created_at: at },
      { id: 's-y:4', seq: 4, topic: 'entry', payload: { id: 'e-sun-1', villager: 'sun', kind: 'award', points: 5, created_at: at }, created_at: at },
    ], signer, now);
    expect((await villagerOf(rig.ledgerDb, 'sun'))?.name).toBe('孙七');
    // one turn of two batches: another store's entry for qian first, then her registration (sent again after its ack was lost)
    await applyRowBatches(rig.ledgerDb, [
      { village: rig.village, store: 's-x', rows: [{ id: 's-x:2', seq: 2, topic: 'entry', payload: { id: 'e-qian-1', villager: 'qian', kind: 'award', points: 5, created_at: at }, created_at: at }] },
      { village: rig.village, store: 's-y', rows: [{ id: 's-y:5', seq: 5, topic: 'villager', payload: { op: 'add', id: 'qian', name: '钱大爷', village: rig.village }, created_at: at }] },
    ], signer, now);
    expect((await villagerOf(rig.ledgerDb, 'qian'))?.name).toBe('钱大爷');
  });
});
