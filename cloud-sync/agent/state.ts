/** The sync agent's state as /healthz, the admin page and the heartbeat show it (cloud-sync/agent/agent.ts). */
import type { BrokerFailure } from '../mqtt-failure.ts';

export interface SyncState {
  connected: boolean;
  outbox_pending: number;
  last_acked_seq: number;
  inbound_seq: number;
  last_contact: string | null;
  refused: Record<string, number>;
  /** Why the broker could not be reached, while it cannot (a wrong password, an untrusted certificate…). */
  last_error?: BrokerFailure | null;
  /** Heartbeats sent since the last beat or ack of the village ledger, or the reconnect (a figure only: silence goes by time, `unanswered_s`). */
  unanswered_heartbeats?: number;
  /** Seconds connected to the broker with no fresh beat nor ack from the ledger, since its last or the start (./silence.ts; time disconnected does not count). */
  unanswered_s?: number;
  /** Past this many seconds of `unanswered_s` the ledger counts as silent (./silence.ts silentAfterMs). */
  silent_after_s?: number;
}

/** The reason, in both languages, when the ledger has answered nothing for `unansweredS` seconds connected. */
export function silentReason(unansweredS: number): string {
  const s = Math.round(unansweredS);
  return `the village ledger does not answer this store (no beat nor ack for ${s} s while connected): is its public key registered (docs/operations-backups.md)? is the ledger running? / 村账本不应答本店（连线 ${s} 秒无应答）：本店公钥是否已登记？村账本是否在运行？`;
}

/** Connected, yet the ledger has answered nothing for longer than `silent_after_s` of connected time. */
export const ledgerSilent = (s: SyncState): boolean => s.connected && s.silent_after_s !== undefined && (s.unanswered_s ?? 0) > s.silent_after_s;

/** The health board's line for /healthz: degraded while the broker is out of reach, or the ledger does not answer. */
export function healthLine(s: SyncState): { status: 'ok' | 'degraded'; detail: string } {
  const refused = Object.entries(s.refused).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ') || 'none';
  const why = !s.connected && s.last_error ? ` (${s.last_error.reason}: ${s.last_error.message}; ${s.last_error.attempts} attempts since ${s.last_error.since})` : '';
  const silent = ledgerSilent(s);
  const detail = `${s.connected ? 'connected' : 'disconnected'}${why}${silent ? `; ${silentReason(s.unanswered_s ?? 0)}` : ''}; outbox ${s.outbox_pending} pending; last ack seq ${s.last_acked_seq}; inbound seq ${s.inbound_seq}; refused: ${refused}`;
  return { status: s.connected && !silent ? 'ok' : 'degraded', detail };
}
