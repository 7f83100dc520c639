/**
 * Separation of duties for the records the village files (an award or a deduction for a
 * villager, the /village record form): the staff account that filed one does not approve it;
 * another staff member of the village does (403 `FORBIDDEN`, in both languages). A village with
 * one active staff account (not disabled) would wait forever: there the one who filed approves,
 * and the approval's audit step says so (`self_approved`). A machine's bearer token is no staff
 * account: what it files (`filed_by` null) anyone may approve, and its approval is nobody's own.
 * docs/governance-staff.md.
 */
import type { SqlDb } from '../sql.ts';
import { fieldError } from './rules.ts';

/** The audit's word for an approval by the one who filed, allowed as the village's only active staff account. */
export const SOLE_STAFF = 'only active staff account of the village';

/**
 * Whether `by` (the approving staff account; undefined for a bearer token) may approve claim `c`:
 * throws the refusal when they filed it and the village has another active staff account; answers
 * SOLE_STAFF when they filed it and are its only one, else undefined.
 */
export async function approverAllowed(tx: SqlDb, c: { id: string; village: string; origin: string }, by: string | undefined): Promise<typeof SOLE_STAFF | undefined> {
  if (c.origin !== 'village' || by === undefined) return undefined;
  const [row] = await tx.query<{ filed_by: string | null }>('SELECT filed_by FROM gov_claims WHERE id = $1 AND village = $2', [c.id, c.village]);
  if (row?.filed_by !== by) return undefined;
  const others = await tx.query<{ username: string }>(
    `SELECT username FROM staff_accounts WHERE role = 'village' AND village = $1 AND disabled_at IS NULL AND username <> $2 LIMIT 1`, [c.village, by]);
  if (others.length === 0) return SOLE_STAFF;
  throw fieldError('claim', `you (${by}) filed record ${c.id}; another staff member of the village must approve it`,
    `这条记录（${c.id}）是您（${by}）登记的，须由本村其他工作人员审核通过`, 403);
}
