/**
 * Request ids (幂等键): a form's one id, sent with every send of it, so that a send repeated (a
 * phone on a weak village network sending again after a timeout, a second press after a reload)
 * makes nothing twice. The first send's answer is kept with its id, per account (the caller as
 * the audit log names it: `village:<id>`, `villager:<id>`), in `gov_requests`, in the transaction
 * that makes what it answers: the same id with the same content answers it again (`duplicate`),
 * with other content (or on another route, or in another village) is refused, 409 on `request`.
 * Ids are kept REQUEST_KEEP_DAYS days, then deleted by the ledger's retention job (../retention.ts).
 *
 * Used by publishing a task, uploading a photo and issuing a login code (login-codes.ts: its answer
 * holds a secret kept only hashed, so a resend is answered with a fresh code that voids the one
 * before, `replaceAnswer`). A self-report's `request` (tasks.ts fileReport) is older and works
 * otherwise: it makes the claim's id, so it is never deleted.
 */
import { createHash } from 'node:crypto';
import { ErrorCode } from '../../../edge/errors.ts';
import { canonicalJson } from '../../../lib/canonical-json.ts';
import type { SqlDb } from '../sql.ts';
import { fieldError } from './rules.ts';

/** A request id: random, one per form (the pages make 32 hex digits), so never a small counter. */
export const REQUEST_ID = '^[A-Za-z0-9_-]{16,64}$';

/**
 * Days a request id and its answer are kept. A resend comes within minutes; a week outlasts a
 * page left open over a weekend with its form unanswered.
 */
export const REQUEST_KEEP_DAYS = 7;

export const REQUEST_IDS_VERSION = 18;
export const REQUEST_IDS_SQL = /* sql */ `
CREATE TABLE gov_requests (
  account      TEXT NOT NULL,
  request      TEXT NOT NULL,
  village      TEXT NOT NULL,
  action       TEXT NOT NULL,
  -- SHA-256 of what was asked (route, village, body): a resend asks the same
  fingerprint  TEXT NOT NULL,
  -- the first answer (JSON), given again to a resend
  answer       TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (account, request)
);
CREATE INDEX gov_requests_created ON gov_requests (created_at);
`;

export type RequestAction = 'task.publish' | 'evidence.upload' | 'login-code.issue';

/** One send of a form: who sent it, its id, and what it asks. */
export interface Sending { account: string; request: string; village: string; action: RequestAction; fingerprint: string }

/** `content`: what the send asks beside its id (a body, a photo's digest), the same on every send of one form. */
export function sending(account: string, request: string, village: string, action: RequestAction, content: unknown): Sending {
  const fingerprint = createHash('sha256').update(canonicalJson({ action, village, content })).digest('hex');
  return { account, request, village, action, fingerprint };
}

/** What the first answer made, for a refusal: a task by its title, a photo by its id. */
function madeBy(action: string, answer: string): { en: string; zh: string } {
  const a = JSON.parse(answer) as { id?: string; title?: string; villager?: string };
  if (action === 'task.publish') return { en: `task ${a.id} "${a.title}"`, zh: `已发布任务「${a.title}」` };
  if (action === 'evidence.upload') return { en: `photo ${a.id}`, zh: `已上传照片 ${a.id}` };
  if (action === 'login-code.issue') return { en: `a login code for villager ${a.villager}`, zh: `已为村民 ${a.villager} 发登录码` };
  return { en: action, zh: action };
}

/**
 * The answer kept for `s`'s id (undefined: none yet). The id kept with other content is refused:
 * a second form sent under a used id, which must not pass for the first one's resend.
 */
export async function answerKept<T>(tx: SqlDb, s: Sending): Promise<T | undefined> {
  const [held] = await tx.query<{ action: string; fingerprint: string; answer: string }>('SELECT action, fingerprint, answer FROM gov_requests WHERE account = $1 AND request = $2', [s.account, s.request]);
  if (!held) return undefined;
  if (held.fingerprint === s.fingerprint) return JSON.parse(held.answer) as T;
  const made = madeBy(held.action, held.answer);
  throw fieldError('request',
    `request ${s.request} was sent before with other content and made ${made.en}; nothing was made this time: send something new with a new request id`,
    `这张表单已经提交过（${made.zh}），这次的内容与之不同，未再保存；如需另行提交，请重新提交`, 409, ErrorCode.DUPLICATE_ID);
}

/** Keeps `answer` for `s`'s id, in the transaction that made it. */
export async function keepAnswer(tx: SqlDb, s: Sending, answer: unknown, now: Date): Promise<void> {
  // A send of the same id at once: on PostgreSQL the later transaction meets the first one's row
  // here, and DO NOTHING makes that a serialization failure, retried and answered by answerKept.
  const n = await tx.run(
    'INSERT INTO gov_requests (account, request, village, action, fingerprint, answer, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account, request) DO NOTHING',
    [s.account, s.request, s.village, s.action, s.fingerprint, JSON.stringify(answer), now.toISOString()],
  );
  if (n === 0) throw fieldError('request', `request ${s.request} is being sent at the same time; try again`, '这张表单正在提交中，请稍后再试', 409, ErrorCode.DUPLICATE_ID);
}

/** Replaces the answer kept for `s`'s id (a login code issued anew for a resend), in the transaction that made it. */
export async function replaceAnswer(tx: SqlDb, s: Sending, answer: unknown): Promise<void> {
  const n = await tx.run('UPDATE gov_requests SET answer = $3 WHERE account = $1 AND request = $2 AND fingerprint = $4', [s.account, s.request, JSON.stringify(answer), s.fingerprint]);
  if (n !== 1) throw new Error(`request ${s.request} of ${s.account}: no answer kept to replace`);
}

/** Deletes the ids kept longer than `keepDays`; answers how many. */
export async function purgeRequestIds(db: SqlDb, keepDays: number, now: Date): Promise<{ deleted: number; cutoff: string }> {
  const cutoff = new Date(now.getTime() - keepDays * 86_400_000).toISOString();
  return { deleted: await db.run('DELETE FROM gov_requests WHERE created_at < $1', [cutoff]), cutoff };
}
