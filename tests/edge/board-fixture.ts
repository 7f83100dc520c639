/**
 * A village for the board tests, made through the ledger's own API (governance records and
 * approvals, one villager opted out, one staff) and a store that receives the ledger's board
 * the way the sync agent does (a signed envelope through BoardInbox). The store's own ledger
 * holds balances and a debt that the board must never show.
 */
import { createPublicKey } from 'node:crypto';
import { expect } from 'vitest';
import type { Db } from '../../edge/ledger/db.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { computeBoard } from '../../cloud-sync/ledger/board/compute.ts';
import { BoardInbox } from '../../cloud-sync/agent/board.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import { keyRing, newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { govApp, type GovApp } from '../ledger-gov/gov-app.ts';

/** Never on the board: 李四 opted out (masked or left off), 老陈 is the store's maintainer, 赵六 opted out and in debt. */
export const HIDDEN_NAMES = ['李四', '老陈', '赵六'];
/** Figures of the store's ledger that are nobody's business on a wall: balances and a debt. */
export const PRIVATE_FIGURES = ['5437', '777'];

export interface BoardVillage {
  gov: GovApp;
  /** Computes the village's board now and delivers it to the store (a newer version each time). */
  deliver(): Promise<number>;
  close(): Promise<void>;
}

export async function boardVillage(store: Db): Promise<BoardVillage> {
  const gov = await govApp();
  const a = gov.a;
  const key = privateEd25519('ledger-1', newKeyPair().privatePem);
  const pub = keyRing([{ id: 'ledger-1', pem: createPublicKey(key.key).export({ type: 'spki', format: 'pem' }).toString() }]);
  const tokens: Record<string, string> = {};
  for (const [id, name] of [['zhang', '张三'], ['li', '李四'], ['wang', '王五'], ['chen', '老陈'], ['zhao', '赵六'], ['sun', '孙七']] as const) {
    tokens[id] = await gov.villager(a, id);
    expect((await gov.call(gov.va, 'PUT', `/api/villages/${a}/villagers/${id}`, { name })).statusCode).toBe(200);
  }
  const record = async (villager: string, item: string, points?: number) => {
    const r = await gov.call(gov.va, 'POST', `/api/villages/${a}/reports`, { item, villager, ...(points ? { points } : {}) });
    expect(r.statusCode).toBe(201);
    expect((await gov.call(gov.va, 'POST', `/api/villages/${a}/claims/${(r.json() as { id: string }).id}/approve`, {})).statusCode).toBe(200);
  };
  await record('zhang', 'CIV-GOOD-FAMILY');
  await record('zhang', 'GOV-MEETING');
  await record('li', 'GOV-SUGGESTION', 9);
  await record('wang', 'GOV-SUGGESTION', 7);
  await record('chen', 'CIV-GOOD-FAMILY');
  await record('zhao', 'GOV-INSURANCE');
  await record('sun', 'ENV-SORT-GARBAGE');
  const task = (await gov.call(gov.va, 'POST', `/api/villages/${a}/tasks`, { title: '清理河道垃圾（村东段）', item: 'GOV-SUGGESTION', points: 6, max_claimants: 3 })).json() as { id: string };
  const claim = (await gov.call(tokens.sun, 'POST', `/api/villages/${a}/tasks/${task.id}/claim`)).json() as { id: string };
  expect((await gov.call(tokens.sun, 'POST', `/api/villages/${a}/claims/${claim.id}/report`, {})).statusCode).toBe(200);
  expect((await gov.call(gov.va, 'POST', `/api/villages/${a}/claims/${claim.id}/approve`, {})).statusCode).toBe(200);
  // 老陈 is not marked staff at the ledger (the village forgot): the store, which knows its maintainer, leaves him off.
  expect((await gov.call(tokens.li, 'PUT', `/api/villages/${a}/me/board`, { named: false })).statusCode).toBe(200);
  expect((await gov.call(tokens.zhao, 'PUT', `/api/villages/${a}/me/board`, { named: false })).statusCode).toBe(200);

  // The store: the same villagers (老陈 its maintainer), balances, a debt, the catalogue and stock.
  for (const [id, name] of [['zhang', '张三'], ['li', '李四'], ['wang', '王五'], ['chen', '老陈'], ['zhao', '赵六'], ['sun', '孙七']] as const) {
    addVillager(store, { id, name, village: a, isMaintainer: id === 'chen' });
  }
  applyEntry(store, { id: 'o1', villagerId: 'zhang', kind: 'award', points: 5437, reason: '开户', origin: 'cli' }, { creditFloor: 0 });
  applyEntry(store, { id: 'o2', villagerId: 'zhao', kind: 'penalty', points: -777, reason: '赔偿', origin: 'cli' }, { creditFloor: 0 });
  const goods: Array<[string, string, number, number]> = [['salt', '食盐 400g', 5, 12], ['soap', '香皂', 8, 0], ['oil', '花生油 1L', 30, 4], ['rice', '大米 5kg', 60, 2], ['tissue', '抽纸 3包', 12, 9], ['soy', '酱油 500ml', 10, 0]];
  goods.forEach(([sku, name, price, stock], i) => {
    upsertProduct(store, { sku, name, price, unitG: 100, toleranceG: 10 });
    upsertSlot(store, { slot: `S${i}`, address: 11 + i, sku, stock });
  });

  const inbox = new BoardInbox({ db: () => store, village: a, keys: () => pub, clock: () => new Date(), skewMs: 60_000, refusals: new RefusalCounter() });
  let version = 0;
  return {
    gov,
    async deliver() {
      const now = new Date();
      version = Math.max(version + 1, now.getTime());
      const body = await computeBoard(gov.db, a, now);
      const env = signEnvelope({ v: 1, id: `board:${a}:${version}`, kind: 'board', village: a, seq: version, issued_at: now.toISOString(), expires_at: new Date(now.getTime() + 86_400_000).toISOString(), body }, key);
      expect(inbox.receive(Buffer.from(JSON.stringify(env)))).toEqual({ kind: 'applied', version });
      return version;
    },
    close: () => gov.close(),
  };
}
