import { REFUSAL_REASONS, type RefusalReason } from './payloads.ts';

/** Refused messages counted by reason; reported in heartbeats, /healthz and the ledger API. */
export class RefusalCounter {
  private readonly counts = new Map<RefusalReason, number>(REFUSAL_REASONS.map((r) => [r, 0]));

  add(reason: RefusalReason): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
  }

  get(reason: RefusalReason): number {
    return this.counts.get(reason) ?? 0;
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  toJSON(): Record<RefusalReason, number> {
    return Object.fromEntries(this.counts) as Record<RefusalReason, number>;
  }
}
