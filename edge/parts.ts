/** A long-lived part of the daemon: the constructor only stores its arguments; I/O in start/stop. */
export interface Part {
  readonly name: string;
  /** A critical part that fails to start stops the daemon; others leave it running degraded. */
  readonly critical: boolean;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export type PartHealth = 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'starting' | 'stopping';
  parts: Record<string, { health: PartHealth; detail?: string }>;
}

/** Parts report their own degradations (a port unplugged, a camera gone) here. */
export class HealthBoard {
  private readonly parts = new Map<string, { health: PartHealth; detail?: string }>();
  private phase: 'starting' | 'running' | 'stopping' = 'starting';

  set(name: string, health: PartHealth, detail?: string): void {
    this.parts.set(name, detail === undefined ? { health } : { health, detail });
  }

  setPhase(phase: 'starting' | 'running' | 'stopping'): void {
    this.phase = phase;
  }

  report(): HealthReport {
    const parts = Object.fromEntries(this.parts);
    if (this.phase !== 'running') return { status: this.phase, parts };
    const bad = [...this.parts.values()].some((p) => p.health !== 'ok');
    return { status: bad ? 'degraded' : 'ok', parts };
  }
}
