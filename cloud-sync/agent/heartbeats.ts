/**
 * The store's heartbeats and the ledger's beats answering them. A beat carries no time of its
 * own, only `answers` (the `at` of the heartbeat it answers), so this is what tells word from
 * the ledger now from a copy of an old beat published again (docs/sync-offline.md, "Offline"):
 *
 * - `fresh`: it answers a heartbeat sent since the reconnect and not answered yet: contact;
 * - `replayed`: it answers a heartbeat already answered (a copy of that beat): refused;
 * - `stale`: it answers a heartbeat not awaited (one from before the reconnect that the broker
 *   kept, one forgotten as too old, an earlier run's): old news, no contact, not refused;
 * - `greeting`: it answers nothing (the ledger just connected): it prompts a heartbeat, whose
 *   fresh answer is the contact.
 */
export type BeatKind = 'fresh' | 'replayed' | 'stale' | 'greeting';

/** Unanswered heartbeats remembered (oldest forgotten first): a lost row is then found by a later beat. */
const MAX_AWAITED = 20;
/** Answered heartbeats remembered, to know a copy of their beat (a day of heartbeats at 30 s is 2,880). */
const MAX_ANSWERED = 5000;

export class Heartbeats {
  /** `sendNo` when each heartbeat still unanswered went out, by its `at`. */
  private readonly awaited = new Map<string, number>();
  private readonly answered = new Set<string>();
  /** A fresh beat has come since the reconnect: the ledger is there now, not only what the broker kept for us. */
  private heard = false;
  /** Heartbeats the broker took since the last answer (a fresh beat or an ack) or the reconnect. */
  private sinceAnswer = 0;

  /** A heartbeat stamped `at` is going out; the drain had sent up to batch `sendNo`. */
  sent(at: string, sendNo: number): void {
    this.awaited.set(at, sendNo);
    this.sinceAnswer++;
    if (this.awaited.size > MAX_AWAITED) this.awaited.delete(this.awaited.keys().next().value!);
  }

  /** The broker did not take it: no answer is coming. */
  unsent(at: string): void {
    if (this.awaited.delete(at)) this.sinceAnswer = Math.max(0, this.sinceAnswer - 1);
  }

  /** An ack came: the ledger reads this store's signature (a beat answering a heartbeat says the same). */
  acked(): void {
    this.sinceAnswer = 0;
  }

  /** Heartbeats sent with no beat nor ack since (or the reconnect): a figure for /api/sync; whether the ledger answers goes by time (./silence.ts). */
  get unanswered(): number {
    return this.sinceAnswer;
  }

  /** After a reconnect only heartbeats sent since count: a beat the broker kept from before may predate what was lost. */
  reconnected(): void {
    this.awaited.clear();
    this.heard = false;
    this.sinceAnswer = 0;
  }

  /**
   * Whether a beat has answered a heartbeat sent since the reconnect. Until then a stream event
   * may be one the broker kept in the session while the line was down, published by a ledger
   * long gone: old word, no contact (docs/sync-offline.md, "Offline").
   */
  get heardSinceReconnect(): boolean {
    return this.heard;
  }

  classify(answers: string | undefined): BeatKind {
    if (answers === undefined) return 'greeting';
    if (this.awaited.has(answers)) return 'fresh';
    return this.answered.has(answers) ? 'replayed' : 'stale';
  }

  /** A fresh beat answered `at`: returns the `sendNo` of the heartbeat; a copy of the beat is then a replay. */
  answer(at: string): number {
    const sendNo = this.awaited.get(at) ?? 0;
    this.heard = true;
    this.sinceAnswer = 0;
    this.awaited.delete(at);
    this.answered.add(at);
    if (this.answered.size > MAX_ANSWERED) this.answered.delete(this.answered.values().next().value!);
    return sendNo;
  }
}
