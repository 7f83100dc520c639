/**
 * The store's audit_log for a change made at the store PC's terminal: the store is unmanned, and
 * whoever sits at it could otherwise give points or end a villager's sessions leaving no trace.
 * Every row is actor `cli` (as the faces and alarms commands), and its `after` carries `cli`: the
 * command, the OS user who ran it (`os.userInfo()`) and, under sudo, `SUDO_USER`, the one who
 * called sudo. The row is written inside the transaction of the change (appendAudit): both or
 * neither. The time is the row's `at`.
 */
import os from 'node:os';
import { appendAudit } from '../ledger/audit.ts';
import type { Db } from '../ledger/db.ts';

export interface CliBy { command: string; os_user: string; sudo_user?: string }

/** Who ran `command` (e.g. `points adjust`) at this PC, as far as the OS tells. */
export function cliBy(command: string): CliBy {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // a uid without a passwd entry (a container): the environment's word, else the uid
    user = process.env.USER ?? process.env.LOGNAME ?? `uid:${process.getuid?.() ?? '?'}`;
  }
  const sudo = process.env.SUDO_USER;
  return { command, os_user: user, ...(sudo ? { sudo_user: sudo } : {}) };
}

/** One audit row for a terminal command; call inside the change's transaction. */
export function auditCli(db: Db, command: string, r: { action: string; target: string | null; before: unknown; after: Record<string, unknown> }): number {
  return appendAudit(db, { actor: 'cli', action: r.action, target: r.target, before: r.before, after: { ...r.after, cli: cliBy(command) } });
}
