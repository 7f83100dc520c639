/** TypeBox schema of the live picture (`GET /api/live/now`, and each message of `GET /api/live`). */
import { Type } from '@sinclair/typebox';
import { StoreStateReply } from './schemas.ts';
import { ShelfItem } from './shelf-schemas.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const DoorReply = Type.Object({
  door: Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('unknown')]),
  lock: Type.Union([Type.Literal('locked'), Type.Literal('unlocked'), Type.Literal('alarm'), Type.Literal('unknown')]),
  unlocked_until: Nullable(Type.String({ format: 'date-time' })),
  since: Nullable(Type.String({ format: 'date-time' })),
});

export const LiveDecision = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  decision: Type.String(),
  by: Type.String(),
  villager: Nullable(Type.String()),
  villager_name: Nullable(Type.String()),
  unlocked: Type.Boolean(),
  words_zh: Type.String({ description: "The decision in a villager maintainer's words" }),
  words_en: Type.String(),
});

export const LiveAlarm = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  kind: Type.String(),
  zh: Type.String(),
  en: Type.String(),
});

export const LiveOpenAlarm = Type.Object({
  id: Type.Integer({ description: '0: kept in memory only (the ledger could not write it), cannot be acknowledged' }),
  kind: Type.String(),
  subject: Type.String(),
  severity: Type.String(),
  detail: Type.String(),
  detail_zh: Type.String({ description: 'The detail in Chinese, for a Chinese page (the detail as raised when no translation is known)' }),
  raised_at: Type.String({ format: 'date-time' }),
  seen: Type.Integer(),
  acknowledged_at: Nullable(Type.String({ format: 'date-time' })),
  acknowledged_by: Nullable(Type.String()),
  ack_note: Nullable(Type.String()),
  clearable: Type.Boolean({ description: 'A kind only a maintainer can say is settled (villager_id_taken, idle_shelf_change): cleared by hand with POST /api/alarms/ID/clear' }),
  zh: Type.String({ description: 'What and where, in Chinese' }),
  en: Type.String(),
});

export const LiveStore = Type.Composite([StoreStateReply, Type.Object({ phase_en: Type.String() })]);

export const LiveNowReply = Type.Object({
  at: Type.String({ format: 'date-time' }),
  door: DoorReply,
  store: LiveStore,
  decisions: Type.Array(LiveDecision),
  alarms: Type.Array(LiveAlarm),
  open_alarms: Type.Union([Type.Array(LiveOpenAlarm), Type.Null()], { description: 'The alarms not yet cleared, with their acknowledgement (POST /api/alarms/ID/acknowledge); null when alarms are turned off' }),
  shelves: Type.Array(ShelfItem, { description: 'Each slot with the weight at rest on its scale (null while it moves or cannot be read) and the count it makes' }),
});
