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
}

/** The health board's line for /healthz: degraded while the broker is out of reach. */
export function healthLine(s: SyncState): { status: 'ok' | 'degraded'; detail: string } {
  const refused = Object.entries(s.refused).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ') || 'none';
  const why = !s.connected && s.last_error ? ` (${s.last_error.reason}: ${s.last_error.message}; ${s.last_error.attempts} attempts since ${s.last_error.since})` : '';
  const detail = `${s.connected ? 'connected' : 'disconnected'}${why}; outbox ${s.outbox_pending} pending; last ack seq ${s.last_acked_seq}; inbound seq ${s.inbound_seq}; refused: ${refused}`;
  return { status: s.connected ? 'ok' : 'degraded', detail };
}
