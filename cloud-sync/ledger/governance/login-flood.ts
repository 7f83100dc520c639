/**
 * A login flood's start and end, for villagers' logins (made-up ids, ./auth.ts) and staff's
 * (made-up user names, ../staff/login-counts.ts) alike: each noted once in the town's audit log,
 * in the transaction of the first attempt that finds the names counted full, or down below the
 * lower mark (noteFlood), and said in the ledger's log in both languages once that transaction
 * is committed (sayFlood). The only trace there of the made-up names, whose locks are audited
 * nowhere (that would list the names tried); neither line names one.
 *
 * While a flood lasts, a row `mark` in gov_login_failures says so (a key no count's can be); its
 * `until_at` is never reached, so no purge of ended counts takes it. Inserted and deleted only if
 * absent or present, so attempts at the same time note a turn once. A flood ends only once its
 * names are down below `endsBelow`, not at the first that expires: a flood held at the mark (one
 * name expiring, the next attempt adding one) would otherwise write an end and a start for every
 * name that expires.
 */
import type { Logger } from '../../../edge/log.ts';
import type { SqlDb } from '../sql.ts';
import { audit, TOWN } from './rules.ts';

export type FloodTurn = 'start' | 'end';

export interface LoginFlood {
  /** The row of gov_login_failures that says a flood lasts. */
  mark: string;
  /** The audit log's subject. */
  subject: string;
  /** The audit action and the log line's `event`, `<event>-start` and `<event>-end`. */
  event: string;
  /** Names counted at which a flood starts, and below which it ends. */
  startsAt: number;
  endsBelow: number;
  /** The audit detail, also in the log line. */
  detail: Record<string, number>;
  /** The log line of each turn, in both languages. */
  said: Record<FloodTurn, string>;
}

const NEVER = '9999-12-31T23:59:59.999Z';

/** With `counted` names counted now: the turn this attempt sees (audited in `tx`), if any. */
export async function noteFlood(tx: SqlDb, f: LoginFlood, counted: number, now: Date): Promise<FloodTurn | undefined> {
  const marked = (await tx.query('SELECT 1 FROM gov_login_failures WHERE login = $1', [f.mark])).length > 0;
  const full = marked ? counted >= f.endsBelow : counted >= f.startsAt;
  if (full === marked) return undefined;
  const changed = full
    ? await tx.run('INSERT INTO gov_login_failures (login, failures, until_at) VALUES ($1, 0, $2) ON CONFLICT (login) DO NOTHING', [f.mark, NEVER])
    : await tx.run('DELETE FROM gov_login_failures WHERE login = $1', [f.mark]);
  if (changed === 0) return undefined;
  const turn = full ? 'start' : 'end';
  await audit(tx, TOWN, f.subject, `${f.event}-${turn}`, 'system', f.detail, now);
  return turn;
}

/** The turn noteFlood saw, said in the ledger's log (at warn) once its transaction is committed. */
export function sayFlood(log: Pick<Logger, 'warn'> | undefined, f: LoginFlood, turn: FloodTurn | undefined): void {
  if (turn) log?.warn({ event: `${f.event}-${turn}`, ...f.detail }, f.said[turn]);
}
