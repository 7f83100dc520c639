/**
 * How the store tells its village about its alarms (docs/sync-offline.md, "Alarms"): each raise,
 * acknowledgement or clear on the AlarmBoard publishes the store's alarms again through the sync
 * agent's OpsLink, which keeps the last messages and publishes them again at every reconnect.
 * Used by the daemon (edge/main.ts) and by the tests, so both wire it the same way.
 */
import type { OpsLink } from '../../cloud-sync/agent/ops.ts';
import type { AlarmHistory, AlarmsMessage } from '../../cloud-sync/protocol/ops.ts';
import { alarmHistoryMessage, alarmsMessage } from '../../cloud-sync/agent/ops.ts';
import type { AlarmBoard } from './alarms.ts';

/**
 * Publishes the board's alarms on each change: the active ones (`alarms`) and those that ended
 * lately (`alarm-history`, AlarmBoard.ended). The active list no longer carries the hand clears
 * (`cleared`): the history has them, and a ledger older than that field refused the whole list.
 * Each (re)connect publishes them as they stand then (OpsLink.alarmsFrom): a store restarted
 * while offline sends them at its first connect, not only at its next change.
 */
export function publishAlarmsOnChange(board: AlarmBoard, ops: () => OpsLink, now: () => Date = () => new Date()): void {
  const build = (): { alarms: AlarmsMessage; history: AlarmHistory } => {
    const at = now().toISOString();
    const ended = board.ended();
    return { alarms: alarmsMessage(at, board.active()), history: alarmHistoryMessage(at, ended.since, ended.listed, ended.unlisted) };
  };
  ops().alarmsFrom(build);
  const publish = (): void => {
    const { alarms, history } = build();
    ops().publishAlarms(alarms, history);
  };
  for (const e of ['raised', 'acknowledged', 'cleared'] as const) board.on(e, publish);
}
