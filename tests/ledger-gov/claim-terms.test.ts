/**
 * A claim keeps the terms it was filed under (ledger schema v22): its sign (add or deduct), its
 * points and the item version's name and range. An item edited in the library afterwards (its
 * points, its kind from add to deduct) changes no claim filed before: not as the API shows it,
 * not the entry its approval makes, not the town's roll-up. Claims held before v22 are given the
 * direction of the item version they name. On SQLite, and on PostgreSQL with DATABASE_URL set.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { CLAIM_TERMS_VERSION } from '../../cloud-sync/ledger/governance/schema.ts';
import { localDate } from '../../cloud-sync/ledger/governance/rules.ts';
import { rollup } from '../../cloud-sync/ledger/governance/rollup.ts';
import { addVillage } from '../../cloud-sync/ledger/tables.ts';

interface ClaimView { id: string; direction: string; points: number | null; item_version: number; item_name: string; item_points_min: number; item_points_max: number; status: string }
const item = (over: Record<string, unknown>) => ({ name: '帮扶孤寡老人', category: 'volunteering', direction: 'add', points_min: 5, points_max: 5, evidence: 'none', ...over });

describe(`a claim keeps the sign and points it was filed under (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp();
  });
  afterAll(async () => {
    await g.close();
  });

  it('the item edited after the claims (points, add → deduct and back): shown, approved and added up as filed', async () => {
    const zhang = await g.villager(g.a, 'zhang');
    await g.villager(g.a, 'li');
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, { code: 'V-HELP', ...item({}) })).statusCode).toBe(201);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, { code: 'V-FINE', ...item({ name: '乱扔垃圾', category: 'environment', direction: 'deduct', points_min: 2, points_max: 10 }) })).statusCode).toBe(201);
    // a self-report, a record the village files (a deduction) and a task's claim, all under version 1
    const self = (await g.call(zhang, 'POST', `/api/villages/${g.a}/reports`, { item: 'V-HELP' })).json() as ClaimView;
    const record = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'V-FINE', villager: 'li', points: 4 })).json() as ClaimView;
    const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '看望五保户', item: 'V-HELP', max_claimants: 1 })).json() as { id: string };
    const claimed = (await g.call(zhang, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)).json() as ClaimView;
    expect(self).toMatchObject({ direction: 'add', item_version: 1, item_name: '帮扶孤寡老人', item_points_min: 5, item_points_max: 5 });
    expect(record).toMatchObject({ direction: 'deduct', points: 4, item_points_min: 2, item_points_max: 10 });
    expect(claimed).toMatchObject({ direction: 'add', points: 5 });

    // the library changes: the help becomes a deduction of 8, the fine an award of 20 to 30
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/items/V-HELP`, item({ name: '帮扶（改）', direction: 'deduct', points_min: 8, points_max: 8 }))).json()).toMatchObject({ version: 2, direction: 'deduct' });
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/items/V-FINE`, item({ name: '乱扔垃圾', category: 'environment', direction: 'add', points_min: 20, points_max: 30 }))).json()).toMatchObject({ version: 2, direction: 'add' });

    const shown = async (id: string) => (await g.call(g.va, 'GET', `/api/villages/${g.a}/claims/${id}`)).json() as ClaimView;
    expect(await shown(self.id)).toMatchObject({ direction: 'add', item_version: 1, item_name: '帮扶孤寡老人', item_points_min: 5, item_points_max: 5 });
    expect(await shown(record.id)).toMatchObject({ direction: 'deduct', points: 4, item_version: 1, item_points_min: 2, item_points_max: 10 });
    const listed = (await g.call(zhang, 'GET', `/api/villages/${g.a}/claims`)).json() as { claims: ClaimView[] };
    expect(listed.claims.map((c) => [c.id, c.direction])).toEqual(expect.arrayContaining([[self.id, 'add'], [claimed.id, 'add']]));
    const me = (await g.call(zhang, 'GET', `/api/villages/${g.a}/me`)).json() as { claims: ClaimView[] };
    expect(me.claims.find((c) => c.id === self.id)).toMatchObject({ direction: 'add', item_points_max: 5 });

    // approved as filed: the help an award of 5 (its version's fixed points), the fine a penalty of 4
    const ok = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${self.id}/approve`, {});
    expect(ok.json()).toMatchObject({ claim: { direction: 'add', points: 5 }, entry: { kind: 'award', points: 5, reference: `rule:village/V-HELP@1` }, balance: 5 });
    // points of the new version's range are outside the filed one's: refused
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${record.id}/approve`, { points: 25 })).json()).toMatchObject({ field: 'points' });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${record.id}/approve`, {})).json()).toMatchObject({ claim: { direction: 'deduct' }, entry: { kind: 'penalty', points: -4 }, balance: -4 });
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/claims/${claimed.id}/report`, {})).statusCode).toBe(200);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${claimed.id}/approve`, {})).json()).toMatchObject({ entry: { kind: 'award', points: 5 }, balance: 10 });

    // a claim filed now is under version 2: a deduction
    const after = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'V-HELP', villager: 'zhang' })).json() as ClaimView;
    expect(after).toMatchObject({ direction: 'deduct', item_version: 2, item_points_min: 8 });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${after.id}/approve`, {})).json()).toMatchObject({ entry: { kind: 'penalty', points: -8 }, balance: 2 });

    // the town's roll-up: the two awards of V-HELP as awards, its later deduction a row of its own
    const month = localDate(new Date()).slice(0, 7);
    const rows = (await rollup(g.db, [g.a], { from: month, to: month }, ['items'])).items.filter((r) => r.code === 'V-HELP' || r.code === 'V-FINE');
    expect(rows.map((r) => [r.code, r.direction, r.approvals, r.points]).sort()).toEqual([['V-FINE', 'deduct', 1, 4], ['V-HELP', 'add', 2, 10], ['V-HELP', 'deduct', 1, 8]]);

    // a claim row without its direction (written by a tool that leaves it out) takes its item version's
    await g.db.run('UPDATE gov_claims SET direction = NULL WHERE id = $1', [self.id]);
    const again = (await rollup(g.db, [g.a], { from: month, to: month }, ['items'])).items.filter((r) => r.code === 'V-HELP');
    expect(again.map((r) => [r.code, r.direction, r.approvals, r.points]).sort()).toEqual([['V-HELP', 'add', 2, 10], ['V-HELP', 'deduct', 1, 8]]);
  });
});

describe(`v22 gives the claims held before it the direction of the item version they name (${ledgerDbKind})`, () => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  it('a claim under version 1 (add) keeps add after a version 2 (deduct); one under version 2 is a deduction', async () => {
    const t = await tempLedgerDb(CLAIM_TERMS_VERSION - 1);
    drop = t.drop;
    const { db } = t;
    const at = '2026-11-01T00:00:00.000Z';
    await addVillage(db, 'va', '前进村', at);
    await db.run(`INSERT INTO villagers (id, village, name, status, created_at, updated_at) VALUES ('zhang', 'va', '张三', 'active', $1, $1)`, [at]);
    for (const [version, direction, points] of [[1, 'add', 5], [2, 'deduct', 8]] as const) {
      await db.run(
        `INSERT INTO gov_items (scope, code, version, name, category, direction, points_min, points_max, evidence, retired, changed_by, changed_at) VALUES ('va', 'V-HELP', $1, '帮扶', 'volunteering', $2, $3, $3, 'none', 0, 'village:va', $4)`,
        [version, direction, points, at]);
    }
    for (const [id, version, points] of [['r-old', 1, 5], ['r-new', 2, 8]] as const) {
      await db.run(
        `INSERT INTO gov_claims (id, village, origin, villager_id, item_scope, item_code, item_version, points, status, created_at) VALUES ($1, 'va', 'village', 'zhang', 'va', 'V-HELP', $2, $3, 'reported', $4)`,
        [id, version, points, at]);
    }
    await migrateLedger(db);
    expect(await db.query('SELECT id, direction FROM gov_claims ORDER BY id')).toEqual([{ id: 'r-new', direction: 'deduct' }, { id: 'r-old', direction: 'add' }]);
  });
});
