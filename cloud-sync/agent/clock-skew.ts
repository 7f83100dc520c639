/**
 * The store's clock against the ledger's, as the stream shows it: a stream event issued further
 * in the future than `sync.clock_skew_s` is refused (invalid). One such refusal may be a single
 * odd message; `STREAK` running, with none accepted between, means this store's clock is slow
 * and it cannot read the stream at all: logged as an error (both languages) and raised as the
 * `clock_skew` alarm, cleared by the next event whose time is accepted.
 */
import type { Logger } from '../../edge/log.ts';

/** Refusals running that make the alarm. */
export const STREAK = 3;

export interface ClockSkewDeps {
  log: Logger;
  /** The `clock_skew` alarm raised (`detail`) or cleared (undefined); absent: only logged. */
  alarm?: ((detail: string | undefined) => void) | undefined;
}

export class ClockSkewWatch {
  private streak = 0;
  private raised = false;

  constructor(private readonly deps: ClockSkewDeps) {}

  /** An event issued at `issuedAt` was refused as from the future at the store's `now`. */
  fromFuture(issuedAt: string, now: string): void {
    this.streak++;
    if (this.streak < STREAK || this.raised) return;
    this.raised = true;
    const aheadS = Math.round((Date.parse(issuedAt) - Date.parse(now)) / 1000);
    const detail = `${this.streak} village stream events running were issued in the future (the last ${aheadS} s ahead of this store's clock, ${now}): the store's clock is slow and it cannot apply the stream / 连续 ${this.streak} 条村级消息的签发时间晚于本店时钟（最近一条快 ${aheadS} 秒）：本店时钟偏慢，无法接收村账本的更新`;
    this.deps.log.error({ streak: this.streak, issued_at: issuedAt, now }, `store clock behind the village ledger: ${detail}`);
    try {
      this.deps.alarm?.(detail);
    } catch (err) {
      this.deps.log.error({ err }, 'cannot raise the clock alarm / 无法发出时钟告警');
    }
  }

  /** An event's time was accepted: the clocks agree again. */
  accepted(): void {
    this.streak = 0;
    if (!this.raised) return;
    this.raised = false;
    this.deps.log.info({}, 'the store clock agrees with the village ledger again / 本店时钟已与村账本一致');
    try {
      this.deps.alarm?.(undefined);
    } catch (err) {
      this.deps.log.error({ err }, 'cannot clear the clock alarm / 无法清除时钟告警');
    }
  }
}
