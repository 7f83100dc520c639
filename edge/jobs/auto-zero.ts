/**
 * The nightly scale auto-zero. A load cell's zero drifts with temperature and time; the
 * driver absorbs small drift and reports larger drift (`zero_drift`), but only something that
 * knows the stock may zero a slot. This job does, while the store has been empty for a while:
 * each slot that is healthy, stable, empty according to the ledger's stock and reads close to
 * (but not at) zero is zeroed. Every other slot is skipped with its reason; each slot's outcome
 * is logged. A villager who comes in meanwhile stops the run: the remaining slots are skipped.
 */
import type { Logger } from '../log.ts';
import type { Db } from '../ledger/db.ts';
import { lastSessionActivity, slotStocks } from '../ledger/ops-queries.ts';
import type { SlotStatus } from '../../drivers/index.ts';
import type { Job } from './runner.ts';
import type { JobsConfig } from './config.ts';

export interface AutoZeroDeps {
  config: JobsConfig['auto_zero'];
  db: () => Db;
  scales: () => { status(): SlotStatus[]; zero(slot: string): Promise<void> };
  /** The session engine's phase: `idle` when nobody is in the store. */
  phase: () => string;
  log: Logger;
}

export type SlotOutcome = 'zeroed' | 'at_zero' | 'not_healthy' | 'not_stable' | 'not_empty' | 'load_on_empty_slot' | 'store_busy' | 'failed';

export function autoZeroJob(d: AutoZeroDeps): Job {
  const c = d.config;
  return {
    name: 'auto_zero',
    cron: c.cron,
    async run(now) {
      if (d.phase() !== 'idle') return `skipped: the store is in use (${d.phase()}) / 店内有人，跳过归零`;
      const last = lastSessionActivity(d.db());
      if (last && now.getTime() - Date.parse(last) < c.empty_for_min * 60_000) {
        return `skipped: the store was in use at ${last}, less than ${c.empty_for_min} min ago / 门店使用不足 ${c.empty_for_min} 分钟前结束，跳过归零`;
      }
      const stock = slotStocks(d.db());
      const counts = new Map<SlotOutcome, number>();
      for (const s of d.scales().status()) {
        let outcome: SlotOutcome;
        let why = '';
        const held = stock.get(s.slot);
        if (d.phase() !== 'idle') outcome = 'store_busy';
        else if (s.health !== 'ok') [outcome, why] = ['not_healthy', s.health];
        else if (s.stable_g === null) outcome = 'not_stable';
        else if (held === undefined || held > 0) [outcome, why] = ['not_empty', held === undefined ? 'no slot in the ledger' : `stock ${held}`];
        else if (Math.abs(s.stable_g) > c.max_offset_g) [outcome, why] = ['load_on_empty_slot', `${s.stable_g} g on a slot whose stock is 0`];
        else if (Math.abs(s.stable_g) <= c.min_offset_g) [outcome, why] = ['at_zero', `${s.stable_g} g`];
        else {
          try {
            await d.scales().zero(s.slot);
            [outcome, why] = ['zeroed', `was ${s.stable_g} g`];
          } catch (err) {
            [outcome, why] = ['failed', (err as Error).message];
          }
        }
        counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
        const level = outcome === 'failed' || outcome === 'load_on_empty_slot' ? 'warn' : 'info';
        d.log[level]({ event: 'auto_zero_slot', slot: s.slot, outcome, why, stable_g: s.stable_g, drift_g: s.drift_g }, `auto-zero ${s.slot}: ${outcome}${why ? ` (${why})` : ''} / 自动归零 ${s.slot}: ${ZH[outcome]}`);
      }
      const summary = [...counts].map(([o, n]) => `${n} ${o}`).join(', ') || 'no scales';
      if ((counts.get('failed') ?? 0) > 0) throw new Error(`auto-zero could not zero every slot: ${summary}`);
      return summary;
    },
  };
}

const ZH: Record<SlotOutcome, string> = {
  zeroed: '已归零', at_zero: '已在零点', not_healthy: '秤异常，跳过', not_stable: '读数不稳定，跳过', not_empty: '有库存，跳过',
  load_on_empty_slot: '库存为零但有重量，请检查', store_busy: '店内有人，跳过', failed: '归零失败',
};
