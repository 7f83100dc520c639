/**
 * The retention of evidence photos (凭证照片): a photo kept longer than `keepDays` is purged —
 * its picture's bytes are emptied and `purged_at` set (schema v6 allows exactly that, once) —
 * while the row, its SHA-256, the claim, its ledger entry and the audit log stay. The purge is
 * itself a step of the audit log, for the photo and for each claim that named it: "photo
 * purged on DATE". A photo named by a claim still waiting for a decision (claimed, reported)
 * is kept until it is decided: checked again by the purge's UPDATE, inside its transaction, since
 * a report may name the photo after the photos were chosen (and a report checks in its own
 * transaction that its photo is not purged, tasks.ts). Run by the ledger's retention job (../retention.ts).
 *
 * Emptied bytes must not stay in the database's files: SQLite runs with `secure_delete` (sql.ts),
 * which zeroes the freed pages, and after a purge the WAL, which still holds the uploaded pages,
 * is checkpointed and truncated. PostgreSQL keeps the old value as a dead tuple until VACUUM:
 * the purge runs `VACUUM gov_evidence` (docs/governance-villagers.md, "Evidence photos", says what that does and does not clear).
 */
import type { SqlDb } from '../sql.ts';
import { audit, localDate } from './rules.ts';

/** Photos purged per transaction: a large first purge never holds the ledger long. */
const BATCH = 50;

/**
 * A claim's evidence names photo `id`: `photo:ev-…` alone or followed by words (a witness's name,
 * evidence.ts). A LIKE on the prefix: an id that is the start of another's, or a `_` in an id
 * (LIKE's any character), can only make a photo count as named when it is not, which keeps it
 * longer, never shorter.
 */
const namesPhoto = (id: string): string => `(c.evidence = 'photo:' || ${id} OR c.evidence LIKE 'photo:' || ${id} || '%')`;

/** The photo is named by no claim still waiting for a decision: `e` is the photo's row. */
const NOT_PENDING = `NOT EXISTS (SELECT 1 FROM gov_claims c WHERE ${namesPhoto('e.id')} AND c.status IN ('claimed', 'reported'))`;

export interface PurgeResult { purged: number; claims: number; cutoff: string }

/** Purges the photos uploaded before `now - keepDays`; answers how many (and how many claims named them). */
export async function purgeEvidence(db: SqlDb, keepDays: number, now: Date): Promise<PurgeResult> {
  const cutoff = new Date(now.getTime() - keepDays * 86_400_000).toISOString();
  const out: PurgeResult = { purged: 0, claims: 0, cutoff };
  if (keepDays <= 0) return out;
  const on = localDate(now);
  for (;;) {
    const due = await db.query<{ id: string; village: string; created_at: string }>(
      `SELECT e.id, e.village, e.created_at FROM gov_evidence e
       WHERE e.purged_at IS NULL AND e.created_at < $1 AND ${NOT_PENDING}
       ORDER BY e.created_at LIMIT ${BATCH}`, [cutoff]);
    if (due.length === 0) {
      if (out.purged > 0) await dropFreedBytes(db);
      return out;
    }
    await db.transaction(async (tx) => {
      for (const p of due) {
        // Chosen before this transaction: purged or named by a pending claim since, it is left as it is.
        if ((await tx.run(`UPDATE gov_evidence AS e SET bytes = $1, purged_at = $2 WHERE e.id = $3 AND e.purged_at IS NULL AND ${NOT_PENDING}`, [Buffer.alloc(0), now.toISOString(), p.id])) === 0) continue;
        const note = { purged_on: on, uploaded_at: p.created_at, kept_days: keepDays, zh: `照片已于 ${on} 按保存期限删除`, message: `photo purged on ${on}` };
        await audit(tx, p.village, `evidence:${p.id}`, 'evidence.purge', 'system', note, now);
        const claims = await tx.query<{ id: string }>(`SELECT c.id FROM gov_claims c WHERE c.village = $1 AND ${namesPhoto('$2')}`, [p.village, p.id]);
        for (const c of claims) await audit(tx, p.village, `claim:${c.id}`, 'evidence.purge', 'system', { evidence: `photo:${p.id}`, ...note }, now);
        out.purged++;
        out.claims += claims.length;
      }
    });
  }
}

async function dropFreedBytes(db: SqlDb): Promise<void> {
  // Outside any transaction: neither statement runs inside one.
  if (db.dialect === 'sqlite') await db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  else await db.exec('VACUUM gov_evidence');
}
