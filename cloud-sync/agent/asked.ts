/**
 * The store's requests for the village stream (`up/snapshot-request`) whose answers have not
 * arrived yet. The store asks again while no answer has come after `sync.retransmit_ms`, so under
 * load two answers can be on their way; the second may arrive after the first has ended the
 * wait, built at a seq the store has since passed. It is still the answer to a question the
 * store asked, so it is an overlap, not a replay (docs/sync-stream.md). Answers are matched
 * to requests by count, oldest first: each request gets exactly one `down/snapshot`, or
 * `down/deltas` messages of which the last reaches `to_seq`, or nothing (a request the ledger
 * dropped by its rate limit, or lost with a broker). A request unanswered for `horizonMs` is
 * forgotten, so a dropped one does not excuse old answers forever.
 */

/** More outstanding requests than this are not remembered (the oldest is forgotten first). */
const MAX_ASKED = 1000;

export class AskedRequests {
  private readonly asked: number[] = [];

  constructor(private readonly horizonMs: number) {}

  /** A request went out at `nowMs`. */
  add(nowMs: number): void {
    this.asked.push(nowMs);
    if (this.asked.length > MAX_ASKED) this.asked.shift();
  }

  /** Whether an answer to one of our requests may still be on its way at `nowMs`. */
  owed(nowMs: number): boolean {
    this.expire(nowMs);
    return this.asked.length > 0;
  }

  /** A complete answer arrived: the oldest outstanding request is answered. */
  answered(nowMs: number): void {
    this.expire(nowMs);
    this.asked.shift();
  }

  get size(): number {
    return this.asked.length;
  }

  private expire(nowMs: number): void {
    while (this.asked.length > 0 && nowMs - this.asked[0]! >= this.horizonMs) this.asked.shift();
  }
}
