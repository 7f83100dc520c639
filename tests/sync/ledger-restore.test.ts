/**
 * The village ledger restored from an older copy: the rows a store had had acknowledged since the
 * copy are gone from it. The store's heartbeat shows it (last_acked_seq above the ledger's
 * contiguous seq), the beat has the store send them again, and balances agree again. Meanwhile
 * the store's status says rows are missing, raised once, and it clears when they have arrived;
 * a store that cannot send them (they are not in its outbox) is said so, once, naming the seqs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { openSqlite } from '../../cloud-sync/ledger/sql.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { MissingRowsTracker, STUCK_AFTER } from '../../cloud-sync/ledger/missing-rows.ts';
import type { Logger } from '../../edge/log.ts';
import { brokerKind, ledgerDbKind, startRig, waitFor, type Rig } from '../../harness/sync/rig.ts';

const at = () => new Date().toISOString();
const contiguous = async (r: Rig, store: string) => Number((await r.ledgerDb.query<{ c: number }>('SELECT contiguous_seq AS c FROM stores WHERE village = $1 AND id = $2', [r.village, store]))[0]!.c);

describe(`a village ledger restored from an older copy (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it("gets the store's acknowledged rows again, balances agree, and the missing-rows status clears", async () => {
    rig = await startRig();
    const r = rig;
    const s = await r.addStore(undefined, { retransmit_ms: 300, retransmit_max_ms: 1000 });
    await waitFor('the store online', () => s.agent.state().connected);
    await r.ledger.putVillager({ id: 'zhang', name: '张三', village: r.village, status: 'active' });
    await r.ledger.award(r.village, { id: 'aw-1', villager: 'zhang', kind: 'award', points: 100, reason: '打扫卫生', created_at: at() });
    await waitFor('the award at the store', () => getVillager(s.db, 'zhang')?.balance === 100);
    const sell = (id: string, points: number) => applyEntry(s.db, { id, villagerId: 'zhang', kind: 'redemption', points: -points, reason: '超市兑换 / store purchase', origin: 'store' }, { creditFloor: 0 });
    sell('sess-1', 10);
    await waitFor('sess-1 at the ledger', async () => (await balanceOf(r.ledgerDb, 'zhang')) === 90 && countOutbox(s.db).pending === 0);
    const backup = await contiguous(r, s.id); // the copy is taken here
    for (let i = 2; i <= 5; i++) sell(`sess-${i}`, i);
    await waitFor('every sale at the ledger', async () => (await balanceOf(r.ledgerDb, 'zhang')) === 76 && countOutbox(s.db).pending === 0);

    // The ledger's disk dies; it comes back from the copy: the rows after it, and their entries, gone.
    await r.stopLedger();
    await r.ledgerDb.exec(ledgerDbKind === 'postgres' ? 'DROP TRIGGER entries_no_change ON entries' : 'DROP TRIGGER entries_no_delete');
    await r.ledgerDb.run("DELETE FROM entries WHERE id IN ('sess-2', 'sess-3', 'sess-4', 'sess-5')");
    await r.ledgerDb.run('DELETE FROM acked_ids WHERE village = $1 AND store = $2 AND seq > $3', [r.village, s.id, backup]);
    await r.ledgerDb.run('UPDATE stores SET contiguous_seq = $1 WHERE village = $2 AND id = $3', [backup, r.village, s.id]);
    expect(await balanceOf(r.ledgerDb, 'zhang')).toBe(90);
    r.startLedger();
    await waitFor('the ledger online again', () => r.ledger.connected);

    // The ledger's greeting or the beat answering the store's heartbeat shows the ledger behind it; the store sends the rows again.
    await waitFor('the sales at the ledger again', async () => (await balanceOf(r.ledgerDb, 'zhang')) === 76 && (await contiguous(r, s.id)) === backup + 4, 60_000);
    expect(getVillager(s.db, 'zhang')?.balance).toBe(76);
    // and the status that said so clears at the next heartbeat
    await waitFor('the missing-rows status cleared', () => r.ledger.heartbeatDeps.missing?.get(r.village, s.id) === undefined);
  }, 120_000);
});

describe('the missing-rows status', () => {
  it('is raised once naming the seqs, says plainly when the store does not send them, and clears when they arrive', async () => {
    const db = openSqlite(':memory:');
    await migrateLedger(db);
    await db.run("INSERT INTO villages (id, name, next_seq, created_at) VALUES ('v1', '一村', 1, $1)", [at()]);
    // the ledger holds the store's rows 1–50 and 53–60 (51–52 never came)
    for (const seq of [50, 53, 54, 60]) await db.run("INSERT INTO acked_ids (id, village, store, seq, topic, payload, received_at, created_at) VALUES ($1, 'v1', 's1', $2, 'session', '{}', $3, $3)", [`s1:${seq}`, seq, at()]);
    const logged: { level: string; msg: string }[] = [];
    const log = { error: (_o: unknown, msg: string) => logged.push({ level: 'error', msg }), info: (_o: unknown, msg: string) => logged.push({ level: 'info', msg }) } as unknown as Logger;
    const t = new MissingRowsTracker();
    const now = new Date();
    await t.ahead(db, log, 'v1', 's1', 60, 50, now);
    expect(t.get('v1', 's1')).toMatchObject({ from: 51, to: 52, last_acked_seq: 60, stuck: false });
    expect(t.get('v1', 's1')!.detail).toContain('51–52');
    expect(logged).toHaveLength(1);
    // heartbeats with nothing arriving: said plainly once, after STUCK_AFTER of them, and only once
    for (let i = 1; i <= STUCK_AFTER + 3; i++) await t.ahead(db, log, 'v1', 's1', 60, 50, now);
    expect(t.get('v1', 's1')).toMatchObject({ from: 51, to: 52, stuck: true });
    expect(t.get('v1', 's1')!.detail).toContain('no longer holds them');
    expect(t.get('v1', 's1')!.detail).toContain('门店已没有这些记录');
    expect(logged.map((l) => l.level)).toEqual(['error', 'error']);
    // the rows arrive after all (the store sent them): cleared, once
    t.level(log, 'v1', 's1', 60);
    t.level(log, 'v1', 's1', 60);
    expect(t.get('v1', 's1')).toBeUndefined();
    expect(logged.map((l) => l.level)).toEqual(['error', 'error', 'info']);
    // progress is not "stuck": the contiguous seq moving restarts the count
    await t.ahead(db, log, 'v1', 's1', 80, 60, now);
    for (let c = 61; c < 61 + STUCK_AFTER + 2; c++) await t.ahead(db, log, 'v1', 's1', 80, c, now);
    expect(t.get('v1', 's1')).toMatchObject({ stuck: false, from: 61 + STUCK_AFTER + 2, to: 80 });
    await db.close();
  });
});
