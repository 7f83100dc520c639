/**
 * The stores' alarms on the ledger's API (store-alarms.ts): a village reads its own stores'
 * (another village's id answers 404, like every route), the town every village's or one's.
 * Villagers do not see them: an alarm names parts of the store and, for a reconciliation,
 * villager ids.
 */
import { Type } from '@fastify/type-provider-typebox';
import { allVillages } from './governance/rollup.ts';
import { fieldError } from './governance/rules.ts';
import { gate, Id, VillageParams, type GovApp, type GovDeps } from './governance/access.ts';
import { storeAlarms } from './store-alarms.ts';

const Recent = Type.Object({ recent: Type.Integer({ minimum: 0, maximum: 200, default: 20 }) });

/**
 * Each store's alarms, and beside them the ledger's own word on the store: rows it had
 * acknowledged that the ledger no longer holds (missing-rows.ts; null when none), so the village
 * and town pages show a ledger restored from an older copy as they show the stores' alarms.
 */
async function viewOf(deps: GovDeps, villages: string[], recent: number) {
  const missing = deps.service.heartbeatDeps.missing;
  return (await storeAlarms(deps.db, villages, recent)).map((s) => ({ ...s, missing_rows: missing?.get(s.village, s.store) ?? null }));
}

export function registerStoreAlarmRoutes(app: GovApp, deps: GovDeps): void {
  app.get('/api/villages/:village/alarms', { schema: { params: VillageParams, querystring: Recent } }, async (req) => {
    gate(deps, req, req.params.village, 'read');
    return { stores: await viewOf(deps, [req.params.village], req.query.recent) };
  });

  app.get('/api/town/alarms', { schema: { querystring: Type.Object({ ...Recent.properties, village: Type.Optional(Id) }) } }, async (req) => {
    if (deps.principal(req)?.role !== 'town') throw fieldError('role', "only the town reads every village's stores; a village reads /api/villages/ID/alarms", '只有镇级账号可以查看全镇门店告警；村级账号请查看本村门店告警', 403);
    const all = await allVillages(deps.db);
    const { village } = req.query;
    if (village !== undefined && !all.includes(village)) throw fieldError('village', `no village ${village}`, `找不到村 ${village}`, 404);
    return { stores: await viewOf(deps, village === undefined ? all : [village], req.query.recent) };
  });
}
