/**
 * The store's clock against the ledger's, as the stream shows it: a stream event issued further
 * in the future than `sync.clock_skew_s` is refused (invalid). One such refusal may be a single
 * odd message; `STREAK` running, with none accepted between, means this store's clock is slow
 * and it cannot read the stream at all: logged as an error (both languages) and raised as the
 * `clock_skew` alarm, cleared by the next event whose time is accepted.
 *
 * The mirror case, a clock that runs ahead: the ledger refuses every batch the store signs later
 * than its own time plus its fixed bound (DEFAULT_SKEW_MS, 5 minutes: not `sync.clock_skew_s`,
 * which is the store's side) as issued in the future, and says nothing the store could read,
 * while its beats keep coming. So
 * a fresh beat that finds a row of this store first sent `sync.offline_after_s` ago or more
 * (since the connection came up), before the heartbeat the beat answers, and still
 * unacknowledged raises the same alarm (`ownRows`); the next fresh beat that finds none that old
 * clears it. A row's age is not the measure: after an outage the backlog is old, and merely
 * waiting its turn to be sent or handled. The alarm stands while either condition holds.
 *
 * The alarm is kept in the store's ledger: one raised by an earlier run of the daemon (its clock
 * set right, then restarted) is not known at start (`told` undefined). It is cleared by evidence,
 * in this run, against the condition that raised it (read from its text, `standing`): a stream
 * event accepted (the clock not slow), or the ledger acknowledging rows this run sent (`acked`:
 * the ledger took their signatures' time, so the clock is not fast); both when its text names
 * neither. A fresh beat that finds no row stuck is no such evidence here: at a connection every
 * row's first sending starts again, so right after a restart no row has waited long enough, with
 * the clock as wrong as before (a review found the alarm cleared at the first beat that way).
 * Nothing clears it while either condition holds in this run (clearing an alarm that is not
 * raised leaves it be), and a condition that still holds raises it again by its own evidence
 * (3 events refused; a fresh beat finding a row stuck).
 */
import type { Logger } from '../../edge/log.ts';
import { ageWithin } from '../../edge/ledger/sync-state.ts';
import { DEFAULT_SKEW_MS } from '../protocol/clock.ts';

/** What the maintainer does about either: the PC's clock is set, never the bound. */
const SET_CLOCK = {
  en: "Set this PC's clock right: timedatectl set-ntp true (NTP), then check with store-edge doctor (row clock)",
  zh: '请校准本机时间：timedatectl set-ntp true（NTP 自动校时），再用 store-edge doctor 检查（clock 一行）',
};

/** Words of each condition's alarm text, by which a standing alarm from an earlier run is known. */
const SLOW_MARK = 'issued in the future (the last';
const FAST_MARK = 'has acknowledged none of the rows';

/** Refusals running that make the alarm. */
export const STREAK = 3;

export interface ClockSkewDeps {
  log: Logger;
  /** The `clock_skew` alarm raised (`detail`) or cleared (undefined); absent: only logged. */
  alarm?: ((detail: string | undefined) => void) | undefined;
  /** The text of the alarm standing now (an earlier run's), undefined when none; absent: none is kept (the first evidence clears, a no-op). */
  standing?: (() => string | undefined) | undefined;
}

export class ClockSkewWatch {
  private streak = 0;
  /** The stream refused as from the future (the store's clock slow). */
  private slow = false;
  /** Own rows sent and unacknowledged for offline_after_s while the ledger answers (the store's clock fast, most likely). */
  private fast = false;
  /** What the alarm was last told (raised or cleared); undefined at start: an earlier run's may stand. */
  private told: boolean | undefined = undefined;
  /** Evidence in this run that the clock is not slow (a stream event accepted) and not fast (own rows acknowledged). */
  private readonly shownWell = { slow: false, fast: false };

  constructor(private readonly deps: ClockSkewDeps) {}

  /** The alarm is raised: the stream refused, or own rows unacknowledged while the ledger answers. */
  get raised(): boolean {
    return this.slow || this.fast;
  }

  /** An event issued at `issuedAt` was refused as from the future at the store's `now`. */
  fromFuture(issuedAt: string, now: string): void {
    this.streak++;
    if (this.streak < STREAK || this.slow) return;
    const aheadS = Math.round((Date.parse(issuedAt) - Date.parse(now)) / 1000);
    const detail = `${this.streak} village stream events running were issued in the future (the last ${aheadS} s ahead of this store's clock, ${now}, beyond sync.clock_skew_s): the store's clock is slow and it cannot apply the stream. ${SET_CLOCK.en} / 连续 ${this.streak} 条村级消息的签发时间晚于本店时钟（最近一条快 ${aheadS} 秒，超出 sync.clock_skew_s）：本店时钟偏慢，无法接收村账本的更新。${SET_CLOCK.zh}`;
    this.deps.log.error({ streak: this.streak, issued_at: issuedAt, now }, `store clock behind the village ledger: ${detail}`);
    this.set('slow', true, detail);
  }

  /** An event's time was accepted: the clocks agree again. */
  accepted(): void {
    this.streak = 0;
    this.shownWell.slow = true;
    this.set('slow', false);
  }

  /** The ledger acknowledged rows this run sent: it took their time, so the clock is not fast (evidence only for an earlier run's alarm). */
  acked(): void {
    if (this.shownWell.fast) return;
    this.shownWell.fast = true;
    if (this.told === undefined && !this.raised) this.set('fast', false);
  }

  /**
   * A fresh beat came (the ledger answers) at the store's `now`; `oldest`: when the row of this
   * store longest in flight was first sent since the connection came up, among those the ledger
   * had before the heartbeat the beat answers (null: none; ./rows.ts, `oldestInFlight`).
   * Sent `afterMs` ago and still unacknowledged (or sent later than now beyond the skew: a clock
   * set back) raises the alarm; otherwise it clears.
   */
  ownRows(oldest: string | null, now: string, afterMs: number, skewMs: number): void {
    const stuck = oldest !== null && !ageWithin(Date.parse(now) - Date.parse(oldest), afterMs, skewMs);
    if (!stuck) return this.set('fast', false);
    if (this.fast) return;
    const ageS = Math.round((Date.parse(now) - Date.parse(oldest)) / 1000);
    const aheadMin = DEFAULT_SKEW_MS / 60_000;
    const detail = `the village ledger answers, yet has acknowledged none of the rows this store has been sending it since ${oldest} (${ageS} s by this store's clock, ${now}): the store's clock is most likely more than ${aheadMin} minutes ahead of the ledger's, and the ledger refuses every batch signed later than its own time plus ${aheadMin} minutes as issued in the future (a fixed bound of the ledger; sync.clock_skew_s is only how far this store trusts the ledger's clock); the store is held to the offline limit. ${SET_CLOCK.en} / 村账本有应答，但自 ${oldest}（按本店时钟已 ${ageS} 秒）起没有确认本店发送的任何记录：本店时钟很可能比村账本快 ${aheadMin} 分钟以上，村账本把签发时间晚于其当前时间加 ${aheadMin} 分钟的记录都当作来自未来而拒收（这是村账本固定的界限；sync.clock_skew_s 只是本店对村账本时钟的容忍度）；本店按离线额度限制兑换。${SET_CLOCK.zh}`;
    this.deps.log.error({ oldest_unacked: oldest, now }, `store clock ahead of the village ledger: ${detail}`);
    this.set('fast', true, detail);
  }

  /** A condition raised (with its `detail`) or found well: the alarm cleared once neither holds, or at the first evidence if an earlier run's may stand. */
  private set(which: 'slow' | 'fast', on: boolean, detail?: string): void {
    if (this[which] === on && (on || this.told !== undefined)) return;
    this[which] = on;
    if (on) {
      this.told = true;
      return this.alarm(detail);
    }
    if (this.raised || this.told === false) return;
    if (this.told === undefined && !this.earlierRunsShownWell()) return;
    if (this.told) this.deps.log.info({}, 'the store clock agrees with the village ledger again / 本店时钟已与村账本一致');
    this.told = false;
    this.alarm(undefined);
  }

  /** Whether this run has shown well the condition that raised the alarm standing from an earlier run (none standing: nothing to show). */
  private earlierRunsShownWell(): boolean {
    let text: string | undefined;
    try {
      text = this.deps.standing?.();
    } catch {
      text = ''; // not readable: whatever stands is cleared only when both conditions have shown well
    }
    if (text === undefined) return true;
    const slow = text.includes(SLOW_MARK);
    const fast = text.includes(FAST_MARK);
    if (slow && !fast) return this.shownWell.slow;
    if (fast && !slow) return this.shownWell.fast;
    return this.shownWell.slow && this.shownWell.fast;
  }

  private alarm(detail: string | undefined): void {
    try {
      this.deps.alarm?.(detail);
    } catch (err) {
      this.deps.log.error({ err }, detail === undefined ? 'cannot clear the clock alarm / 无法清除时钟告警' : 'cannot raise the clock alarm / 无法发出时钟告警');
    }
  }
}
