/** A long-lived part of the daemon: the constructor only stores its arguments; I/O in start/stop. */
export interface Part {
  readonly name: string;
  /** A critical part that fails to start stops the daemon; others leave it running degraded. */
  readonly critical: boolean;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export type PartHealth = 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped';

/**
 * Something that makes the store serve villagers wrongly, not merely with less comfort: a
 * ledger write that failed (a full disk), a session in fault. A fault turns the report's
 * status to `fault` and /healthz to 503 until its source clears it.
 */
export interface HealthFault {
  source: string;
  /** An ErrorCode (DB_FULL, DB_IO…) or the fault's own name. */
  code: string;
  detail: string;
  /** When this fault was first reported (ISO time); repeats keep it. */
  since: string;
}

export interface HealthReport {
  /** `degraded`: something is missing (a camera, a scale) but what works is right; `fault`: see HealthFault. */
  status: 'ok' | 'degraded' | 'fault' | 'starting' | 'stopping';
  parts: Record<string, { health: PartHealth; detail?: string }>;
  faults: HealthFault[];
}

/** Parts report their own degradations (a port unplugged, a camera gone) and faults here. */
export class HealthBoard {
  private readonly parts = new Map<string, { health: PartHealth; detail?: string }>();
  private readonly faults = new Map<string, HealthFault>();
  private phase: 'starting' | 'running' | 'stopping' = 'starting';

  constructor(private readonly now: () => number = Date.now) {}

  /** Report (or repeat) a fault of `source`; the latest code and detail are kept, `since` is not. */
  fault(source: string, code: string, detail: string): void {
    const since = this.faults.get(source)?.since ?? new Date(this.now()).toISOString();
    this.faults.set(source, { source, code, detail, since });
  }

  /** `source` works again (its next write succeeded, the session settled). */
  clearFault(source: string): void {
    this.faults.delete(source);
  }

  set(name: string, health: PartHealth, detail?: string): void {
    this.parts.set(name, detail === undefined ? { health } : { health, detail });
  }

  setPhase(phase: 'starting' | 'running' | 'stopping'): void {
    this.phase = phase;
  }

  report(): HealthReport {
    const parts = Object.fromEntries(this.parts);
    const faults = [...this.faults.values()];
    if (this.phase !== 'running') return { status: this.phase, parts, faults };
    if (faults.length > 0) return { status: 'fault', parts, faults };
    const bad = [...this.parts.values()].some((p) => p.health !== 'ok');
    return { status: bad ? 'degraded' : 'ok', parts, faults };
  }
}
