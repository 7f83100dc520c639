/**
 * The session machine's named timers (machine.ts `start_timer` / `clear_timer`): at most one
 * of each name runs; starting one again replaces it.
 */
import type { TimerName } from './machine.ts';

export class SessionTimers {
  private readonly running = new Map<TimerName, NodeJS.Timeout>();

  /** Starts `timer` (replacing one of that name); `fire` runs once it has ended and is forgotten. */
  start(timer: TimerName, ms: number, fire: () => void): void {
    this.clear(timer);
    this.running.set(timer, setTimeout(() => {
      this.running.delete(timer);
      fire();
    }, ms));
  }

  clear(timer: TimerName): void {
    const t = this.running.get(timer);
    if (t) clearTimeout(t);
    this.running.delete(timer);
  }

  clearAll(): void {
    for (const t of this.running.values()) clearTimeout(t);
    this.running.clear();
  }
}
