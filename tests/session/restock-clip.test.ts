/**
 * A restock that takes away more than the ledger says a slot holds: stock stops at zero and
 * a review line tells the maintainer, never a silent clip. Checked on the function and
 * through the real daemon on simulated hardware (maintainer's card, shelf, exit button).
 */
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createSimulatedHardware } from '../../drivers/index.ts';
import { validateConfig } from '../../edge/config/load.ts';
import { addCard } from '../../edge/entry/credentials.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { getSlot, upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { listSessions, openSession, sessionReview, settleSession } from '../../edge/ledger/sessions.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { StoreDaemon } from '../../edge/main.ts';
import type { Receipt } from '../../edge/session/receipt.ts';
import { stepsOnDaemon } from '../../harness/scenario/in-process.ts';
import { tempDir, tempLedger } from '../ledger/helpers.ts';

const salt = { sku: 'salt', name: '食盐', price: 3, unit_g: 400, tolerance_g: 10 };

describe('settling a restock in the ledger', () => {
  const ledger = tempLedger();
  afterAll(() => ledger.cleanup());

  it('moves stock, clips at zero with a review line for each slot taken below zero, and returns every review line', () => {
    const db = ledger.db;
    upsertProduct(db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
    upsertSlot(db, { slot: 'A1', address: 11, sku: 'salt', stock: 1 });
    upsertSlot(db, { slot: 'A2', address: 12, sku: 'salt', stock: 4 });
    upsertSlot(db, { slot: 'A3', address: 13, sku: 'salt', stock: 0 });
    addVillager(db, { id: 'chen', name: '老陈', village: 'test', isMaintainer: true });
    openSession(db, { id: 'r1', kind: 'restock', villagerId: 'chen', enteredBy: 'card', state: 'restocking', context: {} });
    const cartReview = [{ slot: 'A3', reason: 'not_whole_count', deltaG: 130, detail: 'x' }];
    const r = settleSession(db, { sessionId: 'r1', lines: [], review: cartReview, stock: [{ sku: 'salt', slot: 'A1', count: -3 }, { sku: 'salt', slot: 'A2', count: -4 }] }, { creditFloor: 0 });
    expect(r.review.map((l) => [l.slot, l.reason])).toEqual([['A3', 'not_whole_count'], ['A1', 'stock_clipped']]);
    expect(r.review[1]?.detail).toContain('ledger had 1');
    expect([getSlot(db, 'A1')?.stock, getSlot(db, 'A2')?.stock]).toEqual([0, 0]);
    expect(sessionReview(db, 'r1')).toHaveLength(2);
    // settling again moves nothing and reports what the first settlement stored
    const again = settleSession(db, { sessionId: 'r1', lines: [], review: [], stock: [{ sku: 'salt', slot: 'A2', count: 5 }] }, { creditFloor: 0 });
    expect(again).toMatchObject({ status: 'already_settled' });
    expect(again.review).toHaveLength(2);
    expect(getSlot(db, 'A2')?.stock).toBe(0);
  });
});

describe('restock taking more than the ledger holds, through the daemon', () => {
  const t = tempDir('restock-clip-');
  let daemon: StoreDaemon | undefined;
  afterAll(async () => {
    await daemon?.stop();
    t.cleanup();
  });

  it('settles with stock 0 and a stock_clipped review line; the receipt counts it', async () => {
    const physics = { settleMs: 60, noiseG: 1, creepGPerMin: 0 };
    const config = validateConfig({
      data_dir: t.dir,
      demo: true,
      demo_loop: false,
      http: { port: 0 },
      log: { level: 'silent' },
      drivers: { simulated: true, scales: { list: [{ slot: 'A1', unit_id: 11, capacity_g: 100_000 }], poll_interval_ms: 15, stable_window: 3, stable_band_g: 4 }, lock: { input_poll_ms: 15, release_check_ms: 50 }, modbus: { response_timeout_ms: 100 } },
      entry: { face_enabled: false },
      session: { stability_wait_ms: 1000 },
    });
    // the ledger believes one bag is on the shelf; six really are (an unrecorded delivery)
    const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
    upsertProduct(db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
    upsertSlot(db, { slot: 'A1', address: 11, sku: 'salt', stock: 1 });
    addVillager(db, { id: 'chen', name: '老陈', village: 'test', isMaintainer: true });
    addCard(db, 'ADMIN-01', 'chen', new Date().toISOString());
    closeLedger(db);
    const hw = createSimulatedHardware({ config: config.drivers, physics, seed: 1 });
    hw.scale('A1').place(6, 400);
    daemon = new StoreDaemon(config, pino({ level: 'silent' }), { physics, seed: 1, hardwareState: hw.snapshot() });
    await daemon.start();
    const store = daemon;
    const receipts: Receipt[] = [];
    store.session?.on('receipt', (r) => receipts.push(r));
    const until = async (check: () => boolean, ms: number, what: string): Promise<void> => {
      const end = Date.now() + ms;
      while (!check()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const { steps } = stepsOnDaemon(
      { products: [salt], slots: [{ slot: 'A1', scale: 11, sku: 'salt', stock: 6 }], villagers: [{ id: 'chen', name: '老陈', balance: 0, card: 'ADMIN-01', maintainer: true, enrolled: false }] },
      () => store,
      { until, stepNo: () => 1 },
      { key: generateKeyPairSync('ed25519').privateKey, village: 'test' },
    );
    await until(() => store.hardware?.scales.status().every((s) => s.stable_g !== null) ?? false, 5000, 'the scales');

    expect(await steps.enter('chen', 'card', true)).toBe(true);
    await steps.perform({ kind: 'take', slot: 'A1', count: 3 });
    await steps.exit('button');

    const session = listSessions(store.db, { limit: 1 })[0];
    expect(session).toMatchObject({ kind: 'restock', status: 'settled' });
    expect(sessionReview(store.db, session!.id).map((r) => [r.slot, r.reason])).toEqual([['A1', 'stock_clipped']]);
    expect(getSlot(store.db, 'A1')?.stock).toBe(0);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]?.reviewCount).toBe(1);
    expect(receipts[0]?.text).toContain('1 处重量变化需要核对');
  });
});
