/**
 * Separation of duties for the records the village files (an award or a deduction for a
 * villager, the /village record form): the staff account that filed one does not approve it;
 * another staff member of the village does (403 `FORBIDDEN`, in both languages). A village with
 * one staff account would wait forever: there the one who filed approves, and the approval's
 * audit step says so (`self_approved`).
 *
 * A machine's bearer token is someone only when the tokens file names it (run.ts loadTokens):
 * what a named token files keeps `token:NAME` as its filer (a name no staff account can have:
 * access.ts tokenFiler), and the same token approving it is refused alike, always: another token
 * or a staff member of the village approves it. There is no "only token" exception as there is
 * for the only staff account: the tokens file is read at start and kept nowhere in the ledger, so
 * which tokens a village had when a record was filed cannot be told at approval, and a village
 * with one machine keeps it unnamed. An unnamed token is nobody: what it files (`filed_by` null)
 * anyone may approve, that same token too (a documented limit, docs/governance-staff.md, said
 * at start by run.ts). Being nobody, it does not approve a record that has a filer (a staff
 * account's or a named token's): its approval would name no approver, so the filer holding the
 * village's unnamed token would approve their own record unseen (403, approve signed in as
 * another staff member or with a named token). Rejecting stays open to everyone, the filer too.
 *
 * Both rules are decided by the staff as they were when the record was filed, which the filer
 * cannot change afterwards (a review found both ways round the rules as they stood at approval):
 * - "the only staff account" counts the village accounts made before the record and not
 *   disabled before it, so disabling the colleague after filing does not make the filer alone;
 * - a village account made after the record was filed does not approve it, so an account the
 *   filer makes for the purpose does not either. (The town reads the villages' records and
 *   decides none of them.) A record no one may approve any more (its filer's colleagues of then
 *   have all left) is withdrawn by the filer (rejected, with the reason) and filed again.
 * An account made beforehand for the purpose is beyond what the ledger can tell; its making is
 * in the village's audit log (`staff.create`, by whom). A direct entry (`POST …/entries`) is
 * refused to a staff account signed in (direct.ts), so it is no way round either. docs/governance-staff.md.
 */
import type { SqlDb } from '../sql.ts';
import { fieldError } from './rules.ts';
import { TOKEN_FILER } from './access.ts';

/** The audit's word for an approval by the one who filed, allowed as the village's only staff account when filing. */
export const SOLE_STAFF = 'only active staff account of the village';

/**
 * Whether `by` (the approving staff account, or a named token as `token:NAME`; undefined for an
 * unnamed token) may approve claim `c`: throws the refusal when `by` is an unnamed token and the
 * record has a filer, when `by` is the named token that
 * filed it, when `by` is the staff account that filed it and the village had another staff
 * account then, or when `by` is a village account made after it was filed; answers SOLE_STAFF
 * when a staff account filed it as the village's only one, else undefined.
 */
export async function approverAllowed(tx: SqlDb, c: { id: string; village: string; origin: string }, by: string | undefined): Promise<typeof SOLE_STAFF | undefined> {
  if (c.origin !== 'village') return undefined;
  const [row] = await tx.query<{ filed_by: string | null; created_at: string }>('SELECT filed_by, created_at FROM gov_claims WHERE id = $1 AND village = $2', [c.id, c.village]);
  if (!row?.filed_by) return undefined;
  if (by === undefined) {
    const filer = row.filed_by;
    throw fieldError('claim', `record ${c.id} was filed by ${filer}; an unnamed token approves only records no one is named as filing: approve it signed in as another staff member of the village, or with a named token (the tokens file's \`name\`)`,
      `这条记录（${c.id}）是（${filer}）登记的，未命名的令牌不能审核有登记人的记录：请以本村其他工作人员身份登录审核，或使用命名令牌（令牌文件中的 name 字段）`, 403);
  }
  const filedAt = row.created_at;
  if (row.filed_by !== by) {
    const [account] = await tx.query<{ role: string; created_at: string }>('SELECT role, created_at FROM staff_accounts WHERE username = $1', [by]);
    if (account?.role === 'village' && account.created_at >= filedAt) {
      throw fieldError('claim', `your account (${by}) was made after record ${c.id} was filed; a staff member who was in office then approves it (or the one who filed it rejects it and files it again)`,
        `您的账号（${by}）是在这条记录（${c.id}）登记之后开设的，须由登记时已在任的本村工作人员审核（或由登记人驳回后重新登记）`, 403);
    }
    return undefined;
  }
  if (by.startsWith(TOKEN_FILER)) {
    const name = by.slice(TOKEN_FILER.length);
    throw fieldError('claim', `token ${name} filed record ${c.id}; another token or a staff member of the village must approve it (a named token never approves its own records)`,
      `这条记录（${c.id}）是令牌（${name}）登记的，须由本村其他令牌或工作人员审核通过`, 403);
  }
  const others = await tx.query<{ username: string }>(
    `SELECT username FROM staff_accounts WHERE role = 'village' AND village = $1 AND username <> $2
       AND created_at < $3 AND (disabled_at IS NULL OR disabled_at > $3) LIMIT 1`, [c.village, by, filedAt]);
  if (others.length === 0) return SOLE_STAFF;
  throw fieldError('claim', `you (${by}) filed record ${c.id}; another staff member of the village must approve it`,
    `这条记录（${c.id}）是您（${by}）登记的，须由本村其他工作人员审核通过`, 403);
}
