/**
 * Operations traffic between a store and its village (docs/sync-offline.md, "Alarms" and
 * "Reconciliation"): the store's active alarms (retained), and the daily reconciliation's
 * question and the ledger's signed answer.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const TopicId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const Time = Type.String({ minLength: 20, maxLength: 30, pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Points = Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });

export const AlarmSchema = Type.Object({
  id: Count,
  kind: Type.String({ minLength: 1, maxLength: 64 }),
  subject: Type.String({ maxLength: 200 }),
  severity: Type.Union([Type.Literal('warning'), Type.Literal('critical')]),
  detail: Type.String({ maxLength: 2000 }),
  raised_at: Time,
  last_seen_at: Time,
  seen: Count,
  /** Present once a maintainer has acknowledged this occurrence at the store (who, when, their note). */
  acknowledged_at: Type.Optional(Time),
  acknowledged_by: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  ack_note: Type.Optional(Type.String({ maxLength: 500 })),
}, { additionalProperties: false });
export type Alarm = Static<typeof AlarmSchema>;

/** The hand-cleared alarms a store lists beside its active ones: those of the last days, at most this many. */
export const HAND_CLEARED_DAYS = 7;
export const HAND_CLEARED_MAX = 100;

/** An alarm a maintainer cleared by hand at the store (edge/ops/alarms.ts `clearByHand`): who, when, why. */
export const ClearedAlarmSchema = Type.Object({
  id: Count,
  kind: AlarmSchema.properties.kind,
  subject: AlarmSchema.properties.subject,
  raised_at: Time,
  cleared_at: Time,
  cleared_by: Type.String({ minLength: 1, maxLength: 64 }),
  note: Type.Optional(Type.String({ maxLength: 500 })),
}, { additionalProperties: false });
export type ClearedAlarm = Static<typeof ClearedAlarmSchema>;

/**
 * `…/store/<store>/alarms`, retained: the store's active alarms as of `at` (empty: none), and
 * the ones cleared by hand in the last HAND_CLEARED_DAYS (sent only when there are any: a
 * ledger older than the field refuses it, so the village ledger is updated before its stores).
 */
export const AlarmsMessageSchema = Type.Object({
  at: Time,
  active: Type.Array(AlarmSchema, { maxItems: 1000 }),
  cleared: Type.Optional(Type.Array(ClearedAlarmSchema, { maxItems: HAND_CLEARED_MAX })),
}, { additionalProperties: false });
export type AlarmsMessage = Static<typeof AlarmsMessageSchema>;

/**
 * The alarms a store lists on `…/store/<store>/alarm-history` (retained): those that ended in the
 * last ALARM_HISTORY_DAYS, the newest ALARM_HISTORY_MAX in full, the rest counted by kind and
 * subject (at most ALARM_HISTORY_GROUPS of those).
 */
export const ALARM_HISTORY_DAYS = 7;
export const ALARM_HISTORY_MAX = 100;
export const ALARM_HISTORY_GROUPS = 50;

const Account = Type.String({ minLength: 1, maxLength: 64 });

/**
 * One occurrence that ended at the store: the alarm as it last stood, when it cleared and by whom
 * (`resolved`: by itself; otherwise the account that cleared it by hand, with its `note`).
 * Open to fields it does not name (a later store's), which a reader ignores.
 */
export const EndedAlarmSchema = Type.Object({
  ...AlarmSchema.properties,
  cleared_at: Time,
  cleared_by: Account,
  note: Type.Optional(Type.String({ maxLength: 500 })),
});
export type EndedAlarm = Static<typeof EndedAlarmSchema>;

/** The ended occurrences of one kind and subject the history leaves out: how many, the first raise, the last clear. */
export const UnlistedAlarmsSchema = Type.Object({
  kind: AlarmSchema.properties.kind,
  subject: AlarmSchema.properties.subject,
  count: Count,
  first_raised_at: Time,
  last_cleared_at: Time,
});

/**
 * `…/store/<store>/alarm-history`, retained: the store's alarms that ended in [since, at], newest
 * first, at most ALARM_HISTORY_MAX; `unlisted` counts those of the window left out (`count` in
 * all, `groups` by kind and subject, most first). Unknown fields, at any depth, are ignored: a
 * later store may add some without the village ledger refusing its history.
 */
export const AlarmHistorySchema = Type.Object({
  at: Time,
  since: Time,
  ended: Type.Array(EndedAlarmSchema, { maxItems: ALARM_HISTORY_MAX }),
  unlisted: Type.Optional(Type.Object({
    count: Count,
    groups: Type.Array(UnlistedAlarmsSchema, { maxItems: ALARM_HISTORY_GROUPS }),
  })),
});
export type AlarmHistory = Static<typeof AlarmHistorySchema>;

/** `…/up/reconcile-request`: the ledger's totals for this store's entries and sessions made in [from, to). */
export const ReconcileRequestSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }),
  from: Time,
  to: Time,
}, { additionalProperties: false });
export type ReconcileRequest = Static<typeof ReconcileRequestSchema>;

/** One villager's totals for the window: entries made at the store, their net points, points redeemed, sessions settled. */
export const VillagerTotalsSchema = Type.Object({
  villager: TopicId,
  entries: Count,
  points: Points,
  redeemed: Count,
  sessions: Count,
}, { additionalProperties: false });
export type VillagerTotals = Static<typeof VillagerTotalsSchema>;

/** `…/down/reconcile`: the answer, signed by the ledger over its fields and the store's address. */
export const ReconcileAnswerSchema = Type.Object({
  id: ReconcileRequestSchema.properties.id,
  from: Time,
  to: Time,
  villagers: Type.Array(VillagerTotalsSchema, { maxItems: 100_000 }),
  key_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  sig: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
export type ReconcileAnswer = Static<typeof ReconcileAnswerSchema>;

export const opsCheckers = {
  alarms: TypeCompiler.Compile(AlarmsMessageSchema),
  alarmHistory: TypeCompiler.Compile(AlarmHistorySchema),
  reconcileRequest: TypeCompiler.Compile(ReconcileRequestSchema),
  reconcileAnswer: TypeCompiler.Compile(ReconcileAnswerSchema),
};
