/**
 * Two products whose unit weights are within each other's tolerance cannot be told apart by the
 * shelves (salt 400 g taken, honey 405 g put down in its place: the same weight back). `store-edge
 * doctor` warns of such pairs, in both languages.
 */
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { upsertProduct, upsertSlot, listProducts } from '../../edge/ledger/products.ts';
import { lookAlikes } from '../../edge/ledger/look-alikes.ts';
import { loadConfig } from '../../edge/config/load.ts';
import { checkSlots } from '../../edge/ops/doctor-slots.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('look-alikes-');
afterAll(() => t.cleanup());

describe('look-alike products', () => {
  it('pairs products within each other\'s tolerance, and doctor warns of them', () => {
    const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
    try {
      upsertProduct(db, { sku: 'salt', name: '食盐', price: 3, unitG: 400, toleranceG: 10 });
      upsertProduct(db, { sku: 'honey', name: '蜂蜜', price: 20, unitG: 405, toleranceG: 8 });
      upsertProduct(db, { sku: 'soap', name: '洗衣皂', price: 5, unitG: 230, toleranceG: 8 });
      upsertSlot(db, { slot: 'A1', address: 11, sku: 'honey', stock: 3 });
      upsertSlot(db, { slot: 'B1', address: 12, sku: 'salt', stock: 3 });
      expect(lookAlikes(listProducts(db)).map((p) => [p.a.sku, p.b.sku, p.diffG].sort())).toEqual([[5, 'honey', 'salt']]);
    } finally {
      closeLedger(db);
    }
    const file = path.join(t.dir, 'store-edge.yaml');
    writeFileSync(file, `data_dir: ${JSON.stringify(t.dir)}\nentry:\n  face_enabled: false\ndrivers:\n  scales:\n    list:\n      - {slot: A1, unit_id: 11}\n      - {slot: B1, unit_id: 12}\n`);
    const { config } = loadConfig({ file, env: { STORE_EDGE_CONFIG: '' } });
    const rows = checkSlots(config, { list: config.drivers.scales.list, source: { kind: 'config', file } });
    const row = rows.find((r) => r.check === 'look-alike products');
    expect(row?.status).toBe('warn');
    expect(row?.detail).toContain('食盐');
    expect(row?.detail).toContain('honey');
    expect(row?.detail).toContain('cannot be told by weight');
    expect(row?.detail).toContain('按重量无法发现');
    expect(rows.find((r) => r.check === 'slots')?.status).toBe('ok');
  });
});
