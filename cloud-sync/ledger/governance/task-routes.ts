/** Routes of tasks and claims: publish, claim, report, self-report, approve, reject, reverse. */
import { Type } from '@fastify/type-provider-typebox';
import { ErrorCode } from '../../../edge/errors.ts';
import { balanceOf } from '../tables.ts';
import { fieldError, ItemCode } from './rules.ts';
import { approveClaim, claimOf, claimTask, closeTask, fileReport, listClaims, listTasks, publishTask, rejectClaim, reportDone, reverseClaim, taskOf, type Claim } from './tasks.ts';
import { REQUEST_ID } from './request-ids.ts';
import { actorOf, dutyOf, staffOf, emptyBodyIsObject, gate, Id, VillageParams, type GovApp, type GovDeps, type Principal } from './access.ts';

const TaskId = Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9_-]+$' });
const ClaimId = Type.String({ minLength: 1, maxLength: 120, pattern: '^[A-Za-z0-9_.-]+$' });
/** Points as a magnitude: whether it adds or deducts is the rule item's. */
const Points = Type.Integer({ minimum: 1, maximum: 10_000 });
/** Evidence: `photo:ev-…` for a photo uploaded to the ledger (checked), else a reference to one kept elsewhere or a witness's name. */
const Evidence = Type.String({ minLength: 1, maxLength: 300 });
const Note = Type.String({ minLength: 1, maxLength: 500 });
/** A form's request id (request-ids.ts): the same on every send of one form. */
const Request = Type.String({ pattern: REQUEST_ID });
const Status = Type.Union(['claimed', 'reported', 'approved', 'rejected', 'reversed'].map((s) => Type.Literal(s)));

export function registerTaskRoutes(app: GovApp, deps: GovDeps): void {
  const VTask = Type.Object({ village: Id, task: TaskId });
  const VClaim = Type.Object({ village: Id, claim: ClaimId });
  /** A villager reads only their own claims: another's answers 404. */
  const visible = (p: Principal, c: Claim | undefined, id: string): Claim => {
    if (!c || (p.role === 'villager' && c.villager_id !== p.villager)) throw fieldError('claim', `no claim ${id} in this village`, `本村没有申报 ${id}`, 404, ErrorCode.NOT_FOUND);
    return c;
  };

  app.post('/api/villages/:village/tasks', {
    schema: { params: VillageParams, body: Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }), item: ItemCode, points: Type.Optional(Points), max_claimants: Type.Integer({ minimum: 1, maximum: 10_000 }), request: Type.Optional(Request) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    const p = gate(deps, req, req.params.village, 'manage');
    const r = await publishTask(deps.db, req.params.village, req.body, actorOf(p), deps.clock(), staffOf(p));
    return reply.status(r.duplicate ? 200 : 201).send({ ...r.task, duplicate: r.duplicate });
  });
  app.get('/api/villages/:village/tasks', { schema: { params: VillageParams, querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])) }) } }, async (req) => {
    gate(deps, req, req.params.village, 'member');
    return { tasks: await listTasks(deps.db, req.params.village, req.query.status) };
  });
  app.get('/api/villages/:village/tasks/:task', { schema: { params: VTask } }, async (req) => {
    gate(deps, req, req.params.village, 'member');
    const t = await taskOf(deps.db, req.params.village, req.params.task);
    if (!t) throw fieldError('task', `no task ${req.params.task} in this village`, `本村没有任务 ${req.params.task}`, 404, ErrorCode.NOT_FOUND);
    return t;
  });
  app.post('/api/villages/:village/tasks/:task/close', { schema: { params: VTask } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    return closeTask(deps.db, req.params.village, req.params.task, actorOf(p), deps.clock(), staffOf(p));
  });
  app.post('/api/villages/:village/tasks/:task/claim', { schema: { params: VTask } }, async (req, reply) => {
    const p = gate(deps, req, req.params.village, 'villager') as Extract<Principal, { role: 'villager' }>;
    const r = await claimTask(deps.db, req.params.village, req.params.task, p.villager, deps.clock());
    return reply.status(r.duplicate ? 200 : 201).send({ ...r.claim, duplicate: r.duplicate });
  });

  app.post('/api/villages/:village/claims/:claim/report', {
    schema: { params: VClaim, body: Type.Object({ evidence: Type.Optional(Evidence), note: Type.Optional(Note) }, { additionalProperties: false }) },
  }, async (req) => {
    const p = gate(deps, req, req.params.village, 'villager') as Extract<Principal, { role: 'villager' }>;
    const r = await reportDone(deps.db, req.params.village, req.params.claim, p.villager, req.body, deps.clock());
    return { ...r.claim, duplicate: r.duplicate };
  });
  // A villager's self-report (动态申报), or a record the village files for a villager.
  app.post('/api/villages/:village/reports', {
    schema: { params: VillageParams, body: Type.Object({ item: ItemCode, villager: Type.Optional(Id), points: Type.Optional(Points), evidence: Type.Optional(Evidence), note: Type.Optional(Note), request: Type.Optional(Request) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    const p = gate(deps, req, req.params.village, 'member');
    if (p.role === 'town') throw fieldError('role', 'the town reads villages; it files nothing in them', '镇级账号只能查看村里的数据', 403);
    let villager = req.body.villager;
    if (p.role === 'villager') {
      if (villager !== undefined && villager !== p.villager) throw fieldError('villager', 'a villager reports for themself only', '村民只能为自己申报', 403);
      villager = p.villager;
    }
    if (!villager) throw fieldError('villager', 'villager is required when the village files a record', '请填写村民编号');
    const r = await fileReport(deps.db, req.params.village, p.role === 'villager' ? 'self' : 'village', { ...req.body, villager }, actorOf(p), deps.clock(), dutyOf(p));
    return reply.status(r.duplicate ? 200 : 201).send({ ...r.claim, duplicate: r.duplicate });
  });

  app.get('/api/villages/:village/claims', { schema: { params: VillageParams, querystring: Type.Object({ status: Type.Optional(Status), villager: Type.Optional(Id) }) } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'member');
    const villager = p.role === 'villager' ? p.villager : req.query.villager;
    return { claims: await listClaims(deps.db, req.params.village, { ...(req.query.status ? { status: req.query.status as Claim['status'] } : {}), ...(villager ? { villager } : {}) }) };
  });
  app.get('/api/villages/:village/claims/:claim', { schema: { params: VClaim } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'member');
    return visible(p, await claimOf(deps.db, req.params.village, req.params.claim), req.params.claim);
  });

  // Decisions: the award or penalty, or its reversal, is an entry signed and sent to the stores.
  app.post('/api/villages/:village/claims/:claim/approve', { preValidation: emptyBodyIsObject, schema: { params: VClaim, body: Type.Optional(Type.Object({ points: Type.Optional(Points) }, { additionalProperties: false })) } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    // The approval and its entry in one transaction. Also when already approved: an entry missing
    // (an approval made before both were one step) is made now, under the same id.
    const { result: r, published } = await deps.service.decide(req.params.village, async (tx) => {
      const d = await approveClaim(tx, req.params.village, req.params.claim, req.body?.points, actorOf(p), deps.clock(), dutyOf(p));
      return { entries: [d.entry], result: d };
    });
    return { claim: r.claim, entry: r.entry, duplicate: r.duplicate, published, balance: await balanceOf(deps.db, r.claim.villager_id) };
  });
  const Reason = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 300 }) }, { additionalProperties: false });
  app.post('/api/villages/:village/claims/:claim/reject', { schema: { params: VClaim, body: Reason } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    return rejectClaim(deps.db, req.params.village, req.params.claim, req.body.reason, actorOf(p), deps.clock(), staffOf(p));
  });
  app.post('/api/villages/:village/claims/:claim/reverse', { schema: { params: VClaim, body: Reason } }, async (req) => {
    const p = gate(deps, req, req.params.village, 'manage');
    // The reversal only beside the award it reverses: an approval whose entry is missing gets it
    // first, in the same transaction, so the reversal never takes points that were never given.
    const { result: r, published } = await deps.service.decide(req.params.village, async (tx) => {
      const d = await reverseClaim(tx, req.params.village, req.params.claim, req.body.reason, actorOf(p), deps.clock(), staffOf(p));
      return { entries: [d.original, d.entry], result: d };
    });
    return { claim: r.claim, entry: r.entry, duplicate: r.duplicate, published, balance: await balanceOf(deps.db, r.claim.villager_id) };
  });
}
