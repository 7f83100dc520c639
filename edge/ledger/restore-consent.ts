/**
 * A restore must not undo a withdrawal of consent. A copy taken before a villager withdrew
 * their consent to face recognition (or to learning at the door) still holds the consent and
 * the templates; swapped in as it is, the door would recognise that villager again. So before
 * the swap, the ledger being replaced is read for withdrawals, by what they left behind, not by
 * a missing consent (a store PC installed afresh has no consent for anyone, and its restore is
 * exactly how the templates come back):
 * - face: the villager's latest consent row for the village ledger (outbox `villager`,
 *   `face_consent`) says withdrawn: the copy loses the consent and every template;
 * - learning: the villager's latest learning decision in the audit log is a refusal: the copy
 *   loses the consent to learning and what was learned.
 * When the ledger being replaced cannot be read (often why a restore is done), nothing is
 * carried and the caller says so: a maintainer must then check the withdrawals by hand.
 */
import Database from 'better-sqlite3';
import { closeLedger, openLedger, type Db } from './db.ts';
import { deleteTemplatesAndConsent } from './face-templates.ts';
import { refuseLearning } from './face-learning.ts';

export interface CarriedWithdrawals {
  /** Whether the ledger being replaced could be read; false: nothing was carried. */
  read: boolean;
  /** Villagers whose face consent and templates the copy loses. */
  face: string[];
  /** Villagers whose consent to learning (and learned templates) the copy loses. */
  learning: string[];
}

const hasTable = (db: Db, name: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

/** Applies to `incoming` (a copy about to replace `current`) the withdrawals `current` holds and it does not. */
export function carryWithdrawals(current: string, incoming: string): CarriedWithdrawals {
  let withdrawn: Set<string>;
  let refusedLearning: Set<string>;
  try {
    const cur = new Database(current, { readonly: true, fileMustExist: true });
    try {
      // each villager's latest face-consent row: the last word on consent (rows are never deleted once acknowledged)
      const consent = cur.prepare("SELECT payload FROM outbox WHERE topic = 'villager' AND json_extract(payload, '$.op') = 'face_consent' ORDER BY seq").all() as { payload: string }[];
      const last = new Map<string, boolean>();
      for (const { payload } of consent) {
        const p = JSON.parse(payload) as { id: string; consent: boolean };
        last.set(p.id, p.consent);
      }
      withdrawn = new Set([...last].filter(([, c]) => !c).map(([id]) => id));
      const decisions = hasTable(cur, 'audit_log')
        ? cur.prepare("SELECT target, action FROM audit_log WHERE action IN ('face.learning.allow', 'face.learning.refuse') ORDER BY id").all() as { target: string; action: string }[]
        : [];
      const lastLearning = new Map(decisions.map((d) => [d.target, d.action]));
      refusedLearning = new Set([...lastLearning].filter(([, a]) => a === 'face.learning.refuse').map(([id]) => id));
    } finally {
      cur.close();
    }
  } catch {
    return { read: false, face: [], learning: [] };
  }
  const out: CarriedWithdrawals = { read: true, face: [], learning: [] };
  // Brought to this program's schema first (as the daemon would at its next start): a copy taken
  // by an older program lacks tables that removing a villager's face data now touches.
  const db = openLedger(incoming);
  try {
    const consented = db.prepare('SELECT id FROM villagers WHERE face_consent_at IS NOT NULL OR id IN (SELECT villager_id FROM face_templates)').all() as { id: string }[];
    for (const { id } of consented) {
      if (!withdrawn.has(id)) continue;
      deleteTemplatesAndConsent(db, id);
      out.face.push(id);
    }
    for (const { villager_id: id } of db.prepare('SELECT villager_id FROM face_learning_consent').all() as { villager_id: string }[]) {
      if (!refusedLearning.has(id) || out.face.includes(id)) continue;
      refuseLearning(db, id, 'restore');
      out.learning.push(id);
    }
  } finally {
    closeLedger(db);
  }
  return out;
}
