/**
 * The public board's routes on the ledger API: what the village publishes (read by the town
 * and the village, changed by the village), each villager's choice to be named (the village,
 * or the villager themself), the board as it would be sent now, and sending it at once.
 */
import { Type } from '@fastify/type-provider-typebox';
import { fieldError } from '../governance/rules.ts';
import { actorOf, gate, staffOf, Id, VillageParams, type GovApp, type GovDeps, type Principal } from '../governance/access.ts';
import { computeBoard } from './compute.ts';
import { boardSettings, setBoardSettings, setVillagerBoardChoice, villagerBoardChoice } from './settings.ts';
import type { BoardPublisher } from './publisher.ts';

const Settings = Type.Object({
  publish_red_list: Type.Optional(Type.Boolean()),
  red_list_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  publish_deeds: Type.Optional(Type.Boolean()),
  deeds_count: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  publish_totals: Type.Optional(Type.Boolean()),
  name_style: Type.Optional(Type.Union([Type.Literal('mask'), Type.Literal('omit')])),
}, { additionalProperties: false });

export function registerBoardRoutes(app: GovApp, deps: GovDeps & { board?: BoardPublisher | undefined }): void {
  app.get('/api/villages/:village/board', { schema: { params: VillageParams } }, async (req) => {
    gate(deps, req, req.params.village, 'read');
    return { settings: await boardSettings(deps.db, req.params.village), board: await computeBoard(deps.db, req.params.village, deps.clock()) };
  });
  app.put('/api/villages/:village/board', { schema: { params: VillageParams, body: Settings } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    // Fields the schema does not know are dropped (the API's rule): nothing left is a mistake, not a no-op.
    if (Object.keys(req.body).length === 0) throw fieldError('settings', `nothing to change: give one of ${Object.keys(Settings.properties).join(', ')}`, `没有要修改的设置，可修改：${Object.keys(Settings.properties).join('、')}`);
    return { settings: await setBoardSettings(deps.db, req.params.village, req.body, actorOf(p), deps.clock(), staffOf(p)) };
  });
  app.post('/api/villages/:village/board/publish', { schema: { params: VillageParams } }, async (req) => {
    gate(deps, req, req.params.village, 'manage');
    if (!deps.board) return { published: false };
    return deps.board.publishVillage(req.params.village, true);
  });
  app.put('/api/villages/:village/villagers/:id/board', {
    schema: { params: Type.Object({ village: Id, id: Id }), body: Type.Object({ named: Type.Optional(Type.Boolean()), staff: Type.Optional(Type.Boolean()) }, { additionalProperties: false }) },
  }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    if (Object.keys(req.body).length === 0) throw fieldError('named', 'nothing to change: give named or staff', '没有要修改的内容：请给出 named（是否署名）或 staff（是否工作人员）');
    return { villager: req.params.id, ...(await setVillagerBoardChoice(deps.db, req.params.village, req.params.id, req.body, actorOf(p), deps.clock(), staffOf(p))) };
  });
  // A villager's own choice: to be named on the board or not (staff is the village's to say).
  app.get('/api/villages/:village/me/board', { schema: { params: VillageParams } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'villager') as Extract<Principal, { role: 'villager' }>;
    return { villager: p.villager, named: (await villagerBoardChoice(deps.db, p.villager)).named };
  });
  app.put('/api/villages/:village/me/board', { schema: { params: VillageParams, body: Type.Object({ named: Type.Boolean() }, { additionalProperties: false }) } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'villager') as Extract<Principal, { role: 'villager' }>;
    const c = await setVillagerBoardChoice(deps.db, req.params.village, p.villager, { named: req.body.named }, actorOf(p), deps.clock());
    return { villager: p.villager, named: c.named };
  });
}
