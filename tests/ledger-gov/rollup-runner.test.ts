/**
 * The town roll-up off the event loop: on a SQLite file it runs on a worker thread with a
 * read-only connection of its own, and answers exactly what the same roll-up answers in place,
 * while the main thread keeps writing. A worker that dies fails its request with a bilingual
 * error and the next roll-up starts a new one. (How long the loop is free is measured in
 * `bench/rollup.ts`, not here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind, tempLedgerDb, uid } from '../../harness/sync/rig.ts';
import { seedTownYear } from '../../harness/sync/town-year.ts';
import { ensureDefaultItems } from '../../cloud-sync/ledger/governance/rules.ts';
import { rollup, periodOf } from '../../cloud-sync/ledger/governance/rollup.ts';
import { RollupRunner } from '../../cloud-sync/ledger/governance/rollup-runner.ts';
import { addVillage } from '../../cloud-sync/ledger/tables.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite, type SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';

describe(`the roll-up's runner (${ledgerDbKind})`, () => {
  let db: SqlDb;
  let drop: () => Promise<void>;
  let villages: string[];
  let runner: RollupRunner;
  const period = periodOf({}, new Date());

  beforeAll(async () => {
    ({ db, drop } = await tempLedgerDb());
    await ensureDefaultItems(db, new Date());
    villages = await seedTownYear(db, uid('rr'), { villages: 3, perVillage: 40, entries: 3000, claims: 150, sessions: 300 });
    runner = new RollupRunner(db);
  }, 60_000);
  afterAll(async () => {
    await runner?.stop();
    await drop?.();
  });

  it('answers what the roll-up answers in place, every table and one table alone', async () => {
    expect(runner.offThread).toBe(ledgerDbKind === 'sqlite');
    const there = await runner.run(villages, period);
    expect(there.months.length).toBeGreaterThan(0);
    expect(there.sales.length).toBeGreaterThan(0);
    expect(there).toEqual(await rollup(db, villages, period));
    expect(await runner.run([villages[1]!], period, ['items'])).toEqual(await rollup(db, [villages[1]!], period, ['items']));
  }, 60_000);

  it('sees what the main thread wrote before it asked, while that thread keeps writing', async () => {
    const v = uid('rv');
    await addVillage(db, v, '新村', new Date().toISOString());
    const writes = (async () => {
      for (let k = 0; k < 20; k++) await db.run('INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)', [`${v}-w${k}`, v, `村民${k}`, 'active', new Date().toISOString()]);
    })();
    const r = await runner.run([...villages, v], period, ['participation']);
    await writes;
    expect(r.participation.find((p) => p.village === v)).toMatchObject({ village: v, name: '新村' });
    expect((await runner.run([v], period, ['participation'])).participation).toEqual([{ village: v, name: '新村', villagers: 20, awarded: 0, rate: 0 }]);
  }, 60_000);

  // On a SQLite file whatever DATABASE_URL says: only SQLite has the worker.
  it('a worker that dies fails its request bilingually; the next roll-up starts a new one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rollup-runner-'));
    const file = openSqlite(path.join(dir, 'ledger.sqlite'));
    const own = new RollupRunner(file);
    try {
      await migrateLedger(file);
      await ensureDefaultItems(file, new Date());
      const vs = await seedTownYear(file, uid('rd'), { villages: 2, perVillage: 20, entries: 800, claims: 40, sessions: 80 });
      expect(own.offThread).toBe(true);
      await own.run(vs, period, ['months']);
      const worker = (own as unknown as { worker: { terminate(): Promise<number> } }).worker;
      const pending = own.run(vs, period);
      await worker.terminate();
      // status 500: the API answers a failed roll-up as its own fault, not the request's (400)
      await expect(pending).rejects.toMatchObject({ code: 'INTERNAL', zh: expect.stringContaining('汇总'), details: { status: 500 } });
      expect(await own.run(vs, period)).toEqual(await rollup(file, vs, period));
    } finally {
      await own.stop();
      await file.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
