/**
 * The daemon's event contract: what its parts emit, by one name each. Every one of these is
 * logged with an `event` field of that name (the scenario observer and log tooling read them),
 * and `DaemonEventRelay` forwards them to one typed emitter.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from './log.ts';
import type { EntryDecision, FrameReport } from './entry/pipeline.ts';
import type { Receipt, Announcement } from './session/receipt.ts';
import type { StateChange, CartView } from './session/engine.ts';

export interface DaemonEvents {
  /** The door decided (admitted or refused, with the reason). */
  entry_decision: [EntryDecision];
  /** A camera frame went through the door's hot loop (per-stage times; not logged). */
  entry_frame: [FrameReport];
  /** A session was settled. */
  receipt: [Receipt];
  /** Something was said at the door (busy, debt, goodbye). */
  announce: [Announcement];
  /** The session machine changed phase. */
  session_state: [StateChange];
  /** The live cart changed. */
  cart: [CartView];
  /** A part could not do its work (a write, a frame, an unlock); it retries or degrades. */
  fault: [{ source: string; where: string; message: string }];
  /** A shelf changed with nobody in the store. */
  alarm: [{ kind: 'unattended_shelf'; slot: string; deltaG: number; at: number }];
}

export type DaemonEventName = keyof DaemonEvents;

/**
 * Forwards part events under the contract's names and logs those that the parts do not log
 * themselves. `stop()` removes every listener it added, so a stopped daemon holds no part.
 */
export class DaemonEventRelay extends EventEmitter<DaemonEvents> {
  private readonly detach: Array<() => void> = [];

  constructor(private readonly log: Logger) {
    super();
  }

  /** Listen to `source`'s `from` and re-emit it as `to`; `logged` logs it with `event: to`. */
  forward<E extends Record<keyof E, unknown[]>, K extends keyof E & string, T extends DaemonEventName>(
    source: EventEmitter<E>,
    from: K,
    to: T,
    map: (...args: E[K]) => DaemonEvents[T][0],
    logged?: (payload: DaemonEvents[T][0]) => { fields: Record<string, unknown>; msg: string },
  ): void {
    const listener = (...args: E[K]): void => {
      try {
        const payload = map(...args);
        if (logged) {
          const { fields, msg } = logged(payload);
          this.log.info({ event: to, ...fields }, msg);
        }
        (this.emit as (e: T, p: DaemonEvents[T][0]) => boolean)(to, payload);
      } catch (err) {
        // a listener's mistake must not reach the part that emitted
        this.log.error({ err, event: to }, 'daemon event listener failed / 事件处理失败');
      }
    };
    // node's typed emitter cannot relate a generic key to its listener type; `forward`'s own signature does
    const untyped = source as unknown as { on(e: string, l: (...a: E[K]) => void): unknown; off(e: string, l: (...a: E[K]) => void): unknown };
    untyped.on(from, listener);
    this.detach.push(() => untyped.off(from, listener));
  }

  /** Remove every listener this relay added to the parts. */
  stop(): void {
    while (this.detach.length > 0) this.detach.pop()!();
  }
}
