/**
 * A store whose heartbeat says it has had rows acknowledged that the village ledger does not hold
 * (`last_acked_seq` above the ledger's `contiguous_seq` for it): the ledger was restored from an
 * older copy, or the store's outbox skipped seqs. The beat's contiguous seq makes the store send
 * the rows above it again (cloud-sync/agent/agent.ts onBeat); they arrive and the contiguous seq
 * moves. This used to be a log line at every heartbeat, for ever when the store could not send
 * them. Now it is a status of the store the operator sees (`missing_rows` in
 * `GET /api/villages/<village>/sync`), raised once (one error logged, naming the seqs), said
 * plainly once the store has had `STUCK_AFTER` heartbeats' answers without sending any of them
 * (it no longer holds them: those rows are lost to the ledger), and cleared (logged) when they
 * have arrived. Kept in memory: after a restart of the ledger the first heartbeat raises it again.
 */
import type { Logger } from '../../edge/log.ts';
import type { SqlDb } from './sql.ts';
import { addrKey } from './control.ts';

/** Heartbeats answered without the contiguous seq moving, before the rows are called lost. */
export const STUCK_AFTER = 2;

export interface MissingRows {
  /** The first and last seq the ledger lacks below the rows it holds next (or the store's last acknowledged). */
  from: number;
  to: number;
  /** The store's last acknowledged seq, from its heartbeat. */
  last_acked_seq: number;
  since: string;
  /** The store has not sent them again: it no longer holds them. */
  stuck: boolean;
  /** What it means and what to do, in Chinese and English. */
  detail: string;
}

const seqs = (m: Pick<MissingRows, 'from' | 'to'>): string => (m.from === m.to ? `${m.from}` : `${m.from}–${m.to}`);

function detailOf(store: string, m: Omit<MissingRows, 'detail'>): string {
  if (m.stuck) {
    return `store ${store} has had rows up to seq ${m.last_acked_seq} acknowledged, but the village ledger lacks seqs ${seqs(m)} and the store has not sent them again: it no longer holds them (its own ledger restored from an older copy, or those seqs were never used). Those rows are lost to the village ledger; compare the villagers' balances (the store's reconcile) and settle the differences by hand / 门店 ${store} 的记录已确认到序号 ${m.last_acked_seq}，但村账本缺少序号 ${seqs(m)}，门店也没有重发：门店已没有这些记录（门店账本从更早的备份恢复，或这些序号从未使用）。这些记录村账本已无法取得；请核对村民积分（门店对账）并手工处理差额`;
  }
  return `store ${store} has had rows up to seq ${m.last_acked_seq} acknowledged that the village ledger does not hold (seqs ${seqs(m)} missing: the ledger restored from an older copy?); the store is sending them again / 门店 ${store} 已确认到序号 ${m.last_acked_seq} 的记录村账本没有（缺少序号 ${seqs(m)}：村账本是否从旧备份恢复？）；门店正在重发`;
}

interface Open extends Omit<MissingRows, 'detail'> { contiguous: number; quiet: number }

export class MissingRowsTracker {
  private readonly open = new Map<string, Open>();

  /** The store's status, if rows are missing. */
  get(village: string, store: string): MissingRows | undefined {
    const o = this.open.get(addrKey(village, store));
    if (!o) return undefined;
    const { contiguous: _c, quiet: _q, ...m } = o;
    return { ...m, detail: detailOf(store, m) };
  }

  /** A heartbeat showing the store ahead of what the ledger holds of it. */
  async ahead(db: SqlDb, log: Logger, village: string, store: string, lastAcked: number, contiguous: number, now: Date): Promise<void> {
    const k = addrKey(village, store);
    const next = (await db.query<{ seq: number | string | null }>('SELECT MIN(seq) AS seq FROM acked_ids WHERE village = $1 AND store = $2 AND seq > $3', [village, store, contiguous]))[0]?.seq;
    const to = next === null || next === undefined ? lastAcked : Math.min(lastAcked, Number(next) - 1);
    const was = this.open.get(k);
    if (!was) {
      const o: Open = { from: contiguous + 1, to, last_acked_seq: lastAcked, since: now.toISOString(), stuck: false, contiguous, quiet: 0 };
      this.open.set(k, o);
      log.error({ village, store, last_acked_seq: lastAcked, contiguous_seq: contiguous, missing_from: o.from, missing_to: to }, detailOf(store, o));
      return;
    }
    const quiet = was.contiguous === contiguous ? was.quiet + 1 : 0;
    const stuck = quiet >= STUCK_AFTER;
    Object.assign(was, { from: contiguous + 1, to, last_acked_seq: lastAcked, contiguous, quiet, stuck });
    if (stuck && quiet === STUCK_AFTER) log.error({ village, store, last_acked_seq: lastAcked, contiguous_seq: contiguous, missing_from: was.from, missing_to: to }, detailOf(store, was));
  }

  /** A heartbeat showing the ledger holds everything the store had acknowledged: cleared. */
  level(log: Logger, village: string, store: string, contiguous: number): void {
    const k = addrKey(village, store);
    const was = this.open.get(k);
    if (!was) return;
    this.open.delete(k);
    log.info({ village, store, contiguous_seq: contiguous, since: was.since }, `the rows store ${store} had acknowledged are all at the village ledger again (up to seq ${contiguous}) / 门店 ${store} 已确认的记录已全部回到村账本（至序号 ${contiguous}）`);
  }
}
