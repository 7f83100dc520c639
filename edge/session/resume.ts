/**
 * Taking up, at start, the visit a power cut or crash left open (persisted.ts reads it). The
 * read may fail (a transient disk error): the visit is then still open in the ledger but
 * unknown to memory, so the store counts as busy (nobody is let into a store whose last visit
 * is unknown, and the ledger would refuse their admission anyway) and the read is tried again
 * every `retryMs` until it succeeds or finds nothing open.
 */
import type { Logger } from 'pino';
import type { Db } from '../ledger/db.ts';
import { quietUnknown, type MachineTimings, type Visit, type VisitPhase } from './machine.ts';
import { openVisit } from './persisted.ts';
import type { SessionTimers } from './timers.ts';

export interface ResumeDeps {
  db: () => Db;
  logger: Logger;
  timers: SessionTimers;
  /** session.settle_retry_ms, as every other failed effect. */
  retryMs: number;
  /** The store's clock (the runner's), and its timings: a quiet the clock cannot vouch for is logged. */
  now: () => number;
  timings: MachineTimings;
  /** The open visit was read: the runner takes it up. */
  resumed: (r: { visit: Visit; phase: VisitPhase }) => void;
  /** A read failed; it is retried (the runner reports it). */
  failed: (err: unknown) => void;
}

export class ResumeOnStart {
  private waiting = false;

  constructor(private readonly deps: ResumeDeps) {}

  /** Whether the open visit is still to be read (the store is busy meanwhile). */
  get pending(): boolean {
    return this.waiting;
  }

  start(): void {
    this.attempt();
  }

  stop(): void {
    this.waiting = false;
    this.deps.timers.clear('resume');
  }

  private attempt(): void {
    let r: ReturnType<typeof openVisit>;
    try {
      // a visit this daemon cannot read never stops the start: it is closed for review instead
      r = openVisit(this.deps.db(), this.deps.logger, () => new Date(this.deps.now()));
    } catch (err) {
      this.waiting = true;
      this.deps.timers.start('resume', this.deps.retryMs, () => this.attempt());
      this.deps.failed(err);
      return;
    }
    this.waiting = false;
    if (!r) return;
    this.sayClock(r);
    this.deps.resumed(r);
  }

  /** A shopping visit whose quiet the clock cannot vouch for (machine.ts quietUnknown) waits the whole idle timeout: said why. */
  private sayClock(r: { visit: Visit; phase: VisitPhase }): void {
    const phase = r.phase === 'fault' ? r.visit.faultIn : r.phase;
    if (phase !== 'shopping' && phase !== 'restocking') return;
    const now = this.deps.now();
    const why = quietUnknown(r.visit, now, this.deps.timings);
    if (!why) return;
    const quietMs = now - (r.visit.activeAt as number);
    const h = (Math.abs(quietMs) / 3_600_000).toFixed(1);
    this.deps.logger.warn({ event: 'resume_quiet_unknown', sessionId: r.visit.sessionId, villagerId: r.visit.villagerId, activeAt: r.visit.activeAt, now, quietMs, why }, why === 'behind'
      ? `恢复购物时，系统时钟比顾客最后一次活动早 ${h} 小时（时钟被调慢或重置）：无法判断顾客是否已离开，重新等待完整的闲置时间 / on resume the store clock is ${h} h behind the visit's last activity (set back or reset): whether the villager left is unknown, so the whole idle timeout is waited again`
      : `恢复购物时，距顾客最后一次活动已过 ${h} 小时，超过配置允许的最长闲置时间，多半是开机时系统时钟跳变（如时钟电池没电后由网络校时）：无法判断顾客是否已离开，重新等待完整的闲置时间 / on resume the visit's last activity is ${h} h ago, longer than any idle timeout the config allows: most likely the store clock jumped at boot (an RTC reset fixed by NTP, a wrong clock); whether the villager left is unknown, so the whole idle timeout is waited again`);
  }
}
