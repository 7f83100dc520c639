/**
 * The village's catalogue reaches a store brought level by a snapshot. Products and prices used
 * to exist only as `product` events on the stream, so a new store (or a resync, or a store too
 * far behind for deltas) never saw a price change it jumped over and charged the old price.
 * The ledger now keeps the catalogue (cloud-sync/ledger/catalogue.ts) and a snapshot carries it;
 * the store applies it latest by time, so a later change made at the store stands.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../edge/log.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { getProduct, upsertProduct } from '../../edge/ledger/products.ts';
import { pendingOutbox } from '../../edge/ledger/outbox.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { LedgerService } from '../../cloud-sync/ledger/service.ts';
import { villageSeq, villageSnapshot } from '../../cloud-sync/ledger/tables.ts';
import { checkers } from '../../cloud-sync/protocol/payloads.ts';
import { rollup } from '../../cloud-sync/ledger/governance/rollup.ts';
import { keyRing, newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { InboundStream } from '../../cloud-sync/agent/inbound.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { storeClientId } from '../../cloud-sync/agent/identity.ts';
import { brokerKind, discardSessions, ledgerDbKind, startRig, tempLedgerDb, uid, waitFor, type Rig } from '../../harness/sync/rig.ts';
import { tempLedger } from '../ledger/helpers.ts';

const oil = { sku: 'oil-5l', name: '花生油 5L', price: 60, unit_g: 4600, tolerance_g: 100, active: true };

describe(`the catalogue in a snapshot (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig(); });
  afterEach(async () => { await rig.close(); });

  it('a store added after two price changes has the latest price; a resync keeps a later change made at the store', async () => {
    await rig.ledger.putVillager({ id: 'li', name: '李四', village: rig.village });
    await rig.ledger.publishOnStream(rig.village, 'product', oil);
    await rig.ledger.publishOnStream(rig.village, 'product', { ...oil, price: 55 });
    const s = await rig.addStore();
    await waitFor('the new store brought level by a snapshot', () => getProduct(s.db, oil.sku) !== undefined);
    expect(getProduct(s.db, oil.sku)).toMatchObject({ price: 55, unitG: 4600, toleranceG: 100, active: true });
    // The village's catalogue is not sent back up as the store's own product.
    expect(pendingOutbox(s.db).filter((r) => r.topic === 'product')).toEqual([]);

    // The store's maintainer changes the price after the village did: a resync leaves it.
    upsertProduct(s.db, { sku: oil.sku, name: oil.name, price: 50, unitG: 4600, toleranceG: 100 });
    // A name changed at the ledger without an event: only the resync's snapshot brings it, so
    // the store has applied that snapshot once it shows.
    await rig.ledgerDb.run("UPDATE villagers SET name = '李四（改）' WHERE id = 'li'");
    await rig.ledger.publishOnStream(rig.village, 'command', { command: 'resync', store: s.id });
    await waitFor('the resync\'s snapshot applied', () => getVillager(s.db, 'li')?.name === '李四（改）');
    expect(getProduct(s.db, oil.sku)?.price).toBe(50);

    // The village changes it again: the stream brings it, and the next snapshot agrees.
    await rig.ledger.publishOnStream(rig.village, 'product', { ...oil, price: 58, active: false });
    await waitFor('the stream applied', () => getProduct(s.db, oil.sku)?.price === 58);
    expect(getProduct(s.db, oil.sku)).toMatchObject({ price: 58, active: false });
    const snap = await villageSnapshot(rig.ledgerDb, rig.village);
    expect(snap.body.products).toEqual([expect.objectContaining({ sku: oil.sku, price: 58, active: false })]);
    expect(checkers.snapshot.Check(snap.body)).toBe(true);
  }, 60_000);

  it('a product event on the stream is applied like a snapshot\'s catalogue: no outbox row goes back up', async () => {
    const s = await rig.addStore();
    await waitFor('the store online', () => s.agent.state().connected);
    await rig.ledger.publishOnStream(rig.village, 'product', oil);
    await waitFor('the stream applied', () => getProduct(s.db, oil.sku)?.price === 60);
    // Only the store's own products reach the ledger as outbox rows (the sales roll-up).
    expect(s.db.prepare("SELECT seq FROM outbox WHERE topic = 'product'").all()).toEqual([]);
    upsertProduct(s.db, { sku: oil.sku, name: oil.name, price: 50, unitG: 4600, toleranceG: 100 });
    expect((s.db.prepare("SELECT payload FROM outbox WHERE topic = 'product'").pluck().all() as string[]).map((p) => JSON.parse(p) as unknown)).toEqual([{ op: 'upsert', sku: oil.sku, name: oil.name, price: 50 }]);
  }, 60_000);
});

describe(`the catalogue reaching a store by a snapshot only (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => { rig = await startRig({ ledger: { maxDeltas: 1 } }); });
  afterEach(async () => { await rig.close(); });

  it('a store whose clock is 4 minutes fast takes the village\'s later price; the roll-up names the product', async () => {
    await rig.ledger.putVillager({ id: 'li', name: '李四', village: rig.village });
    const s = await rig.addStore(uid('s'), {}, () => new Date(Date.now() + 4 * 60_000));
    await waitFor('the new store level', () => getVillager(s.db, 'li') !== undefined);
    await rig.ledger.publishOnStream(rig.village, 'product', oil);
    await waitFor('the price on the stream', () => getProduct(s.db, oil.sku)?.price === 60);
    await s.stop();
    // Two events while it is away, more than maxDeltas, and none kept for it by the broker: it
    // is brought level by a snapshot.
    await rig.ledger.publishOnStream(rig.village, 'product', { ...oil, price: 55 });
    await rig.ledger.putVillager({ id: 'li', name: '李四（改）', village: rig.village });
    await discardSessions(rig.broker.url, [storeClientId({ village: rig.village, store: s.id })]);
    await s.restart();
    await waitFor('the snapshot applied', () => getVillager(s.db, 'li')?.name === '李四（改）');
    expect(getProduct(s.db, oil.sku)?.price).toBe(55);

    // A sale of it synced by a store that never sent the product up: named from the catalogue.
    const at = new Date().toISOString();
    await rig.ledgerDb.run('INSERT INTO acked_ids (id, village, store, seq, topic, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [`${s.id}:999`, rig.village, s.id, 999, 'session', JSON.stringify({ id: 'x1', kind: 'shopping', villager: 'li', total_points: 55, lines: [{ sku: oil.sku, count: 1, points: 55 }], opened_at: at, closed_at: at }), at]);
    const r = await rollup(rig.ledgerDb, [rig.village], { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date(Date.now() + 86_400_000).toISOString() }, ['sales']);
    expect(r.sales).toEqual([expect.objectContaining({ sku: oil.sku, name: oil.name, count: 1 })]);
  }, 60_000);
});

describe('applying a snapshot\'s catalogue at the store', () => {
  let l: ReturnType<typeof tempLedger>;
  beforeEach(() => { l = tempLedger(); });
  afterEach(() => l.cleanup());
  const snapshot = (products: NonNullable<Parameters<typeof applySnapshot>[1]['products']>) => applySnapshot(l.db, { villagers: [], entries: [], products }, { creditFloor: 0 });

  it('replaces a product only with a later one, and applies a snapshot without a catalogue as before', () => {
    expect(snapshot([{ ...oil, updated_at: '2026-12-01T08:00:00.000Z' }]).products).toBe(1);
    expect(snapshot([{ ...oil, price: 70, updated_at: '2026-11-30T08:00:00.000Z' }]).products).toBe(0);
    expect(getProduct(l.db, oil.sku)?.price).toBe(60);
    expect(snapshot([{ ...oil, price: 65, updated_at: '2026-12-01T09:00:00.000Z' }]).products).toBe(1);
    expect(getProduct(l.db, oil.sku)?.price).toBe(65);
    expect(applySnapshot(l.db, { villagers: [], entries: [] }, { creditFloor: 0 }).products).toBe(0);
    expect(getProduct(l.db, oil.sku)?.price).toBe(65);
  });

  it('a product that cannot be counted refuses the whole snapshot, changing nothing', () => {
    expect(() => snapshot([
      { ...oil, sku: 'rice', price: 30, updated_at: '2026-12-01T08:00:00.000Z' },
      { ...oil, sku: 'salt', tolerance_g: 2300, updated_at: '2026-12-01T08:00:00.000Z' },
    ])).toThrow(/tolerance_g/);
    expect(getProduct(l.db, 'rice')).toBeUndefined();
  });
});

describe('a product event on the stream, applied at the store', () => {
  let l: ReturnType<typeof tempLedger>;
  beforeEach(() => { l = tempLedger(); });
  afterEach(() => l.cleanup());
  const pair = newKeyPair();
  const key = privateEd25519('ledger-1', pair.privatePem);
  const T = (m: number) => new Date(Date.now() - 3_600_000 + m * 60_000);
  const event = (seq: number, price: number, at: Date) => Buffer.from(JSON.stringify(signEnvelope({
    v: 1, id: `product-${seq}`, kind: 'product', village: 'v1', seq, issued_at: at.toISOString(), expires_at: new Date(Date.now() + 3_600_000).toISOString(), body: { ...oil, price },
  }, key)));

  it("follows the snapshot's rule, latest by time: a village price published before the maintainer's change arrives late and leaves it", () => {
    const inbound = new InboundStream({
      db: () => l.db, address: { village: 'v1', store: 's1' }, keys: () => keyRing([{ id: 'ledger-1', pem: pair.publicPem }]), rules: { creditFloor: 0 }, clock: () => new Date(), skewMs: 60_000,
      refusals: new RefusalCounter(), onResyncWanted: () => undefined, snapshotPending: () => false,
    });
    expect(inbound.receive(event(1, 60, T(0)), 'events').map((o) => o.kind)).toEqual(['applied']);
    // 08:20 the maintainer sets 90 at the store; the village's 08:10 price of 65 arrives after it
    upsertProduct(l.db, { sku: oil.sku, name: oil.name, price: 90, unitG: oil.unit_g, toleranceG: oil.tolerance_g }, { clock: () => T(20) });
    expect(inbound.receive(event(2, 65, T(10)), 'events').map((o) => o.kind)).toEqual(['applied']);
    expect(getProduct(l.db, oil.sku)?.price).toBe(90);
    // the village's later price replaces it, and nothing goes back up as the store's own
    expect(inbound.receive(event(3, 70, T(30)), 'events').map((o) => o.kind)).toEqual(['applied']);
    expect(getProduct(l.db, oil.sku)?.price).toBe(70);
    expect(pendingOutbox(l.db).filter((r) => r.topic === 'product').map((r) => (r.payload as { price: number }).price)).toEqual([90]);
  });
});

describe(`the catalogue on the ledger API (${ledgerDbKind})`, () => {
  let app: FastifyInstance;
  let db: SqlDb;
  let drop: () => Promise<void>;
  const v = uid('va');
  const other = uid('vb');
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  beforeAll(async () => {
    ({ db, drop } = await tempLedgerDb());
    const service = new LedgerService({ db, key: privateEd25519('k1', newKeyPair().privatePem), log: silentLogger(), mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'unused' } });
    app = buildLedgerApi({ db, service, log: silentLogger(), tokens: [{ token: 'town', role: 'town' }, { token: 'v', role: 'village', village: v }, { token: 'o', role: 'village', village: other }] });
    for (const id of [v, other]) expect((await app.inject({ method: 'POST', url: '/api/villages', headers: as('town'), payload: { id, name: '村' } })).statusCode).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await drop();
  });
  const put = (token: string, sku: string, payload: object, village = v) => app.inject({ method: 'PUT', url: `/api/villages/${village}/products/${sku}`, headers: as(token), payload });
  const { sku: _sku, ...fields } = oil;

  it('the village publishes a product (one event), reads it back; the town reads it', async () => {
    const seq = await villageSeq(db, v);
    const res = await put('v', oil.sku, fields);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ sku: oil.sku });
    expect(await villageSeq(db, v)).toBe(seq + 1);
    for (const token of ['v', 'town']) {
      const got = await app.inject({ method: 'GET', url: `/api/villages/${v}/products`, headers: as(token) });
      expect(got.json().products).toEqual([expect.objectContaining({ ...oil, updated_at: expect.any(String) })]);
    }
  });

  it('refuses, bilingual and naming the field, a product that cannot be counted, a blank name, the town writing and another village', async () => {
    const seq = await villageSeq(db, v);
    const tol = await put('v', 'rice', { ...fields, tolerance_g: 2300 });
    expect(tol.statusCode).toBe(400);
    expect(tol.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'tolerance_g', zh: expect.stringContaining('误差') });
    const blank = await put('v', 'rice', { ...fields, name: '  ' });
    expect(blank.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'name', zh: expect.any(String) });
    expect((await put('v', 'bad sku', fields)).statusCode).toBe(400);
    // 100 characters, 103 UTF-16 units: the API's schema counts characters, the stores count
    // units; it was published and every store refused the event and each snapshot after it. The
    // ledger now checks what it appends as the stores will, and publishes nothing.
    const astral = `🍎🍐🍊${'苹'.repeat(97)}`;
    expect((await put('v', 'fruit', { ...fields, name: astral })).json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'name' });
    expect((await app.inject({ method: 'PUT', url: `/api/villages/${v}/villagers/wu`, headers: as('v'), payload: { name: astral } })).json()).toMatchObject({ error: 'INVALID_ARGUMENT' });
    expect((await put('town', 'rice', fields)).statusCode).toBe(403);
    expect((await put('o', 'rice', fields)).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/api/villages/${v}/products`, headers: as('o') })).statusCode).toBe(404);
    expect(await villageSeq(db, v)).toBe(seq);
  });
});
