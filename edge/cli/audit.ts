/**
 * `store-edge audit list`: the store's audit log read at the store PC's terminal — what was done
 * from the admin page, at the door and from this terminal (`cli`, with the OS user and the
 * command: cli-audit.ts), newest first. Read-only: it also answers from a backup mounted
 * read-only (readLedger).
 */
import type { Command } from 'commander';
import { withCommon, readLedger, parseIntOption, print, type CommonOptions } from './context.ts';
import { listAudit, type AuditRecord } from '../ledger/audit.ts';
import { EdgeError, ErrorCode } from '../errors.ts';

const LIMIT_MAX = 10_000;

/**
 * --since: a date or a time (ISO 8601, e.g. 2026-12-01 or 2026-12-01T08:00:00+08:00), as the
 * instant the rows' `at` is compared with. A date, or a time with no offset, is the PC's own
 * time (midnight of that day where the store is: Date.parse would take a bare date as UTC, 08:00
 * in Beijing, and leave the night's rows out).
 */
function sinceOf(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00` : text) : NaN;
  if (Number.isNaN(t)) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--since must be a date or time such as 2026-12-01 or 2026-12-01T08:00:00+08:00, got ${JSON.stringify(raw)}`, { zh: `--since 须为日期或时间，如 2026-12-01 或 2026-12-01T08:00:00+08:00，收到 ${JSON.stringify(raw)}`, details: { field: '--since' } });
  }
  return new Date(t).toISOString();
}

const shown = (v: unknown): string => (v === null || v === undefined ? '-' : JSON.stringify(v));

/** One row: id, time, actor (and the OS user of a terminal's command), action, target, then before → after. */
function line(r: AuditRecord): string {
  const cli = (r.after as { cli?: { os_user?: string; sudo_user?: string } } | null)?.cli;
  const who = cli ? `${r.actor}:${cli.os_user ?? '?'}${cli.sudo_user ? ` (sudo ${cli.sudo_user})` : ''}` : r.actor;
  return `#${r.id}\t${r.at}\t${who}\t${r.action}\t${r.target ?? '-'}\n\t${shown(r.before)} → ${shown(r.after)}`;
}

export function registerAuditCommand(program: Command): void {
  const audit = program.command('audit').description("the store's audit log / 门店审计日志");
  withCommon(audit.command('list').description('who changed what, newest first (read-only) / 审计记录，最新在前（只读）'), { json: true })
    .option('--since <time>', 'only rows written at or after this date or time / 只列出此时间之后的记录')
    .option('--limit <n>', `at most this many rows (default 50, at most ${LIMIT_MAX}) / 最多列出条数（默认 50）`)
    .action((o: CommonOptions & { since?: string; limit?: string }) => {
      const since = sinceOf(o.since);
      const limit = o.limit === undefined ? 50 : parseIntOption('--limit', o.limit);
      if (limit < 1 || limit > LIMIT_MAX) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--limit must be from 1 to ${LIMIT_MAX}, got ${o.limit}`, { zh: `--limit 须在 1 到 ${LIMIT_MAX} 之间，收到 ${o.limit}` });
      const rows = readLedger(o, (db) => listAudit(db, { limit, ...(since ? { since } : {}) }));
      print(o, rows, rows.length === 0 ? '（无审计记录 no audit rows）' : rows.map(line).join('\n'));
    });
}
