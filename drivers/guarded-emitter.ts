/**
 * The drivers' event emitter. A driver emits from its own poll loop or port callback; with
 * Node's plain emit a listener that throws would unwind into that loop (stopping the lock's
 * input polling, aborting a scale sweep half way) or, from an async listener, become an
 * unhandled rejection that ends the process. `fire` calls each listener on its own: a throw
 * or a rejected promise is logged with the event's name and the next listener still runs.
 * Drivers emit through `fire` only.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

export class GuardedEmitter<T extends Record<keyof T, unknown[]>> extends EventEmitter<T> {
  constructor(protected readonly log: Logger) {
    super();
  }

  /** Calls every listener of `event` in order; returns whether there was any. Never throws. */
  protected fire<K extends keyof T & string>(event: K, ...args: T[K]): boolean {
    // rawListeners keeps the once() wrappers, so calling one also removes it, as emit would
    const listeners = (this as unknown as EventEmitter).rawListeners(event) as Array<(...a: unknown[]) => unknown>;
    for (const listener of listeners) {
      try {
        const result = listener.apply(this, args);
        if (result instanceof Promise) result.catch((err: unknown) => this.listenerFailed(event, err));
      } catch (err) {
        this.listenerFailed(event, err);
      }
    }
    return listeners.length > 0;
  }

  private listenerFailed(event: string, err: unknown): void {
    try {
      this.log.error({ err, event }, `a listener of '${event}' failed; the driver carries on`);
    } catch {
      // a logger that throws must not take the poll loop down either
    }
  }
}
