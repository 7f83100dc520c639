/** What the village ledger counts of the store rows it handles (GET /api/villages/<v>/sync, town only), and the log lines of the rows it holds but cannot apply. */
import type { Logger } from '../../edge/log.ts';
import type { RowsResult } from './rows.ts';

export interface LedgerCounters {
  rows: number;
  duplicates: number;
  gaps: number;
  snapshots: number;
  /** Requests answered with the events after the store's seq. */
  deltas: number;
  /** Stores found behind the village stream by their heartbeats for longer than the bound. */
  behind: number;
  /** Heartbeats whose last acknowledged seq is ahead of what the ledger holds of that store. */
  ahead: number;
  /** Well-signed row batches the database refused: not acknowledged, so their store sends them again. */
  failed: number;
  /** Snapshot requests beyond a store's rate (`catchUpBurst`, `catchUpEveryMs`): dropped unanswered. */
  throttled: number;
  /**
   * Store entries not applied: their id was held already with other content; and store rows
   * whose row id was held already with another payload (a store's seq handed out again) (rows.ts).
   */
  clashes: number;
  /** Store rows held but not applied: not an entry the protocol carries, text holding NUL, another village's villager, or a status row for a villager who left (rows.ts `unapplied`). */
  unapplied: number;
}

export const newCounters = (): LedgerCounters => ({ rows: 0, duplicates: 0, gaps: 0, snapshots: 0, deltas: 0, behind: 0, ahead: 0, failed: 0, throttled: 0, clashes: 0, unapplied: 0 });

/** One applied batch of `rowCount` rows: counted, and what the ledger holds without applying logged as an error (the store and the ledger then disagree). */
export function countRows(c: LedgerCounters, log: Logger, village: string, store: string, rowCount: number, res: RowsResult): void {
  c.rows += rowCount - res.duplicates;
  c.duplicates += res.duplicates;
  c.gaps += res.gaps;
  if (res.clashes.length > 0) {
    c.clashes += res.clashes.length;
    log.error({ village, store, entries: res.clashes }, 'entries not applied: their ids are held already with other content; the store and the ledger now disagree / 记录编号与已有记录冲突，未记账：门店与村账本余额不一致，请核查');
  }
  if (res.rowClashes.length > 0) {
    c.clashes += res.rowClashes.length;
    log.error({ village, store, rows: res.rowClashes }, 'store rows not applied: their row ids are held already with other content (was the store\'s ledger restored or reinstalled?) / 门店记录序号与已收到的不同记录重复，未记账（门店账本是否被恢复或重装？）');
  }
  if (res.unapplied.length > 0) {
    c.unapplied += res.unapplied.length;
    log.error({ village, store, rows: res.unapplied }, 'store rows held but not applied (not a valid entry, text holding a NUL character, a villager of another village, or a block or unblock of a villager who left the village); the store and the ledger now disagree / 门店记录已收到但未记账（记录无效、文字含 NUL 字符、村民属于其他村，或对已迁出村民的停用/恢复）：门店与村账本不一致，请核查');
  }
}
