/**
 * Group commit at the village ledger (cloud-sync/ledger/group.ts): batches that queued up are
 * applied in one transaction; when the database refuses one of them, the rest are applied one
 * by one and the refused one fails alone, is not acknowledged and is counted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge/log.ts';
import { applyRowGroup, type CheckedRows } from '../../cloud-sync/ledger/group.ts';
import { LedgerService } from '../../cloud-sync/ledger/service.ts';
import { addVillage, balanceOf, registerStore, upsertVillager, type Signer } from '../../cloud-sync/ledger/tables.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { loadOrCreateStoreKey } from '../../cloud-sync/agent/identity.ts';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, tempLedgerDb, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';

const at = () => new Date().toISOString();

/**
 * The ledger's database, refusing any statement that carries `badRowId` (as a full disk or a
 * broken constraint would refuse that batch), and counting the transactions it was asked for.
 */
function refusingDb(inner: SqlDb, badRowId: string): SqlDb & { transactions: number } {
  const check = (params: unknown[] | undefined): void => {
    // Flattened: on PostgreSQL the rows go as one array per column (rows.ts `insertRows`).
    if (params?.flat().includes(badRowId)) throw new Error(`injected: the database refuses row ${badRowId}`);
  };
  const over = (db: SqlDb, self: () => SqlDb): SqlDb => ({
    dialect: db.dialect,
    query: async (sql, params) => {
      check(params);
      return db.query(sql, params);
    },
    run: async (sql, params) => {
      check(params);
      return db.run(sql, params);
    },
    runEach: async (sql, rows) => {
      for (const params of rows) check(params);
      return db.runEach(sql, rows);
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => fn(self()),
    close: () => db.close(),
  });
  const outer: SqlDb & { transactions: number } = {
    ...over(inner, (): SqlDb => outer),
    transactions: 0,
    transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
      outer.transactions++;
      return inner.transaction((tx) => {
        const wrapped: SqlDb = over(tx, () => wrapped);
        return fn(wrapped);
      });
    },
  };
  return outer;
}

const row = (store: string, seq: number, villager: string, points: number): Row => ({
  id: `${store}:${seq}`, seq, topic: 'entry', payload: { id: `${store}-e${seq}`, villager, kind: 'redemption', points, created_at: at() }, created_at: at(),
});

describe(`group commit of row batches (${ledgerDbKind})`, () => {
  let ledger: Awaited<ReturnType<typeof tempLedgerDb>>;
  const village = uid('v');
  const signer: Signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };
  beforeEach(async () => {
    ledger = await tempLedgerDb();
    await addVillage(ledger.db, village, '示范村', at());
    for (const s of ['a', 'b', 'c']) await registerStore(ledger.db, village, s, 'store', 'unused here');
    await upsertVillager(ledger.db, { id: 'wang', name: '王五', village, status: 'active' }, signer, new Date());
  });
  afterEach(async () => {
    await ledger.drop();
  });

  const batches = (): CheckedRows[] => [
    { village, store: 'a', rows: [row('a', 1, 'wang', -1), row('a', 2, 'wang', -2)] },
    { village, store: 'b', rows: [row('b', 1, 'wang', -10)] },
    { village, store: 'c', rows: [row('c', 1, 'wang', -100)] },
  ];
  const held = async (): Promise<string[]> => (await ledger.db.query<{ id: string }>('SELECT id FROM acked_ids WHERE village = $1 ORDER BY id', [village])).map((r) => r.id);

  it('batches that queued up share one transaction', async () => {
    const db = refusingDb(ledger.db, 'nothing-is-refused');
    const retried: unknown[] = [];
    const out = await applyRowGroup(db, batches(), signer, () => new Date(), (err) => retried.push(err));
    expect(out.map((o) => o.ok)).toEqual([true, true, true]);
    expect(db.transactions).toBe(1);
    expect(retried).toEqual([]);
    expect(await held()).toEqual(['a:1', 'a:2', 'b:1', 'c:1']);
    expect(await balanceOf(ledger.db, 'wang')).toBe(-113);
  });

  it('one batch the database refuses: the others are applied one by one, the refused one fails alone', async () => {
    const db = refusingDb(ledger.db, 'b:1');
    const retried: unknown[] = [];
    const out = await applyRowGroup(db, batches(), signer, () => new Date(), (err) => retried.push(err));
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
    expect(String((out[1] as { error: unknown }).error)).toContain('refuses row b:1');
    // The shared transaction, then each batch in its own.
    expect(retried).toHaveLength(1);
    expect(db.transactions).toBe(4);
    expect(await held()).toEqual(['a:1', 'a:2', 'c:1']);
    expect(await balanceOf(ledger.db, 'wang')).toBe(-103);
    const ok = out.filter((o) => o.ok).map((o) => o.result.ackIds);
    expect(ok).toEqual([['a:1', 'a:2'], ['c:1']]);
  });
});

describe(`a row batch the ledger's database refuses (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  let service: LedgerService | undefined;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await service?.stop();
    await rig.close();
  });

  it('is not acknowledged and is counted; the store\'s next batch is applied', async () => {
    const s = await rig.addStore();
    await waitFor('store online', () => s.agent.state().connected);
    await rig.ledger.putVillager({ id: 'wang', name: '王五', village: rig.village, status: 'active' });
    await s.stop(); // the test plays the store's part on the wire
    await rig.stopLedger();
    const badId = `${s.id}:1`;
    const serviceId = uid('ledger-');
    rig.broker.leaves(serviceId);
    service = new LedgerService({ db: refusingDb(rig.ledgerDb, badId), key: privateEd25519('ledger-1', rig.ledgerKey.privatePem), log: silentLogger(), mqtt: { url: rig.broker.url, clientId: serviceId, reconnectMs: 100 } });
    service.start();
    await waitFor('the ledger connected', () => service!.connected);
    const key = loadOrCreateStoreKey(s.dir, 'store');
    const m = await publisher(rig);
    const acks: string[] = [];
    const listener = new SyncMqtt({ url: rig.broker.url, clientId: uid('test-'), persistentSession: false });
    listener.on('message', (_t, p) => acks.push(...(JSON.parse(p.toString()) as { ids: string[] }).ids));
    const subscribed = new Promise<void>((resolve) => listener.once('connect', () => resolve()));
    listener.start([storeTopic({ village: rig.village, store: s.id }, 'down/ack')]);
    await subscribed;
    const send = (seqs: number[]) => m.publish(storeTopic({ village: rig.village, store: s.id }, 'up/rows'), JSON.stringify(signEnvelope({
      v: 1, id: uid('b'), kind: 'rows', village: rig.village, store: s.id, seq: seqs[0]!, issued_at: at(), expires_at: new Date(Date.now() + 60_000).toISOString(),
      body: { rows: seqs.map((q) => row(s.id, q, 'wang', -q)) },
    }, key)));
    await send([1]);
    await waitFor('the refused batch counted', () => service!.counters.failed === 1);
    await send([2]);
    await waitFor('the next batch applied', () => service!.counters.rows === 1);
    await waitFor('its ack', () => acks.includes(`${s.id}:2`));
    expect(acks).not.toContain(badId);
    expect(await balanceOf(rig.ledgerDb, 'wang')).toBe(-2);
    await m.stop();
    await listener.stop();
  });
});
