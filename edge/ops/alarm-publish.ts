/**
 * How the store tells its village about its alarms (docs/sync-protocol.md, "Alarms"): each raise,
 * acknowledgement or clear on the AlarmBoard publishes the store's alarms again through the sync
 * agent's OpsLink, which keeps the last message and publishes it again at every reconnect.
 * Used by the daemon (edge/main.ts) and by the tests, so both wire it the same way.
 */
import type { OpsLink } from '../../cloud-sync/agent/ops.ts';
import { alarmsMessage } from '../../cloud-sync/agent/ops.ts';
import type { AlarmBoard } from './alarms.ts';

/** Publishes the board's alarms on each change; returns the publishing function (to call at start). */
export function publishAlarmsOnChange(board: AlarmBoard, ops: () => OpsLink, now: () => Date = () => new Date()): () => void {
  const publish = (): void => ops().publishAlarms(alarmsMessage(now().toISOString(), board.active(), board.clearedByHand()));
  for (const e of ['raised', 'acknowledged', 'cleared'] as const) board.on(e, publish);
  return publish;
}
