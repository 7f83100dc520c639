/** What the retention job deletes: old door decisions and face data that may no longer be kept (the kept photos: edge/entry/face-photos.ts). */
import { inTransaction, type Db } from './db.ts';
import { appendAudit } from './audit.ts';
import { setFaceConsent } from './villagers.ts';
import { expirePending } from './face-pending.ts';
import { scrubFaceDeletion } from './face-scrub.ts';

export interface RetentionRules {
  /** Door decisions older than this many days go. */
  entryEventsDays: number;
  /** Templates of a villager who left go this many days after the status changed. */
  leftVillagerTemplatesDays: number;
}

export interface RetentionResult {
  entryEvents: number;
  templatesWithoutConsent: number;
  templatesOfLeft: number;
  /** Pending (card-confirmed learning) templates expired, without consent, or of a villager who left (with the templates). */
  pendingTemplates: number;
  /** Villagers who left whose face consent and templates went (one `face.retention` audit row each). */
  leftVillagers: string[];
}

const DAY_MS = 86_400_000;

/** Delete, in one transaction, what the rules no longer allow to keep at `now`. */
export function applyRetention(db: Db, rules: RetentionRules, now: Date): RetentionResult {
  const eventsBefore = new Date(now.getTime() - rules.entryEventsDays * DAY_MS).toISOString();
  const leftBefore = new Date(now.getTime() - rules.leftVillagerTemplatesDays * DAY_MS).toISOString();
  const res = inTransaction(db, 'applying retention', () => {
    const entryEvents = db.prepare('DELETE FROM entry_events WHERE at < ?').run(eventsBefore).changes;
    // withdrawal deletes the templates at once; this catches any left behind (a crash between the two)
    const templatesWithoutConsent = db.prepare('DELETE FROM face_templates WHERE villager_id IN (SELECT id FROM villagers WHERE face_consent_at IS NULL)').run().changes
      // templates learned at the door need the consent to learning too (edge/ledger/face-learning.ts)
      + db.prepare("DELETE FROM face_templates WHERE origin = 'learned' AND villager_id NOT IN (SELECT villager_id FROM face_learning_consent)").run().changes;
    // counted from when they left, not from updated_at, which every later entry or snapshot row moves
    const leftLongAgo = "SELECT id FROM villagers WHERE status = 'left' AND status_changed_at <= ?";
    // their consent goes too (the village ledger is told, as of a withdrawal): nothing of their face stays
    const left = db.prepare(`SELECT id, face_consent_at AS consentAt, (SELECT count(*) FROM face_templates t WHERE t.villager_id = v.id) AS templates FROM villagers v
      WHERE id IN (${leftLongAgo}) AND (face_consent_at IS NOT NULL OR id IN (SELECT villager_id FROM face_templates)) ORDER BY id`).all(leftBefore) as Array<{ id: string; consentAt: string | null; templates: number }>;
    for (const v of left) {
      if (v.consentAt !== null) setFaceConsent(db, v.id, null, () => now);
      appendAudit(db, { actor: 'system', action: 'face.retention', target: v.id, before: { consent_at: v.consentAt, templates: v.templates }, after: { consent_at: null, templates: 0 } }, () => now);
    }
    const templatesOfLeft = db.prepare(`DELETE FROM face_templates WHERE villager_id IN (${leftLongAgo})`).run(leftBefore).changes;
    // their consent to learning goes with the templates: the pending ones (and their thumbnails)
    // then go below, as pending templates without that consent
    db.prepare(`DELETE FROM face_learning_consent WHERE villager_id IN (${leftLongAgo})`).run(leftBefore);
    const pendingTemplates = expirePending(db, now.toISOString());
    return { entryEvents, templatesWithoutConsent, templatesOfLeft, pendingTemplates, leftVillagers: left.map((v) => v.id) };
  });
  // no bytes of deleted face data left in the file or the WAL (./face-scrub.ts): every day, also
  // for a scrub whose retries were spent or that a command line (another process) left
  scrubFaceDeletion(db);
  return res;
}
