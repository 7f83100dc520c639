/** The alarms' slice of the config: how often conditions are checked and where they trip. */
import { Type, type Static } from '@sinclair/typebox';

export const AlarmsConfigSchema = Type.Object({
  enabled: Type.Boolean({ default: true, description: 'Watch for alarm conditions (lock not confirmed, scale fault, camera gone, disk nearly full, outbox growing, clock jump, job failed, door held open, a shelf changed with nobody in the store) and keep them in the ledger, on GET /api/alarms, /metrics and MQTT' }),
  check_s: Type.Integer({ minimum: 1, maximum: 3600, default: 10, description: 'Seconds between two checks of the conditions' }),
  disk_free_min_mb: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 1024, description: 'Free space on the data folder\'s disk under which the disk alarm is raised (MiB); under a quarter of it the alarm is critical' }),
  outbox_pending_max: Type.Integer({ minimum: 1, maximum: 100_000_000, default: 1000, description: 'Rows waiting for the village ledger at or above which the outbox alarm is raised' }),
  outbox_age_max_min: Type.Integer({ minimum: 1, maximum: 100_000, default: 60, description: 'Minutes the oldest row may wait for the village ledger\'s acknowledgement before the outbox alarm is raised' }),
  clock_jump_s: Type.Integer({ minimum: 1, maximum: 86_400, default: 120, description: 'A wall-clock step larger than this many seconds between two checks (against the monotonic clock) raises the clock alarm' }),
  clock_jump_clear_min: Type.Integer({ minimum: 1, maximum: 100_000, default: 60, description: 'The clock alarm clears after this many minutes without another jump' }),
  door_open_s: Type.Integer({ minimum: 0, maximum: 86_400, default: 60, description: 'Seconds the door contact may stand open before the door_open alarm is raised (a door propped open or not latched lets anyone in unseen); it clears when the door closes. 0: no such alarm' }),
  keep_days: Type.Integer({ minimum: 1, maximum: 3650, default: 180, description: 'Cleared alarms older than this many days are deleted by the retention job' }),
}, { additionalProperties: false, default: {}, description: 'Alarms: conditions a maintainer or the village must see' });

export type AlarmsConfig = Static<typeof AlarmsConfigSchema>;
