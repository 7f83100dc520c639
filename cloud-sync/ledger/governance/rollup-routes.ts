/**
 * The town roll-up as JSON and as CSV: the town reads every village (or one); a village its
 * own only (another village's id answers 404, like every route). CSV is written by
 * csv-stringify with a UTF-8 byte-order mark, so Excel on a village office PC opens the
 * Chinese names correctly instead of as mojibake.
 */
import { stringify } from 'csv-stringify/sync';
import { Type } from '@fastify/type-provider-typebox';
import { allVillages, periodOf, type Rollup } from './rollup.ts';
import type { RollupRunner } from './rollup-runner.ts';
import { fieldError } from './rules.ts';
import { gate, VillageParams, type GovApp, type GovDeps } from './access.ts';

const Month = Type.String({ maxLength: 7 });
const Query = Type.Object({ from: Type.Optional(Month), to: Type.Optional(Month) });
const TABLES = ['months', 'items', 'participation', 'sales'] as const;
type Table = (typeof TABLES)[number];
const CsvQuery = Type.Object({ table: Type.Union(TABLES.map((t) => Type.Literal(t))), from: Type.Optional(Month), to: Type.Optional(Month) });

/** Column keys and their bilingual headers, per table: each village by its code and its name. */
const COLUMNS: Record<Table, [string, string][]> = {
  months: [['village', '村 village'], ['village_name', '村名 village name'], ['month', '月份 month'], ['issued', '发放积分 issued'], ['other_awards', '其他发放（开户等） other awards'], ['deducted', '扣减积分 deducted'], ['redeemed', '兑换积分 redeemed'], ['refunded', '退回积分 refunded'], ['adjusted', '调整积分 adjusted'], ['awards', '奖励笔数 awards'], ['villagers_awarded', '获奖励人数 villagers awarded'], ['late_entries', '补录笔数 late entries'], ['late_points', '补录积分 late points']],
  items: [['village', '村 village'], ['village_name', '村名 village name'], ['scope', '范围 scope'], ['code', '编号 code'], ['name', '细则 item'], ['direction', '加减 direction'], ['approvals', '次数 approvals'], ['points', '积分 points']],
  participation: [['village', '村 village'], ['name', '村名 name'], ['villagers', '村民数 villagers'], ['awarded', '获奖励人数 awarded'], ['rate', '参与率 rate']],
  sales: [['village', '村 village'], ['village_name', '村名 village name'], ['sku', '商品编号 sku'], ['name', '商品 product'], ['count', '件数 count'], ['points', '积分 points'], ['sessions', '购买次数 sessions']],
};

/** The CSV's values in Chinese where the JSON has codes (an accountant reads the CSV in Excel). */
const CSV_VALUES: Record<string, Record<string, string>> = {
  scope: { town: '镇级', village: '村级' },
  direction: { add: '加分', deduct: '扣分' },
};

export function toCsv(r: Rollup, table: Table): string {
  const cols = COLUMNS[table];
  const rows = r[table] as unknown as Record<string, unknown>[];
  const cell = (k: string, v: unknown) => CSV_VALUES[k]?.[String(v)] ?? v;
  return `\uFEFF${stringify([cols.map(([, header]) => header), ...rows.map((row) => cols.map(([k]) => cell(k, row[k])))], { record_delimiter: 'windows', escape_formulas: true })}`;
}

export function registerRollupRoutes(app: GovApp, deps: GovDeps & { rollups: RollupRunner }): void {
  const rollup = (villages: string[], period: Rollup['period'], only?: readonly Table[]) => deps.rollups.run(villages, period, only);
  /** Who is calling: the ledger's pages use it to show the right view. */
  app.get('/api/whoami', async (req) => {
    const p = deps.principal(req);
    if (!p) throw fieldError('role', 'a valid bearer token is required', '需要有效的访问令牌', 401);
    return p;
  });

  const townOnly = (req: Parameters<GovDeps['principal']>[0]) => {
    const p = deps.principal(req);
    if (p?.role !== 'town') throw fieldError('role', 'only the town reads every village; a village reads /api/villages/ID/rollup', '只有镇级账号可以查看全镇汇总；村级账号请查看本村汇总', 403);
  };
  const villageQuery = Type.Object({ ...Query.properties, village: Type.Optional(Type.String({ maxLength: 64 })) });
  const townScope = async (village: string | undefined): Promise<string[]> => {
    const all = await allVillages(deps.db);
    if (village === undefined) return all;
    if (!all.includes(village)) throw fieldError('village', `no village ${village}`, `找不到村 ${village}`, 404);
    return [village];
  };

  app.get('/api/town/rollup', { schema: { querystring: villageQuery } }, async (req) => {
    townOnly(req);
    return rollup(await townScope(req.query.village), periodOf(req.query, deps.clock()));
  });
  app.get('/api/town/rollup.csv', { schema: { querystring: Type.Object({ ...CsvQuery.properties, village: Type.Optional(Type.String({ maxLength: 64 })) }) } }, async (req, reply) => {
    townOnly(req);
    const period = periodOf(req.query, deps.clock());
    const r = await rollup(await townScope(req.query.village), period, [req.query.table as Table]);
    return csvReply(reply, toCsv(r, req.query.table as Table), `town-${req.query.table}-${period.from}_${period.to}.csv`);
  });
  app.get('/api/villages/:village/rollup', { schema: { params: VillageParams, querystring: Query } }, async (req) => {
    gate(deps, req, req.params.village, 'read');
    return rollup([req.params.village], periodOf(req.query, deps.clock()));
  });
  app.get('/api/villages/:village/rollup.csv', { schema: { params: VillageParams, querystring: CsvQuery } }, async (req, reply) => {
    gate(deps, req, req.params.village, 'read');
    const period = periodOf(req.query, deps.clock());
    const r = await rollup([req.params.village], period, [req.query.table as Table]);
    return csvReply(reply, toCsv(r, req.query.table as Table), `${req.params.village}-${req.query.table}-${period.from}_${period.to}.csv`);
  });
}

/** A CSV download (also the month statement's, ./statement.ts): its type and file name. */
export function csvReply(reply: { header: (k: string, v: string) => unknown; type: (t: string) => unknown; send: (b: string) => unknown }, body: string, file: string) {
  reply.type('text/csv; charset=utf-8');
  // ids are [A-Za-z0-9_.-] (checked by the schemas), so the name needs no further quoting
  reply.header('content-disposition', `attachment; filename="${file.replace(/[^A-Za-z0-9_.-]/g, '_')}"`);
  return reply.send(body);
}
