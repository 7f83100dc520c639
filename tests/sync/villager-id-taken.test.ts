/**
 * A villager registered at a store under an id the village ledger holds in another village: the
 * ledger keeps the row but will not count that villager's points (another village's person has
 * the id). Its ack names the row, and the store's maintainer sees it where they see sync
 * trouble: the `villager_id_taken` alarm (admin page, /alarms, and the village through the
 * store's retained alarms), in Chinese and English. A new id of the store's own raises nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { listActiveAlarms } from '../../edge/ledger/alarms.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { silentLogger } from '../../edge/log.ts';
import { AlarmBoard, villagerIdTakenAlarm } from '../../edge/ops/alarms.ts';
import { addVillage, upsertVillager } from '../../cloud-sync/ledger/tables.ts';
import { applyStoreRows } from '../../cloud-sync/ledger/rows.ts';
import { privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';

describe(`a villager registered at a store under another village's id (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("raises the villager_id_taken alarm at the store, naming the villager in both languages; the store's own new id raises none", async () => {
    rig = await startRig();
    const signer = { key: privateEd25519('ledger-1', rig.ledgerKey.privatePem), lifetimeMs: 86_400_000 };
    const other = `${rig.village}-b`;
    await addVillage(rig.ledgerDb, other, '邻村', new Date().toISOString());
    await upsertVillager(rig.ledgerDb, { id: 'wei', name: '魏八', village: other }, signer, new Date());
    const made: { store?: TestStore } = {};
    // the daemon's wiring (edge/main.ts): the agent tells the store's alarm board
    const board = new AlarmBoard(() => made.store!.db, silentLogger());
    const s = made.store = await rig.addStore(undefined, {}, undefined, { villagerIdTaken: villagerIdTakenAlarm(board) });
    addVillager(s.db, { id: 'wei', name: '魏八', village: rig.village });
    addVillager(s.db, { id: 'liu', name: '刘九', village: rig.village });
    await waitFor('both registrations acknowledged and the alarm raised', () => countOutbox(s.db).pending === 0 && listActiveAlarms(s.db).length > 0);
    const alarms = listActiveAlarms(s.db);
    expect(alarms.map((a) => ({ kind: a.kind, subject: a.subject, severity: a.severity }))).toEqual([{ kind: 'villager_id_taken', subject: 'villager wei', severity: 'warning' }]);
    expect(alarms[0]!.detail).toMatch(/wei.*another village.*wei.*别村/);
  });

  it('names the row again when the store sends it again (its ack lost), counting it once', async () => {
    rig = await startRig();
    const signer = { key: privateEd25519('ledger-1', rig.ledgerKey.privatePem), lifetimeMs: 86_400_000 };
    const other = `${rig.village}-b`;
    await addVillage(rig.ledgerDb, other, '邻村', new Date().toISOString());
    await upsertVillager(rig.ledgerDb, { id: 'wei', name: '魏八', village: other }, signer, new Date());
    const rows = [{ id: 's-lost:1', seq: 1, topic: 'villager' as const, payload: { op: 'add', id: 'wei', name: '魏八', village: rig.village }, created_at: new Date().toISOString() }];
    const first = await applyStoreRows(rig.ledgerDb, rig.village, 's-lost', rows, signer, new Date());
    const again = await applyStoreRows(rig.ledgerDb, rig.village, 's-lost', rows, signer, new Date());
    expect({ foreign: first.foreignAdds, unapplied: first.unapplied.length }).toEqual({ foreign: ['s-lost:1'], unapplied: 1 });
    expect({ foreign: again.foreignAdds, unapplied: again.unapplied.length, duplicates: again.duplicates }).toEqual({ foreign: ['s-lost:1'], unapplied: 0, duplicates: 1 });
  });
});
