/**
 * How long the village ledger has left this store without an answer (a fresh beat answering a
 * heartbeat, or an ack) while the store was connected to the broker: past `silentAfterMs` the
 * ledger does not answer it (state.ts `ledgerSilent`: the sync health line degraded, the
 * `ledger_silent` alarm). Time, not heartbeats counted: heartbeats also go out at each reconnect,
 * at a ledger's greeting and when the stream is checked, so a count said "silent" after a few
 * seconds of a broker flapping or at a small `sync.heartbeat_s`.
 *
 * Only connected time counts: while the broker is out of reach the store is offline (another
 * status, its own health line), not unanswered; a reconnect neither starts the count again (a
 * broker that flaps every few seconds in front of a silent ledger would never say so) nor counts
 * the time away. The first answer sets it back to 0, so once raised and cleared the alarm comes
 * again only after a whole bound of silence. Times are the agent's clock (ms); a clock set back
 * counts as no time passed.
 */

/** Heartbeat periods with no answer before the ledger counts as silent (a lost message, a busy ledger). */
export const SILENT_PERIODS = 3;
/**
 * The least silence that counts, whatever `sync.heartbeat_s`: a beat comes back within a second
 * or two, but a ledger answering dozens of stores after a broker restart, or a broker flapping,
 * may keep a small heartbeat period waiting a few times over.
 */
export const SILENT_FLOOR_MS = 60_000;

/** Connected this long with no answer, the ledger is silent: 3 heartbeat periods, at least a minute (90 s at the default heartbeat_s 30). */
export const silentAfterMs = (heartbeatS: number): number => Math.max(SILENT_PERIODS * heartbeatS * 1000, SILENT_FLOOR_MS);

export class LedgerSilence {
  /** Connected time with no answer before the current connection (or before `since`). */
  private banked = 0;
  /** From when the current connection counts (its start, or the last answer); undefined while disconnected. */
  private since: number | undefined;

  connected(now: number): void {
    this.since ??= now;
  }

  disconnected(now: number): void {
    if (this.since === undefined) return;
    this.banked += Math.max(0, now - this.since);
    this.since = undefined;
  }

  /** A fresh beat or an ack: the ledger answers. */
  answered(now: number): void {
    this.banked = 0;
    if (this.since !== undefined) this.since = now;
  }

  /** Connected time (ms) since the last answer, or since start when none came yet. */
  silentMs(now: number): number {
    return this.banked + (this.since === undefined ? 0 : Math.max(0, now - this.since));
  }
}
