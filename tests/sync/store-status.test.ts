/**
 * A villager blocked at a store is blocked at the village ledger and at every store of the
 * village, and stays blocked through a snapshot (which used to undo it); an older change from a
 * store that was offline does not undo a newer one made at the ledger, and no store's row brings
 * back a villager who left the village (only the village's registry does).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getVillager, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { addVillage, upsertVillager, villagerOf, villageSnapshot } from '../../cloud-sync/ledger/tables.ts';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig } from '../../harness/sync/rig.ts';

describe(`a villager's status changed at a store (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('reaches the ledger and the other stores, and a later snapshot says the same', async () => {
    const a = await rig.addStore();
    const b = await rig.addStore();
    await waitFor('both stores online', () => a.agent.state().connected && b.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhao', name: '赵六', village: rig.village, status: 'active' });
    await waitFor('zhao known at both stores', () => getVillager(a.db, 'zhao') !== undefined && getVillager(b.db, 'zhao') !== undefined);

    setVillagerStatus(a.db, 'zhao', 'blocked');
    await waitFor('blocked at the ledger', async () => (await villagerOf(rig.ledgerDb, 'zhao'))?.status === 'blocked');
    await waitFor('blocked at the other store', () => getVillager(b.db, 'zhao')?.status === 'blocked');
    await waitFor('store A drained', () => countOutbox(a.db).pending === 0);
    const snap = await villageSnapshot(rig.ledgerDb, rig.village);
    expect(snap.body.villagers.find((v) => v.id === 'zhao')?.status).toBe('blocked');
    expect(getVillager(a.db, 'zhao')?.status).toBe('blocked');

    setVillagerStatus(b.db, 'zhao', 'active');
    await waitFor('unblocked at store A through the ledger', () => getVillager(a.db, 'zhao')?.status === 'active');
    expect((await villagerOf(rig.ledgerDb, 'zhao'))?.status).toBe('active');
  });

  it("an older change from a store does not undo the ledger's newer one; another village's villager is not touched", async () => {
    const key = privateEd25519('ledger-1', rig.ledgerKey.privatePem);
    const signer = { key, lifetimeMs: 86_400_000 };
    await rig.ledger.putVillager({ id: 'qin', name: '秦七', village: rig.village, status: 'active' });
    await rig.ledger.putVillager({ id: 'qin', name: '秦七', village: rig.village, status: 'blocked' });
    const before = new Date(Date.now() - 60_000).toISOString();
    const res = await applyStoreRows(rig.ledgerDb, rig.village, 's-old', [
      { id: 's-old:1', seq: 1, topic: 'villager', payload: { op: 'status', id: 'qin', status: 'active' }, created_at: before },
    ], signer, new Date());
    expect(res.events).toEqual([]);
    expect((await villagerOf(rig.ledgerDb, 'qin'))?.status).toBe('blocked');
    // a newer one is applied, and goes out on the stream
    const later = await applyStoreRows(rig.ledgerDb, rig.village, 's-old', [
      { id: 's-old:2', seq: 2, topic: 'villager', payload: { op: 'status', id: 'qin', status: 'active' }, created_at: new Date(Date.now() + 1000).toISOString() },
    ], signer, new Date());
    expect(later.events.map((e) => e.kind)).toEqual(['villager']);
    expect((await villagerOf(rig.ledgerDb, 'qin'))?.status).toBe('active');
    // a villager of another village: kept, counted as not applied, not changed
    const other = `${rig.village}-b`;
    await addVillage(rig.ledgerDb, other, '邻村', new Date().toISOString());
    await upsertVillager(rig.ledgerDb, { id: 'wei', name: '魏八', village: other, status: 'active' }, signer, new Date());
    const foreign = await applyStoreRows(rig.ledgerDb, rig.village, 's-old', [
      { id: 's-old:3', seq: 3, topic: 'villager', payload: { op: 'status', id: 'wei', status: 'blocked' }, created_at: new Date(Date.now() + 2000).toISOString() },
    ], signer, new Date());
    expect(foreign.unapplied).toEqual([{ id: 's-old:3', why: 'other-village' }]);
    expect((await villagerOf(rig.ledgerDb, 'wei'))?.status).toBe('active');
  });

  it("a row stamped beyond the ledger's time and the skew (a store clock that ran ahead) does not undo a block; its time is capped at the receive time", async () => {
    const signer = { key: privateEd25519('ledger-1', rig.ledgerKey.privatePem), lifetimeMs: 86_400_000 };
    const statusAt = async (id: string) => (await rig.ledgerDb.query<{ status_changed_at: string }>('SELECT status_changed_at FROM villagers WHERE id = $1', [id]))[0]!.status_changed_at;
    const row = (seq: number, id: string, status: string, createdAt: string) => ({ id: `s-fast:${seq}`, seq, topic: 'villager' as const, payload: { op: 'status', id, status }, created_at: createdAt });
    const tomorrow = new Date(Date.now() + 23 * 3_600_000).toISOString();
    // Unblocked at the store while its clock ran a day fast; the village blocked zhang since.
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'blocked' });
    const unblock = await applyStoreRows(rig.ledgerDb, rig.village, 's-fast', [row(1, 'zhang', 'active', tomorrow)], signer, new Date(Date.now() + 2000));
    expect(unblock.events).toEqual([]);
    expect((await villagerOf(rig.ledgerDb, 'zhang'))?.status).toBe('blocked');

    // The stricter status of such a row applies (its order is unknown), stamped with the receive
    // time, not the store's future: a store's change made after it is not shut out until tomorrow.
    await rig.ledger.putVillager({ id: 'wu', name: '吴九', village: rig.village, status: 'active' });
    const received = new Date(Date.now() + 1000);
    const block = await applyStoreRows(rig.ledgerDb, rig.village, 's-fast', [row(2, 'wu', 'blocked', tomorrow)], signer, received);
    expect(block.events.map((e) => e.kind)).toEqual(['villager']);
    expect(await statusAt('wu')).toBe(received.toISOString());
    const next = await applyStoreRows(rig.ledgerDb, rig.village, 's-fast', [row(3, 'wu', 'active', new Date(received.getTime() + 1000).toISOString())], signer, new Date(received.getTime() + 1000));
    expect(next.events.map((e) => e.kind)).toEqual(['villager']);
    expect((await villagerOf(rig.ledgerDb, 'wu'))?.status).toBe('active');
  });

  it('a villager who left stays left: a store\'s unblock or block, made after it or stamped in the future, is kept but not applied, and nothing goes out', async () => {
    const signer = { key: privateEd25519('ledger-1', rig.ledgerKey.privatePem), lifetimeMs: 86_400_000 };
    const row = (seq: number, status: string, createdAt: string) => ({ id: `s-off:${seq}`, seq, topic: 'villager' as const, payload: { op: 'status', id: 'han', status }, created_at: createdAt });
    await rig.ledger.putVillager({ id: 'han', name: '韩十', village: rig.village, status: 'blocked' });
    // the village office records that han moved away; a store that was offline still had him blocked
    await rig.ledger.putVillager({ id: 'han', name: '韩十', village: rig.village, status: 'left' });
    const hourLater = new Date(Date.now() + 3_600_000);
    const unblock = await applyStoreRows(rig.ledgerDb, rig.village, 's-off', [row(1, 'active', hourLater.toISOString())], signer, new Date(hourLater.getTime() + 60_000));
    const block = await applyStoreRows(rig.ledgerDb, rig.village, 's-off', [row(2, 'blocked', new Date(hourLater.getTime() + 1000).toISOString())], signer, new Date(hourLater.getTime() + 60_000));
    const future = await applyStoreRows(rig.ledgerDb, rig.village, 's-off', [row(3, 'active', new Date(hourLater.getTime() + 86_400_000).toISOString())], signer, new Date(hourLater.getTime() + 60_000));
    for (const [r, seq] of [[unblock, 1], [block, 2], [future, 3]] as const) {
      expect({ events: r.events, unapplied: r.unapplied, acked: r.ackIds }).toEqual({ events: [], unapplied: [{ id: `s-off:${seq}`, why: 'left' }], acked: [`s-off:${seq}`] });
    }
    expect((await villagerOf(rig.ledgerDb, 'han'))?.status).toBe('left');
    // the village's registry still brings him back
    await rig.ledger.putVillager({ id: 'han', name: '韩十', village: rig.village, status: 'active' });
    expect((await villagerOf(rig.ledgerDb, 'han'))?.status).toBe('active');
  });

  it('a villager registered at a store under an id the ledger holds in another village is kept, counted not applied and logged', async () => {
    const signer = { key: privateEd25519('ledger-1', rig.ledgerKey.privatePem), lifetimeMs: 86_400_000 };
    const other = `${rig.village}-c`;
    await addVillage(rig.ledgerDb, other, '邻村', new Date().toISOString());
    await upsertVillager(rig.ledgerDb, { id: 'zhang', name: '邻村张三', village: other, status: 'active' }, signer, new Date());
    const add = (seq: number, id: string) => ({ id: `s-add:${seq}`, seq, topic: 'villager' as const, payload: { op: 'add', id, name: '张三', village: rig.village }, created_at: new Date().toISOString() });
    const res = await applyStoreRows(rig.ledgerDb, rig.village, 's-add', [add(1, 'zhang'), add(2, 'zhang-new')], signer, new Date());
    expect({ unapplied: res.unapplied, acked: res.ackIds }).toEqual({ unapplied: [{ id: 's-add:1', why: 'other-village' }], acked: ['s-add:1', 's-add:2'] });
    expect(await villagerOf(rig.ledgerDb, 'zhang')).toMatchObject({ village: other, name: '邻村张三' });
  });
});
