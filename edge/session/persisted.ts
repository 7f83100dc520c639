/**
 * The visit as persisted with its session (store_sessions.state_json), with a version so a
 * daemon never resumes a shape it does not understand. Version 0 is the shape written before
 * the version field existed (identical otherwise) and is migrated on read; anything else that
 * does not check is refused, and the caller closes that session for a maintainer's review
 * rather than refusing to start.
 */
import type { Logger } from 'pino';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Db } from '../ledger/db.ts';
import { systemClock, type Clock } from '../ledger/time.ts';
import { cancelForReview, DamagedState, getOpenSession } from '../ledger/sessions.ts';
import type { Visit, VisitPhase } from './machine.ts';

export const VISIT_VERSION = 1;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Inside = Type.Union([Type.Literal('entering'), Type.Literal('shopping'), Type.Literal('restocking'), Type.Literal('exiting')]);

export const PersistedVisitSchema = Type.Object({
  version: Type.Literal(VISIT_VERSION),
  sessionId: Type.String({ minLength: 1 }),
  villagerId: Type.String({ minLength: 1 }),
  kind: Type.Union([Type.Literal('shopping'), Type.Literal('restock')]),
  enteredBy: Type.Union([Type.Literal('face'), Type.Literal('card'), Type.Literal('qr'), Type.Literal('admin')]),
  baseline: Type.Record(Type.String(), Nullable(Type.Number())),
  // optional: a visit written before it was recorded is weighed with the catalogue as it stands
  products: Type.Optional(Type.Record(Type.String(), Nullable(Type.Object({
    sku: Type.String({ minLength: 1 }),
    price: Type.Integer({ minimum: 0 }),
    unitG: Type.Integer({ minimum: 1 }),
    toleranceG: Type.Integer({ minimum: 0 }),
  })))),
  openedAt: Type.Number(),
  doorOpenedAt: Nullable(Type.Number()),
  activeAt: Type.Optional(Type.Number()),
  exitAt: Nullable(Type.Number()),
  exitBy: Nullable(Type.Union([Type.Literal('exit_button'), Type.Literal('door'), Type.Literal('idle_timeout')])),
  settleAttempts: Type.Integer({ minimum: 0 }),
  lastError: Nullable(Type.String()),
  faultIn: Type.Optional(Inside),
}, { additionalProperties: true });

const phases: readonly string[] = ['entering', 'shopping', 'restocking', 'exiting', 'settling', 'settled', 'fault'];

/** What is written: the visit with its version. */
export const toPersisted = (v: Visit): Visit & { version: number } => ({ version: VISIT_VERSION, ...v });

export type ReadVisit = { ok: true; visit: Visit; phase: VisitPhase; migratedFrom: number | null } | { ok: false; why: string };

/** Checks (and migrates) a persisted visit before it is resumed. */
export function readVisit(state: string, context: unknown): ReadVisit {
  if (context instanceof DamagedState) return { ok: false, why: `the saved visit is not JSON (${context.error})` };
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return { ok: false, why: 'the visit is not an object' };
  const raw = context as Record<string, unknown>;
  const from = raw.version === undefined ? 0 : raw.version;
  if (from !== 0 && from !== VISIT_VERSION) return { ok: false, why: `visit version ${JSON.stringify(from)} is not one this daemon knows (${VISIT_VERSION})` };
  const candidate = { ...raw, version: VISIT_VERSION };
  if (!Value.Check(PersistedVisitSchema, candidate)) {
    const first = [...Value.Errors(PersistedVisitSchema, candidate)][0];
    return { ok: false, why: `visit ${first ? `${first.path || '/'} ${first.message}` : 'does not match its schema'}` };
  }
  // a row left in `idle` was closing when the power went: settling again is idempotent
  const phase = state === 'idle' ? 'settling' : state;
  if (!phases.includes(phase)) return { ok: false, why: `unknown phase ${JSON.stringify(state)}` };
  const { version: _v, ...visit } = candidate as Visit & { version: number };
  return { ok: true, visit, phase: phase as VisitPhase, migratedFrom: from === 0 ? 0 : null };
}

/**
 * The session left open by a power cut or crash, to resume; null if none. One this daemon
 * cannot read (an upgrade, a damaged row) is closed for a maintainer's review and logged.
 */
export function openVisit(db: Db, logger: Logger, clock: Clock = systemClock): { visit: Visit; phase: VisitPhase } | null {
  const open = getOpenSession(db);
  if (!open) return null;
  const r = readVisit(open.state, open.context);
  if (!r.ok) {
    logger.error({ sessionId: open.id, villagerId: open.villagerId, why: r.why }, `未完成的购物记录无法读取，已取消并交管理员核对 / open session unreadable, cancelled for review: ${r.why}`);
    cancelForReview(db, open.id, 'unreadable on resume / 恢复时无法读取', `${r.why}; nothing charged, please check what ${open.villagerId} took / 未扣分，请核对`, clock);
    return null;
  }
  logger.info({ sessionId: open.id, villagerId: open.villagerId, phase: r.phase, migratedFrom: r.migratedFrom }, 'resuming an open session / 恢复未完成的购物');
  return { visit: r.visit, phase: r.phase };
}
