/**
 * A store's ledger file put back in time (`store-edge restore` of an older copy, or the store
 * reinstalled under the same id): its outbox hands out seqs the village ledger already holds as
 * other rows. The rows written since must still reach the ledger, once, and the balances agree.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { backupLedger } from '../../edge/ledger/backup.ts';
import { restoreCopy } from '../../edge/ledger/restore-copy.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { outboxRolledBackAt, touchContact } from '../../edge/ledger/sync-state.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';
import type { SyncConfig } from '../../cloud-sync/agent/config.ts';
import { stockStore, visit } from './shop.ts';

const at = () => new Date().toISOString();
const rules = { creditFloor: 0 };
const redeem = (s: TestStore, id: string, points: number) => applyEntry(s.db, { id, villagerId: 'zhang', kind: 'redemption', points: -points, reason: '超市兑换 / store purchase', origin: 'store' }, rules);

describe(`a store whose ledger file went back in time (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  /** Store `s` (with `over` in its sync config) with zhang's award of 100 applied, at the ledger and here. */
  async function storeWithAward(over: Partial<SyncConfig> = {}): Promise<TestStore> {
    const s = await rig.addStore(undefined, over);
    await waitFor('the store online', () => s.agent.state().connected);
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await rig.ledger.award(rig.village, { id: 'aw-1', villager: 'zhang', kind: 'award', points: 100, reason: '打扫卫生', created_at: at() });
    await waitFor('the award at the store', () => getVillager(s.db, 'zhang')?.balance === 100);
    return s;
  }

  /** `storeWithAward`, then sess-A and sess-B sold and held at the ledger (zhang 70): the ledger holds rows 1 and 2 of the store. */
  async function storeWithTwoSales(): Promise<TestStore> {
    const s = await storeWithAward();
    redeem(s, 'sess-A', 10);
    redeem(s, 'sess-B', 20);
    await waitFor('the store drained', () => countOutbox(s.db).pending === 0);
    await waitFor('sess-A and sess-B at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === 70);
    return s;
  }

  /** The store's ledger file gone (the PC reinstalled): its agent stopped and a new, empty file in its place. */
  async function wipe(s: TestStore): Promise<void> {
    await s.stop();
    const file = s.db.name;
    closeLedger(s.db);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    s.db = openLedger(file);
  }

  /** The agent runs again: every row reaches the ledger, wang's balance there is the store's, zhang's stays 70. */
  async function restartAndExpectWang(s: TestStore, wang: number): Promise<void> {
    await s.restart();
    await waitFor('the store drained', () => countOutbox(s.db).pending === 0);
    await waitFor('wang at the ledger as at the store', async () => (await balanceOf(rig.ledgerDb, 'wang')) === wang);
    expect(getVillager(s.db, 'wang')?.balance).toBe(wang);
    expect(await balanceOf(rig.ledgerDb, 'zhang')).toBe(70);
  }

  /** Written at the store before its agent runs: wang registered here, 50 points given at the counter, `sales` sales of 1. */
  function wangOffline(s: TestStore, sales: number): void {
    addVillager(s.db, { id: 'wang', name: '王五', village: rig.village });
    applyEntry(s.db, { id: 'wang-start', villagerId: 'wang', kind: 'award', points: 50, reason: '开户积分', origin: 'cli' }, rules);
    for (let i = 1; i <= sales; i++) applyEntry(s.db, { id: `sess-W${i}`, villagerId: 'wang', kind: 'redemption', points: -1, reason: '超市兑换 / store purchase', origin: 'store' }, rules);
  }

  it('after `restore` of an older copy, sales made since reach the ledger and both balances agree', async () => {
    const s = await storeWithAward();
    redeem(s, 'sess-0', 5);
    await waitFor('sess-0 acknowledged', () => countOutbox(s.db).pending === 0);
    const copy = await backupLedger(s.db, path.join(s.dir, 'backups'), new Date());
    redeem(s, 'sess-A', 10);
    redeem(s, 'sess-B', 20);
    await waitFor('sess-A and sess-B at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === 65);
    await waitFor('the store drained', () => countOutbox(s.db).pending === 0);

    await s.stop();
    const file = s.db.name;
    closeLedger(s.db);
    restoreCopy(copy.file, file, new Date());
    s.db = openLedger(file);
    expect(outboxRolledBackAt(s.db)).toBeGreaterThan(0);
    // Sales before the agent runs again, so they take the seqs of sess-A and sess-B, and after.
    redeem(s, 'sess-C', 40);
    await s.restart();
    await waitFor('the store online again', () => s.agent.state().connected);
    redeem(s, 'sess-D', 1);

    await waitFor('sess-C and sess-D at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === 24);
    await waitFor('the store has sess-A and sess-B back from the stream', () => getVillager(s.db, 'zhang')?.balance === 24);
    await waitFor('the store drained', () => countOutbox(s.db).pending === 0);
    expect(outboxRolledBackAt(s.db)).toBeUndefined();
    expect(rig.ledger.counters.clashes).toBe(0);
    const entries = await rig.ledgerDb.query<{ id: string }>("SELECT id FROM entries WHERE villager_id = 'zhang' ORDER BY id");
    expect(entries.map((e) => e.id)).toEqual(['aw-1', 'sess-0', 'sess-A', 'sess-B', 'sess-C', 'sess-D']);
  });

  it('a store reinstalled under the same id: its first sale reaches the ledger', async () => {
    const s = await storeWithTwoSales();

    await wipe(s);
    await s.restart();
    await waitFor('zhang back from the ledger', () => getVillager(s.db, 'zhang')?.balance === 70);
    redeem(s, 'sess-C', 40);
    expect(pendingOutbox(s.db, 10).every((r) => r.seq > 2)).toBe(true);
    await waitFor('sess-C at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === 30);
    await waitFor('the store drained', () => countOutbox(s.db).pending === 0);
    expect(getVillager(s.db, 'zhang')?.balance).toBe(30);
  });

  it('a store reinstalled that writes more rows before it first hears from the ledger than the ledger holds of it: none is taken for acknowledged', async () => {
    const s = await storeWithTwoSales();

    await wipe(s);
    // Before its agent first runs, the reinstalled store registers a villager of its own, gives
    // him points at the counter and sells to him: seqs 1 to 7, above the 2 the ledger holds of it.
    wangOffline(s, 5);
    expect(countOutbox(s.db)).toEqual({ pending: 7, total: 7 });
    await s.restart();
    await waitFor('the store drained', () => countOutbox(s.db).pending === 0);
    // Every row the reinstalled store wrote reached the ledger: none was marked acknowledged by
    // a beat whose contiguous_seq counted the rows of the store before it.
    await waitFor('wang at the ledger as at the store', async () => (await balanceOf(rig.ledgerDb, 'wang')) === 45);
    expect(getVillager(s.db, 'wang')?.balance).toBe(45);
    expect(await balanceOf(rig.ledgerDb, 'zhang')).toBe(70);
  });

  it('rows that go out before any beat under seqs the ledger holds as other rows are named in the ack and sent again under new seqs', async () => {
    const s = await storeWithTwoSales();

    // A ledger file put back by hand (no `restore`, so no mark) that had heard from the ledger
    // once: its rows go out at once on connecting, before the beat that would show the rollback.
    await wipe(s);
    touchContact(s.db, at());
    wangOffline(s, 3);
    await restartAndExpectWang(s, 47);
  });

  it('a beat the ledger queued for the store while its file was put back (a greeting in its broker session) marks none of the new rows acknowledged', async () => {
    const s = await storeWithTwoSales();

    // The store is down and its file put back by hand (it had heard from the ledger once).
    // Meanwhile the village ledger restarts and greets every store: the broker keeps that beat,
    // contiguous_seq 2, in the store's session, and hands it over before anything else.
    await wipe(s);
    touchContact(s.db, at());
    await rig.stopLedger();
    rig.startLedger();
    await waitFor('the ledger online again', () => rig.ledger.connected);
    await rig.ledger.idle();
    wangOffline(s, 3);
    await restartAndExpectWang(s, 47);
  });

  for (const [batchSize, sales] of [[2, 6], [100, 80]] as const) {
    it(`rows moved after a clash never take a seq still in flight, and rows of later batches are not sent twice (batches of ${batchSize}, ${sales} sales)`, async () => {
      const s = await storeWithAward({ batch_size: batchSize });
      for (let i = 1; i <= 3; i++) redeem(s, `old-${i}`, 1);
      await waitFor('the store drained', () => countOutbox(s.db).pending === 0);
      await waitFor('the old sales at the ledger', async () => (await balanceOf(rig.ledgerDb, 'zhang')) === 97);

      // A file put back by hand that had heard from the ledger: its first rows clash (the ledger
      // holds seqs 1-3 as the old sales), and the batches after them go out before that ack.
      await wipe(s);
      touchContact(s.db, at());
      wangOffline(s, 0);
      applyEntry(s.db, { id: 'wang-more', villagerId: 'wang', kind: 'award', points: 1000, reason: '防汛值守', origin: 'cli' }, rules);
      stockStore(s.db);
      for (let i = 1; i <= sales; i++) expect(visit(s.db, 'wang', `w-${i}`, 1, rules, () => new Date()).verdict).toBe('admit');
      await s.restart();
      await waitFor('the store drained', () => countOutbox(s.db).pending === 0);
      const storeBalance = 1050 - sales * 10;
      await waitFor('wang at the ledger as at the store', async () => (await balanceOf(rig.ledgerDb, 'wang')) === storeBalance);
      expect(getVillager(s.db, 'wang')?.balance).toBe(storeBalance);
      // Every session row held once: a row of a later batch, applied by the ledger before the
      // clash was known, was not moved and sent again under a new id.
      const sessionRows = await rig.ledgerDb.query<{ id: string }>("SELECT id FROM acked_ids WHERE village = $1 AND store = $2 AND topic = 'session'", [rig.village, s.id]);
      expect(sessionRows.length).toBe(sales);
      expect(await balanceOf(rig.ledgerDb, 'zhang')).toBe(97);
    }, 60_000);
  }
});
