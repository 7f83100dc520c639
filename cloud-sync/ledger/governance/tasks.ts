/**
 * Tasks and claims: the village publishes a task, a villager claims it and reports it done,
 * the village approves (the award is a ledger entry) or rejects with a reason. A self-report
 * (动态申报) or a record the village files (a deduction, say) is a claim born reported. Every
 * step is an audit event; nothing is deleted; a reversal is a compensating entry.
 * These functions change governance state only; the caller makes the entries they return.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { ENTRY_REASON_MAX, type EntryBody } from '../../protocol/payloads.ts';
import { clipText } from '../../../lib/text.ts';
import { villagerOf } from '../tables.ts';
import { checkEvidenceRef } from './evidence.ts';
import { answerKept, keepAnswer, sending } from './request-ids.ts';
import { approverAllowed } from './duties.ts';
import { audit, byStaff, fieldError, itemInForce, itemVersion, notBlank, periodStart, pointsFor, type Item } from './rules.ts';

export type ClaimStatus = 'claimed' | 'reported' | 'approved' | 'rejected' | 'reversed';
export interface Task {
  id: string; village: string; title: string; item_scope: string; item_code: string; item_version: number; points: number; max_claimants: number;
  status: 'open' | 'closed'; created_at: string; closed_at: string | null; claimants?: number;
}
/**
 * A claim with the terms it was filed under: `direction` (add or deduct, the sign of its points:
 * schema v22), and the name and points range of the item version it names (`item_version`), never
 * those of a later edit of the item. The pages show and count a claim by these.
 */
export interface Claim {
  id: string; village: string; origin: 'task' | 'self' | 'village'; task_id: string | null; villager_id: string; item_scope: string; item_code: string; item_version: number;
  points: number | null; status: ClaimStatus; evidence: string | null; note: string | null; reason: string | null; entry_id: string | null; created_at: string; decided_at: string | null;
  direction: Item['direction']; item_name: string; item_points_min: number; item_points_max: number;
}
/** A claim's row with its terms: the direction kept on it, the rest from the item version it names (versions never change). */
const CLAIMS = `SELECT c.id, c.village, c.origin, c.task_id, c.villager_id, c.item_scope, c.item_code, c.item_version, c.points, c.status, c.evidence, c.note, c.reason,
  c.entry_id, c.created_at, c.decided_at, COALESCE(c.direction, i.direction) AS direction, i.name AS item_name, i.points_min AS item_points_min, i.points_max AS item_points_max
  FROM gov_claims c LEFT JOIN gov_items i ON i.scope = c.item_scope AND i.code = c.item_code AND i.version = c.item_version`;

const newId = (prefix: string) => `${prefix}${randomBytes(6).toString('hex')}`;
/** PostgreSQL answers BIGINT and COUNT as strings. */
const num = <T extends object>(r: T, keys: (keyof T)[]): T => {
  const o: Record<keyof T, unknown> = { ...r };
  for (const k of keys) if (o[k] !== null && o[k] !== undefined) o[k] = Number(o[k]);
  return o as T;
};
const toTask = (r: Task) => num(r, ['item_version', 'points', 'max_claimants', 'claimants']);
const toClaim = (r: Claim) => num(r, ['item_version', 'points', 'item_points_min', 'item_points_max']);

async function activeVillager(tx: SqlDb, village: string, id: string, field = 'villager'): Promise<void> {
  const v = await villagerOf(tx, id);
  if (!v || v.village !== village) throw fieldError(field, `no villager ${id} in this village`, `本村没有村民 ${id}`, 404, ErrorCode.UNKNOWN_VILLAGER);
  if (v.status !== 'active') throw fieldError(field, `villager ${id} is ${v.status}`, `村民 ${id} 当前不可用（${v.status}）`, 409, ErrorCode.ALREADY_SETTLED);
}

/**
 * Publishes a task. With a `request` id (request-ids.ts) the same form sent again answers the task
 * it published (`duplicate`) and publishes no second one.
 */
export async function publishTask(db: SqlDb, village: string, given: { title: string; item: string; points?: number; max_claimants: number; request?: string }, actor: string, now: Date, by?: string): Promise<{ task: Task; duplicate: boolean }> {
  const { request, ...content } = given;
  // the title is what the phone page and the passbook show: blanks alone would be a task without a name
  const t = { ...content, title: notBlank('title', content.title, { en: 'a task title', zh: '标题' }) };
  const sent = request === undefined ? undefined : sending(actor, request, village, 'task.publish', content);
  return db.transaction(async (tx) => {
    const held = sent && await answerKept<Task>(tx, sent);
    if (held) return { task: held, duplicate: true };
    const item = await itemInForce(tx, village, t.item, now);
    if (item.direction !== 'add') throw fieldError('item', `a task earns points; ${item.code} deducts`, `任务只能对应加分细则，${item.name} 是扣分项`);
    const points = pointsFor(item, t.points);
    const id = newId('t');
    await tx.run(
      `INSERT INTO gov_tasks (id, village, title, item_scope, item_code, item_version, points, max_claimants, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)`,
      [id, village, t.title, item.scope, item.code, item.version, points, t.max_claimants, now.toISOString()],
    );
    await audit(tx, village, `task:${id}`, 'task.publish', actor, { title: t.title, item: `${item.code}@${item.version}`, points, max_claimants: t.max_claimants, ...(request ? { request } : {}), ...byStaff(by) }, now);
    const task = (await taskOf(tx, village, id))!;
    if (sent) await keepAnswer(tx, sent, task, now);
    return { task, duplicate: false };
  });
}

export async function taskOf(db: SqlDb, village: string, id: string): Promise<Task | undefined> {
  const r = await db.query<Task>(`SELECT t.*, (SELECT COUNT(*) FROM gov_claims c WHERE c.task_id = t.id AND c.status <> 'rejected') AS claimants FROM gov_tasks t WHERE t.id = $1 AND t.village = $2`, [id, village]);
  return r[0] && toTask(r[0]);
}

export async function listTasks(db: SqlDb, village: string, status?: 'open' | 'closed'): Promise<Task[]> {
  const r = await db.query<Task>(
    `SELECT t.*, (SELECT COUNT(*) FROM gov_claims c WHERE c.task_id = t.id AND c.status <> 'rejected') AS claimants FROM gov_tasks t
     WHERE t.village = $1 ${status ? 'AND t.status = $2' : ''} ORDER BY t.created_at DESC, t.id LIMIT 500`, status ? [village, status] : [village]);
  return r.map(toTask);
}

const noTask = (id: string) => fieldError('task', `no task ${id} in this village`, `本村没有任务 ${id}`, 404, ErrorCode.NOT_FOUND);

export async function closeTask(db: SqlDb, village: string, id: string, actor: string, now: Date, by?: string): Promise<Task> {
  return db.transaction(async (tx) => {
    const n = await tx.run(`UPDATE gov_tasks SET status = 'closed', closed_at = $1 WHERE id = $2 AND village = $3 AND status = 'open'`, [now.toISOString(), id, village]);
    const t = await taskOf(tx, village, id);
    if (!t) throw noTask(id);
    if (n === 1) await audit(tx, village, `task:${id}`, 'task.close', actor, byStaff(by), now);
    return t;
  });
}

/** A villager claims an open task; claiming again returns the same claim. */
export async function claimTask(db: SqlDb, village: string, taskId: string, villager: string, now: Date): Promise<{ claim: Claim; duplicate: boolean }> {
  return db.transaction(async (tx) => {
    const t = await taskOf(tx, village, taskId);
    if (!t) throw noTask(taskId);
    const id = `${taskId}.${villager}`;
    const had = await claimOf(tx, village, id);
    if (had) return { claim: had, duplicate: true };
    if (t.status !== 'open') throw fieldError('task', `task ${taskId} is closed`, `任务「${t.title}」已结束，不能再认领`, 409, ErrorCode.ALREADY_SETTLED);
    // A claim and a report need the item in force, as a self-report does: a retired item earns no new points.
    await itemInForce(tx, village, t.item_code, now);
    if ((t.claimants ?? 0) >= t.max_claimants) throw fieldError('task', `task ${taskId} has its ${t.max_claimants} claimants`, `任务「${t.title}」认领人数已满（${t.max_claimants} 人）`, 409, ErrorCode.ALREADY_SETTLED);
    await activeVillager(tx, village, villager);
    // The same claim sent at once (a double tap): on PostgreSQL the later transaction meets the
    // first one's row here; DO NOTHING makes that a serialization failure, retried, and the retry
    // answers the claim above, where a plain INSERT would fail on the key (500).
    const n = await tx.run(
      `INSERT INTO gov_claims (id, village, origin, task_id, villager_id, item_scope, item_code, item_version, direction, points, status, created_at) VALUES ($1, $2, 'task', $3, $4, $5, $6, $7, $8, $9, 'claimed', $10) ON CONFLICT (id) DO NOTHING`,
      [id, village, taskId, villager, t.item_scope, t.item_code, t.item_version, (await itemVersion(tx, t.item_scope, t.item_code, t.item_version))!.direction, t.points, now.toISOString()],
    );
    if (n === 0) {
      const held = await claimOf(tx, village, id);
      if (held) return { claim: held, duplicate: true };
      throw fieldError('task', `claim id ${id} is taken; try again`, '认领编号已被占用，请重试', 409, ErrorCode.DUPLICATE_ID);
    }
    await audit(tx, village, `claim:${id}`, 'claim', `villager:${villager}`, { task: taskId }, now);
    return { claim: (await claimOf(tx, village, id))!, duplicate: false };
  });
}

export async function claimOf(db: SqlDb, village: string, id: string): Promise<Claim | undefined> {
  const r = await db.query<Claim>(`${CLAIMS} WHERE c.id = $1 AND c.village = $2`, [id, village]);
  return r[0] && toClaim(r[0]);
}

export async function listClaims(db: SqlDb, village: string, f: { status?: ClaimStatus; villager?: string }): Promise<Claim[]> {
  const where = ['c.village = $1'];
  const params: unknown[] = [village];
  if (f.status) where.push(`c.status = $${params.push(f.status)}`);
  if (f.villager) where.push(`c.villager_id = $${params.push(f.villager)}`);
  return (await db.query<Claim>(`${CLAIMS} WHERE ${where.join(' AND ')} ORDER BY c.created_at DESC, c.id LIMIT 1000`, params)).map(toClaim);
}

const noClaim = (id: string) => fieldError('claim', `no claim ${id} in this village`, `本村没有申报 ${id}`, 404, ErrorCode.NOT_FOUND);

function needEvidence(item: Item, evidence: string | undefined): void {
  if (item.evidence === 'none') return;
  if (!evidence) throw fieldError('evidence', `rule item ${item.code} needs evidence (${item.evidence})`, item.evidence === 'photo' ? '该事项需要照片凭证' : '该事项需要证明人');
  // the village decides the claim by it: blanks alone would be evidence of nothing
  notBlank('evidence', evidence, { en: 'evidence', zh: '凭证' });
}

/**
 * The villager reports a claimed task done; reporting again changes nothing and answers the
 * report filed (`duplicate`), also when sent at once (a double tap): on PostgreSQL the later
 * transaction's UPDATE meets the first one's and is retried as a serialization failure.
 */
export async function reportDone(db: SqlDb, village: string, claimId: string, villager: string, r: { evidence?: string; note?: string }, now: Date): Promise<{ claim: Claim; duplicate: boolean }> {
  return db.transaction(async (tx) => {
    // In the transaction, so that a photo purged meanwhile is not named (evidence-retention.ts)
    await checkEvidenceRef(tx, village, villager, r.evidence, 'villager');
    const c = await claimOf(tx, village, claimId);
    if (!c || c.villager_id !== villager) throw noClaim(claimId);
    if (c.status === 'reported') return { claim: c, duplicate: true };
    if (c.status !== 'claimed') throw fieldError('claim', `claim ${claimId} is ${c.status}`, `该申报已处理（${c.status}）`, 409, ErrorCode.ALREADY_SETTLED);
    await itemInForce(tx, village, c.item_code, now);
    needEvidence((await itemVersion(tx, c.item_scope, c.item_code, c.item_version))!, r.evidence);
    await tx.run(`UPDATE gov_claims SET status = 'reported', evidence = $1, note = $2 WHERE id = $3 AND status = 'claimed'`, [r.evidence ?? null, r.note ?? null, claimId]);
    await audit(tx, village, `claim:${claimId}`, 'report', `villager:${villager}`, { evidence: r.evidence ?? null, note: r.note ?? null }, now);
    return { claim: (await claimOf(tx, village, claimId))!, duplicate: false };
  });
}

/** The claim id of a request: the same for every send of one form, so a second send finds the first. */
const requestClaimId = (village: string, origin: string, villager: string, request: string) => `r-${createHash('sha256').update(`${village}\n${origin}\n${villager}\n${request}`).digest('hex').slice(0, 24)}`;
type ReportInput = { villager: string; item: string; points?: number; evidence?: string; note?: string; request?: string };

/** The claim a request id made already (`undefined`: none), refused when its content differs: another report under a used id. */
async function sentBefore(tx: SqlDb, village: string, id: string, origin: 'self' | 'village', r: ReportInput): Promise<Claim | undefined> {
  const held = await claimOf(tx, village, id);
  if (!held) return undefined;
  const same = held.origin === origin && held.villager_id === r.villager && held.item_code === r.item && (r.points === undefined || held.points === r.points) && held.evidence === (r.evidence ?? null) && held.note === (r.note ?? null);
  if (!same) throw fieldError('request', `this report form was sent already with other content (claim ${id}); open the form again for another report`, '这张申报表单已经提交过（内容不同）；如需再报，请重新打开页面', 409, ErrorCode.DUPLICATE_ID);
  return held;
}

/**
 * A report without a task: a villager's self-report (add items only) or a record the
 * village files for a villager (any item, a deduction too). Both wait for approval. With a
 * `request` id the same form sent again (a double tap, a resend) answers the claim it made
 * (`duplicate`), before anything else is checked, and makes no second one.
 */
export async function fileReport(db: SqlDb, village: string, origin: 'self' | 'village', r: ReportInput, actor: string, now: Date, filedBy?: string): Promise<{ claim: Claim; duplicate: boolean }> {
  return db.transaction(async (tx) => {
    const id = r.request === undefined ? newId('r') : requestClaimId(village, origin, r.villager, r.request);
    if (r.request !== undefined) {
      const held = await sentBefore(tx, village, id, origin, r);
      if (held) return { claim: held, duplicate: true };
    }
    // In the transaction, so that a photo purged meanwhile is not named (evidence-retention.ts)
    await checkEvidenceRef(tx, village, r.villager, r.evidence, origin === 'self' ? 'villager' : 'village');
    const item = await itemInForce(tx, village, r.item, now);
    if (origin === 'self' && item.direction !== 'add') throw fieldError('item', `${item.code} is a deduction; villagers report additions`, `${item.name} 是扣分项，不能自行申报`);
    const points = r.points === undefined ? null : pointsFor(item, r.points);
    needEvidence(item, r.evidence);
    await activeVillager(tx, village, r.villager);
    // The same form sent at once (two transactions): on PostgreSQL the later one meets the row
    // here and is retried as a serialization failure, then answered by sentBefore.
    const n = await tx.run(
      `INSERT INTO gov_claims (id, village, origin, villager_id, item_scope, item_code, item_version, direction, points, status, evidence, note, created_at, filed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'reported', $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
      [id, village, origin, r.villager, item.scope, item.code, item.version, item.direction, points, r.evidence ?? null, r.note ?? null, now.toISOString(), filedBy ?? null],
    );
    if (n === 0) {
      const held = await sentBefore(tx, village, id, origin, r);
      if (held) return { claim: held, duplicate: true };
      throw fieldError('request', `claim id ${id} is taken; open the form again`, '申报编号已被使用，请重新打开页面', 409, ErrorCode.DUPLICATE_ID);
    }
    await audit(tx, village, `claim:${id}`, origin === 'self' ? 'report.self' : 'report.village', actor, { villager: r.villager, item: `${item.code}@${item.version}`, points, evidence: r.evidence ?? null, note: r.note ?? null, ...(r.request ? { request: r.request } : {}), ...(filedBy ? { by: filedBy } : {}) }, now);
    return { claim: (await claimOf(tx, village, id))!, duplicate: false };
  });
}

/** The ledger entry of an approved claim, the same every time it is asked for. */
export async function entryOf(db: SqlDb, c: Claim): Promise<EntryBody> {
  const item = (await itemVersion(db, c.item_scope, c.item_code, c.item_version))!;
  const title = c.task_id ? (await db.query<{ title: string }>('SELECT title FROM gov_tasks WHERE id = $1', [c.task_id]))[0]?.title : undefined;
  // the sign the claim was filed under (an edit of the item since does not turn it)
  const add = c.direction === 'add';
  return {
    id: c.entry_id!, villager: c.villager_id, kind: add ? 'award' : 'penalty', points: add ? c.points! : -c.points!,
    reference: `rule:${item.scope === '*' ? 'town' : 'village'}/${item.code}@${item.version}`, reason: clipText(title ? `${item.name}：${title}` : item.name, ENTRY_REASON_MAX), created_at: c.decided_at!,
  };
}

/**
 * Approval, idempotent: approving an approved claim answers `duplicate` and the same entry. `by`:
 * the staff account approving (signed in to the pages) or a named token (`token:NAME`), refused on
 * a record it filed itself unless it is the village's only active staff account; undefined for an
 * unnamed token, refused on every record someone filed (duties.ts).
 */
export async function approveClaim(db: SqlDb, village: string, claimId: string, points: number | undefined, actor: string, now: Date, by?: string): Promise<{ claim: Claim; entry: EntryBody; duplicate: boolean }> {
  return db.transaction(async (tx) => {
    const c = await claimOf(tx, village, claimId);
    if (!c) throw noClaim(claimId);
    if (c.status === 'approved') return { claim: c, entry: await entryOf(tx, c), duplicate: true };
    if (c.status !== 'reported') throw fieldError('claim', `claim ${claimId} is ${c.status}, not reported`, c.status === 'claimed' ? '村民尚未报告完成，不能审核' : `该申报已处理（${c.status}），不能再次审核`, 409, ErrorCode.ALREADY_SETTLED);
    // Someone who left gets no new entry, as they get no new claim; a blocked villager (a debt,
    // say) still does: an award pays a debt off.
    if ((await villagerOf(tx, c.villager_id))?.status === 'left') {
      throw fieldError('villager', `villager ${c.villager_id} has left the village: no points are given or taken; reject the claim instead`, `村民 ${c.villager_id} 已离村，不能再记积分，请驳回该申报`, 409, ErrorCode.ALREADY_SETTLED);
    }
    const selfApproved = await approverAllowed(tx, c, by);
    const item = (await itemVersion(tx, c.item_scope, c.item_code, c.item_version))!;
    const p = pointsFor(item, points ?? c.points ?? undefined);
    if (item.cap_count !== undefined && item.cap_period) {
      const since = periodStart(item.cap_period, now).toISOString();
      const n = await tx.query<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM gov_claims WHERE villager_id = $1 AND item_scope = $2 AND item_code = $3 AND status = 'approved' AND decided_at >= $4`, [c.villager_id, c.item_scope, c.item_code, since]);
      if (Number(n[0]!.n) >= item.cap_count) {
        throw fieldError('claim', `${c.villager_id} has ${item.cap_count} approvals of ${item.code} this ${item.cap_period}`, `该村民本周期「${item.name}」已达上限（${item.cap_count} 次）`, 409, ErrorCode.ALREADY_SETTLED);
      }
    }
    await tx.run(`UPDATE gov_claims SET status = 'approved', points = $1, entry_id = $2, decided_at = $3 WHERE id = $4 AND status = 'reported'`, [p, `gov:${claimId}`, now.toISOString(), claimId]);
    await audit(tx, village, `claim:${claimId}`, 'approve', actor, { points: p, item: `${item.code}@${item.version}`, ...(by ? { by } : {}), ...(selfApproved ? { self_approved: selfApproved } : {}) }, now);
    const approved = (await claimOf(tx, village, claimId))!;
    return { claim: approved, entry: await entryOf(tx, approved), duplicate: false };
  });
}

/** A decision's reason is what the villager reads on the phone page and in the passbook: never blanks alone. */
const reasonGiven = (given: string): string => notBlank('reason', given, { en: 'a reason', zh: '理由' });

export async function rejectClaim(db: SqlDb, village: string, claimId: string, given: string, actor: string, now: Date, by?: string): Promise<{ claim: Claim; duplicate: boolean }> {
  const reason = reasonGiven(given);
  return db.transaction(async (tx) => {
    const c = await claimOf(tx, village, claimId);
    if (!c) throw noClaim(claimId);
    if (c.status === 'rejected') return { claim: c, duplicate: true };
    if (c.status !== 'claimed' && c.status !== 'reported') throw fieldError('claim', `claim ${claimId} is ${c.status}; reverse an approved award instead`, `该申报已${c.status === 'approved' ? '通过，请用冲正撤销' : '处理'}`, 409, ErrorCode.ALREADY_SETTLED);
    await tx.run(`UPDATE gov_claims SET status = 'rejected', reason = $1, decided_at = $2 WHERE id = $3 AND status = $4`, [reason, now.toISOString(), claimId, c.status]);
    await audit(tx, village, `claim:${claimId}`, 'reject', actor, { reason, ...byStaff(by) }, now);
    return { claim: (await claimOf(tx, village, claimId))!, duplicate: false };
  });
}

/** An approved award undone by a compensating entry (never an edit); idempotent. `original`: the award's own entry. */
export async function reverseClaim(db: SqlDb, village: string, claimId: string, given: string, actor: string, now: Date, by?: string): Promise<{ claim: Claim; entry: EntryBody; original: EntryBody; duplicate: boolean }> {
  const reason = reasonGiven(given);
  return db.transaction(async (tx) => {
    const c = await claimOf(tx, village, claimId);
    if (!c) throw noClaim(claimId);
    if (c.status !== 'approved' && c.status !== 'reversed') throw fieldError('claim', `claim ${claimId} is ${c.status}; only an approved award is reversed`, '只有已通过的积分可以冲正', 409, ErrorCode.ALREADY_SETTLED);
    const original = await entryOf(tx, c);
    const duplicate = c.status === 'reversed';
    if (!duplicate) {
      await tx.run(`UPDATE gov_claims SET status = 'reversed', reason = $1 WHERE id = $2 AND status = 'approved'`, [reason, claimId]);
      await audit(tx, village, `claim:${claimId}`, 'reverse', actor, { reason, points: -original.points, ...byStaff(by) }, now);
    }
    const entry: EntryBody = {
      id: `${original.id}:reversal`, villager: c.villager_id, kind: 'adjustment', points: -original.points, reference: original.id,
      reason: clipText(`冲正：${(duplicate ? c.reason : reason) ?? ''}`, ENTRY_REASON_MAX), created_at: duplicate ? (await reversalTime(tx, village, claimId)) ?? now.toISOString() : now.toISOString(),
    };
    return { claim: (await claimOf(tx, village, claimId))!, entry, original, duplicate };
  });
}

async function reversalTime(db: SqlDb, village: string, claimId: string): Promise<string | undefined> {
  return (await db.query<{ at: string }>(`SELECT at FROM gov_events WHERE village = $1 AND subject = $2 AND action = 'reverse' ORDER BY seq LIMIT 1`, [village, `claim:${claimId}`]))[0]?.at;
}
