/**
 * The daily reconciliation with the village ledger. The store's totals per villager — entries
 * it made (origin other than `ledger`), their net points, points redeemed, settled sessions —
 * over a window are compared with the ledger's totals for this store over the same window
 * (asked over MQTT: `up/reconcile-request`, answered signed on `down/reconcile`; see
 * docs/sync-offline.md#reconciliation). A difference raises the `reconcile_mismatch` alarm naming the
 * villagers; a matching run clears it.
 *
 * The window ends at the run, or earlier at the oldest outbox row the ledger has not
 * acknowledged: rows still on their way would show as differences that are not.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../ledger/db.ts';
import { outboxBacklog, storeWindowTotals } from '../ledger/ops-queries.ts';
import type { AlarmBoard } from '../ops/alarms.ts';
import type { ReconcileAnswer, ReconcileRequest, VillagerTotals } from '../../cloud-sync/protocol/ops.ts';
import type { Job } from './runner.ts';
import type { JobsConfig } from './config.ts';

export interface ReconcileDeps {
  config: JobsConfig['reconcile'];
  db: () => Db;
  /** The sync agent's request (cloud-sync/agent/ops.ts). */
  ask: (req: ReconcileRequest, timeoutMs: number) => Promise<ReconcileAnswer>;
  alarms?: AlarmBoard;
}

/** At most this many villagers are named in the alarm (the rest are counted). */
const NAMED_MAX = 20;

/** The store's totals (edge/ledger/ops-queries.ts). */
export const storeTotals = storeWindowTotals;

export interface Difference {
  villager: string;
  store: Omit<VillagerTotals, 'villager'>;
  ledger: Omit<VillagerTotals, 'villager'>;
}

export function compareTotals(store: readonly VillagerTotals[], ledger: readonly VillagerTotals[]): Difference[] {
  const zero = { entries: 0, points: 0, redeemed: 0, sessions: 0 };
  const strip = ({ villager: _v, ...t }: VillagerTotals) => t;
  const s = new Map(store.map((t) => [t.villager, strip(t)]));
  const l = new Map(ledger.map((t) => [t.villager, strip(t)]));
  const out: Difference[] = [];
  for (const v of [...new Set([...s.keys(), ...l.keys()])].sort()) {
    const a = s.get(v) ?? zero;
    const b = l.get(v) ?? zero;
    if (a.entries !== b.entries || a.points !== b.points || a.redeemed !== b.redeemed || a.sessions !== b.sessions) out.push({ villager: v, store: a, ledger: b });
  }
  return out;
}

const fmt = (t: Difference['store']) => `${t.entries} entries ${t.points} pts, redeemed ${t.redeemed}, ${t.sessions} sessions`;

/** The window [from, to) of a run at `now`. */
export function reconcileWindow(db: Db, now: Date, hours: number): { from: string; to: string } {
  const oldest = outboxBacklog(db).oldest;
  const to = oldest !== null && oldest < now.toISOString() ? oldest : now.toISOString();
  return { from: new Date(Date.parse(to) - hours * 3_600_000).toISOString(), to };
}

export function reconcileJob(d: ReconcileDeps): Job {
  return {
    name: 'reconcile',
    cron: d.config.cron,
    async run(now) {
      const { from, to } = reconcileWindow(d.db(), now, d.config.window_hours);
      // unique per question, so an answer recorded from an earlier run cannot answer this one
      const answer = await d.ask({ id: `rec-${now.getTime()}-${randomBytes(6).toString('hex')}`, from, to }, d.config.timeout_s * 1000);
      const diffs = compareTotals(storeTotals(d.db(), from, to), answer.villagers);
      if (diffs.length === 0) {
        if (d.alarms?.isActive('reconcile_mismatch', 'village ledger')) d.alarms.clear('reconcile_mismatch', 'village ledger');
        return `${from} – ${to}: store and village ledger agree (${answer.villagers.length} villagers)`;
      }
      const named = diffs.slice(0, NAMED_MAX).map((x) => `${x.villager} (store ${fmt(x.store)}; ledger ${fmt(x.ledger)})`).join('; ');
      const more = diffs.length > NAMED_MAX ? ` and ${diffs.length - NAMED_MAX} more` : '';
      const names = diffs.slice(0, NAMED_MAX).map((x) => x.villager).join('、');
      const detail = `${from} – ${to}: ${diffs.length} villagers differ: ${named}${more} / 对账不一致的村民：${names}${more ? ` 等 ${diffs.length} 人` : ''}`;
      // each run that disagrees is a finding of its own, so an acknowledgement of yesterday's does not hide it
      d.alarms?.raise('reconcile_mismatch', 'village ledger', detail, 'critical', { occurrence: true });
      return detail;
    },
  };
}
