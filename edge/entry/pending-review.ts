/**
 * A maintainer's review of pending templates (card-confirmed learning, edge/entry/card-learning.ts):
 * list them, see the face, confirm one (it becomes a learned template and takes part in
 * matching) or reject it. Shared by the admin page (edge/http/pending-routes.ts) and
 * `faces learning --confirm/--reject` (edge/cli/faces-learning.ts). Confirming keeps the rules
 * of learning at the door: the consent to learning must still be on record, the frame must
 * still add something and stay anchored to the enrolment, and at most `max_per_villager`
 * learned templates are kept (when full, it replaces the most redundant one only if that
 * spreads the set; otherwise it is refused, naming `faces learning --forget`).
 */
import type { Db } from '../ledger/db.ts';
import { learningConsentOf, templateRowsOf } from '../ledger/face-learning.ts';
import { confirmPending, expirePending, pendingOf, rejectPending, requirePending, type PendingRow } from '../ledger/face-pending.ts';
import { EdgeError } from '../errors.ts';
import { chooseSlot } from './adapt.ts';
import type { EntryConfig } from './config.ts';
import { openBytes, openDescriptor } from './templates.ts';
import { collisionError, findCollision, inProcess, type SealedSearcher } from './enrol.ts';

/** A pending template as a maintainer sees it (no face data). */
export interface PendingView {
  id: number;
  villager_id: string;
  distance: number;
  enrolled_distance: number;
  margin: number;
  credential: 'card' | 'qr';
  created_at: string;
  expires_at: string;
  thumbnail: boolean;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

export const pendingView = (p: PendingRow): PendingView => ({
  id: p.id, villager_id: p.villagerId, distance: round(p.distance), enrolled_distance: round(p.enrolledDistance), margin: round(p.margin),
  credential: p.credential, created_at: p.createdAt, expires_at: p.expiresAt, thumbnail: p.thumb !== null,
});

/** The villager's open pending templates; the expired ones (of anyone) are deleted first, audited. */
export function listPending(db: Db, villagerId: string, now: Date): PendingView[] {
  expirePending(db, now.toISOString());
  return pendingOf(db, villagerId, now.toISOString()).map(pendingView);
}

/** The face thumbnail (JPEG) of a pending template; null when none was kept. */
export function pendingThumbnail(db: Db, key: Buffer, villagerId: string, id: number, now: Date): Buffer | null {
  const p = requirePending(db, villagerId, id, now.toISOString());
  return p.thumb ? openBytes(key, villagerId, 'thumbnail', p.thumb) : null;
}

export type ConfirmResult = { template: number; replaced: number | null };

const noLearningConsent = (villagerId: string, id: number): EdgeError =>
  new EdgeError('FACE_LEARNING_REFUSED', `villager ${villagerId} no longer consents to learning at the door: pending template ${id} cannot be confirmed (reject it, or record the consent first: faces learning --allow)`, { zh: `村民 ${villagerId} 已不再同意门口学习，不能确认待确认模板 ${id}（请拒绝，或先登记同意）`, details: { field: 'pending' } });

/**
 * Confirms a pending template after the rules of learning and the look-alike check of an
 * enrolment (FACE_COLLISION: within match.threshold of another villager's template, it would make
 * both ambiguous at the door). `searcher` opens the other villagers' templates (the door's worker
 * on the running door).
 */
export async function confirmPendingTemplate(db: Db, key: Buffer, config: EntryConfig, villagerId: string, id: number, actor: string, now: Date, searcher: SealedSearcher = inProcess): Promise<ConfirmResult> {
  const p = requirePending(db, villagerId, id, now.toISOString());
  if (!learningConsentOf(db, villagerId)) throw noLearningConsent(villagerId, id);
  const rows = templateRowsOf(db, villagerId);
  const enrolled = rows.filter((r) => r.origin === 'enrolled').map((r) => openDescriptor(key, villagerId, r));
  const learnedRows = rows.filter((r) => r.origin === 'learned');
  const learned = learnedRows.map((r) => openDescriptor(key, villagerId, r));
  const fresh = openDescriptor(key, villagerId, p.sealed);
  // the daily cap is the door's; a maintainer's confirmation is not a visit
  const slot = chooseSlot(enrolled, learned, fresh, 0, { ...config.adapt, max_drift: Math.max(config.adapt.max_drift, config.match.uncertain_threshold) });
  if (slot.action === 'skip') {
    const why = {
      not_novel: ['it is too close to a template the villager already has (it would add nothing): reject it', '与已有模板太接近，不增加信息：请拒绝'],
      drift: ['it is too far from the villager\'s enrolled templates: reject it', '与录入模板相差太远：请拒绝'],
      not_more_diverse: [`the villager already has ${learned.length} learned templates (entry.adapt.max_per_villager) and this one would not spread them: reject it, or remove learned ones first (faces learning --forget)`, `该村民已有 ${learned.length} 个学习模板且此模板不能增加多样性：请拒绝，或先删除已学模板`],
      daily_cap: ['the daily cap was reached', '已达每日上限'],
    }[slot.why as 'not_novel' | 'drift' | 'not_more_diverse' | 'daily_cap'] ?? [slot.why, slot.why];
    throw new EdgeError('FACE_LEARNING_REFUSED', `pending template ${id} of ${villagerId} not confirmed: ${why[0]}`, { zh: `村民 ${villagerId} 的待确认模板 ${id} 未能确认：${why[1]}`, details: { field: 'pending', why: slot.why } });
  }
  const c = await findCollision(db, key, villagerId, [{ descriptor: fresh, quality: null, source: `pending template ${id}` }], config, searcher);
  if (c) throw collisionError(c, config);
  // the consent may have been withdrawn while the others were searched
  if (!learningConsentOf(db, villagerId)) throw noLearningConsent(villagerId, id);
  const replaced = slot.action === 'replace' ? (learnedRows[slot.index]?.id ?? null) : null;
  return { template: confirmPending(db, p, replaced, actor, now.toISOString()), replaced };
}

export function rejectPendingTemplate(db: Db, villagerId: string, id: number, actor: string, now: Date): void {
  rejectPending(db, requirePending(db, villagerId, id, now.toISOString()), actor);
}
