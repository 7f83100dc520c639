/**
 * The session machine's named timers (machine.ts `start_timer` / `clear_timer`), and the
 * runner's own `resume` (resume.ts): at most one of each name runs; starting one again replaces it.
 */
import type { SessionEvent, TimerName } from './machine.ts';

export type EngineTimer = TimerName | 'resume';

export class SessionTimers {
  private readonly running = new Map<EngineTimer, NodeJS.Timeout>();

  /** Starts `timer` (replacing one of that name); `fire` runs once it has ended and is forgotten. */
  start(timer: EngineTimer, ms: number, fire: () => void): void {
    this.clear(timer);
    this.running.set(timer, setTimeout(() => {
      this.running.delete(timer);
      fire();
    }, ms));
  }

  clear(timer: EngineTimer): void {
    const t = this.running.get(timer);
    if (t) clearTimeout(t);
    this.running.delete(timer);
  }

  clearAll(): void {
    for (const t of this.running.values()) clearTimeout(t);
    this.running.clear();
  }
}

/**
 * What a timer's end tells the machine; `shelvesTouched` and `doorOverridden` (the door sensor
 * override holds, or held during this visit: its opening may not have been seen) are asked only
 * when entering ends.
 */
export function timerEvent(timer: TimerName, now: number, shelvesTouched: () => boolean, doorOverridden: () => boolean = () => false): SessionEvent {
  switch (timer) {
    case 'entering':
      return { type: 'entering_timeout', shelvesTouched: shelvesTouched(), doorOverridden: doorOverridden() };
    case 'idle':
      return { type: 'idle_timeout', at: now };
    case 'stability':
      return { type: 'stability_timeout' };
    case 'scales':
      return { type: 'scales_timeout' };
    case 'retry':
      return { type: 'retry', now };
  }
}
