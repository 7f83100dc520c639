/**
 * The village ledger's history of the stores' alarms is kept `alarmKeepDays`: an occurrence
 * that cleared longer ago and was acknowledged is deleted by the ledger's retention job; one
 * still active, one that cleared recently and one nobody acknowledged are kept (one a maintainer
 * cleared by hand at the store counts as dealt with, and goes like an acknowledged one); a large purge
 * goes in batches; the job runs at start and by its cron. On SQLite, and on PostgreSQL with
 * DATABASE_URL set.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../edge/log.ts';
import { PURGE_DUE_SQL, purgeStoreAlarms, recordAlarmList, storeAlarms } from '../../cloud-sync/ledger/store-alarms.ts';
import { LedgerRetention } from '../../cloud-sync/ledger/retention.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';
import type { Alarm } from '../../cloud-sync/protocol/ops.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { ledgerDbKind, tempLedgerDb, waitFor } from '../../harness/sync/rig.ts';

const DAY = 86_400_000;
const now = new Date();
const ago = (days: number): string => new Date(now.getTime() - days * DAY).toISOString();

let nextId = 1;
function alarm(kind: string, subject: string, raisedDaysAgo: number, ackedBy?: string): Alarm {
  const t = ago(raisedDaysAgo);
  return {
    id: nextId++, kind, subject, severity: 'warning', detail: `${kind} on ${subject}`, raised_at: t, last_seen_at: t, seen: 1,
    ...(ackedBy ? { acknowledged_at: t, acknowledged_by: ackedBy, ack_note: '已处理' } : {}),
  };
}

const count = async (db: SqlDb): Promise<number> => Number((await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM store_alarms'))[0]!.n);

describe(`retention of the stores' alarm history (${ledgerDbKind})`, () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  const ledger = async (): Promise<SqlDb> => {
    const t = await tempLedgerDb();
    drop = t.drop;
    for (const v of ['v1', 'v2']) {
      await addVillage(t.db, v, `村 ${v}`, now.toISOString());
      await registerStore(t.db, v, 's1', 'k', 'unused');
    }
    return t.db;
  };

  it('deletes acknowledged occurrences cleared before the period, in every village; keeps active, recent and unacknowledged ones', async () => {
    const db = await ledger();
    const oldAcked = alarm('scale_fault', 'A1', 400, 'wang');
    const oldUnacked = alarm('camera_gone', 'camera', 400);
    const stillActive = alarm('disk_low', '/data', 400, 'wang');
    const recentAcked = alarm('clock_jump', 'clock', 10, 'li');
    await recordAlarmList(db, 'v1', 's1', { at: ago(400), active: [oldAcked, oldUnacked, stillActive] }, now);
    await recordAlarmList(db, 'v1', 's1', { at: ago(380), active: [stillActive] }, now);
    await recordAlarmList(db, 'v1', 's1', { at: ago(10), active: [stillActive, recentAcked] }, now);
    await recordAlarmList(db, 'v1', 's1', { at: ago(5), active: [stillActive] }, now);
    const otherVillage = alarm('outbox_growing', 'outbox', 500, 'zhao');
    await recordAlarmList(db, 'v2', 's1', { at: ago(500), active: [otherVillage] }, now);
    await recordAlarmList(db, 'v2', 's1', { at: ago(499), active: [] }, now);
    expect(await count(db)).toBe(5);

    const r = await purgeStoreAlarms(db, 365, now);
    expect(r).toEqual({ deleted: 2, cutoff: ago(365) });
    const [v1] = await storeAlarms(db, ['v1'], 10);
    expect(v1!.active.map((a) => a.kind)).toEqual(['disk_low']);
    expect(v1!.recent.map((a) => a.kind)).toEqual(['clock_jump', 'camera_gone']);
    expect((await storeAlarms(db, ['v2'], 10))[0]!.recent).toEqual([]);

    // again: nothing more; 0 keeps everything; a shorter period takes the recent acknowledged one too
    expect((await purgeStoreAlarms(db, 365, now)).deleted).toBe(0);
    expect((await purgeStoreAlarms(db, 0, now)).deleted).toBe(0);
    expect((await purgeStoreAlarms(db, 3, now)).deleted).toBe(1);
    expect((await storeAlarms(db, ['v1'], 10))[0]!.recent.map((a) => a.kind)).toEqual(['camera_gone']);
  });

  it('an occurrence a maintainer cleared by hand at the store, unacknowledged, goes like an acknowledged one', async () => {
    const db = await ledger();
    const handCleared = alarm('villager_id_taken', 'v-0042', 400);
    const selfCleared = alarm('camera_gone', 'camera', 400);
    await recordAlarmList(db, 'v1', 's1', { at: ago(400), active: [handCleared, selfCleared] }, now);
    await recordAlarmList(db, 'v1', 's1', {
      at: ago(390), active: [],
      cleared: [{ id: handCleared.id, kind: handCleared.kind, subject: handCleared.subject, raised_at: handCleared.raised_at, cleared_at: ago(390), cleared_by: 'wang', note: '村委已更正邻村的编号' }],
    }, now);
    // both cleared by the same list: in either order
    expect((await storeAlarms(db, ['v1'], 10))[0]!.recent.map((a) => [a.kind, a.cleared_by]).sort()).toEqual([['camera_gone', null], ['villager_id_taken', 'wang']]);
    expect(await purgeStoreAlarms(db, 365, now)).toEqual({ deleted: 1, cutoff: ago(365) });
    expect((await storeAlarms(db, ['v1'], 10))[0]!.recent.map((a) => a.kind)).toEqual(['camera_gone']);
  });

  it('a first purge of a long history goes in batches and deletes all of it', async () => {
    const db = await ledger();
    const many = Array.from({ length: 1234 }, (_v, i) => alarm('scale_fault', `slot ${i}`, 800, 'wang'));
    await recordAlarmList(db, 'v1', 's1', { at: ago(800), active: many }, now);
    await recordAlarmList(db, 'v1', 's1', { at: ago(799), active: [] }, now);
    expect(await count(db)).toBe(1234);
    expect((await purgeStoreAlarms(db, 365, now)).deleted).toBe(1234);
    expect(await count(db)).toBe(0);
  }, 120_000);

  it('the purge finds its batch through the history index (v10), not by reading the whole table', async () => {
    const db = await ledger();
    const cutoff = ago(365);
    const plan = await db.transaction(async (tx) => {
      if (tx.dialect === 'sqlite') return (await tx.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${PURGE_DUE_SQL}`, [cutoff])).map((r) => r.detail).join('\n');
      // an empty table is cheapest to read whole: ask whether the index can serve at all
      await tx.exec('SET LOCAL enable_seqscan = off');
      return (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${PURGE_DUE_SQL.replace('$1', `'${cutoff}'`)}`)).map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('store_alarms_purge');
  });

  it('runs in the ledger\'s retention job, at start and by its cron', async () => {
    const db = await ledger();
    await recordAlarmList(db, 'v1', 's1', { at: ago(10), active: [alarm('scale_fault', 'A1', 10, 'wang')] }, now);
    await recordAlarmList(db, 'v1', 's1', { at: ago(9), active: [] }, now);
    let ahead = 0;
    const job = new LedgerRetention({ db, log: silentLogger(), options: { evidenceKeepDays: 0, alarmKeepDays: 30, cron: '*/2 * * * * *', timezone: 'Asia/Shanghai' }, clock: () => new Date(Date.now() + ahead) });
    job.start();
    try {
      // the run at start finds it 9 days cleared; 22 days on, the cron's next run deletes it
      await job.runOnce();
      expect(await count(db)).toBe(1);
      ahead = 22 * DAY;
      await waitFor('the cron run to delete the old alarm', async () => (await count(db)) === 0, 30_000);
    } finally {
      await job.stop();
    }
  }, 60_000);
});
