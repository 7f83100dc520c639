/**
 * The public board's data (积分公示栏), computed by the village ledger for one village and sent
 * to its stores as a signed envelope of kind `board` on `vps/v1/<village>/down/board`
 * (docs/sync-stream.md#the-public-board-downboard). It carries only what the village publishes: names already masked
 * or left off as the village chose, no balance and no debt of anyone.
 *
 * `format` versions the body on its own: a store refuses a format it does not know (as
 * `invalid`) and keeps showing the board it has.
 */
import { Type, type Static } from '@sinclair/typebox';

/** The body format this code writes and reads. */
export const BOARD_FORMAT = 1;

const Time = Type.String({ minLength: 20, maxLength: 30, pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' });
const LocalDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
/** The longest name and deed title, in UTF-16 units (TypeBox's maxLength counts units, so 𠀀 counts two). */
export const BOARD_NAME_MAX = 100;
export const BOARD_TITLE_MAX = 200;
/** Rows of the red list a board carries at most (red_list_size is at most 50 places, ties can add rows). */
export const BOARD_RED_LIST_MAX = 50;
const Name = Type.String({ minLength: 1, maxLength: BOARD_NAME_MAX });
const Points = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
const Count = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
const VillagerId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });

/** One line of the red list (红榜): this month's earnings from rule items, never a balance. */
export const RedListRowSchema = Type.Object({
  /** Competition ranking: equal points share a place (1, 1, 3). */
  rank: Type.Integer({ minimum: 1, maximum: 100_000 }),
  /** So that a store can leave off its own staff as well; never shown. */
  villager: VillagerId,
  /** As it may be shown: the full name, or masked (张**) for a villager who opted out. */
  name: Name,
  masked: Type.Boolean(),
  points: Points,
  /** The rule items the points came from, most points first. */
  items: Type.Array(Type.Object({ name: Name, count: Type.Integer({ minimum: 1, maximum: 1_000_000 }) }, { additionalProperties: false }), { maxItems: 5 }),
}, { additionalProperties: false });
export type RedListRow = Static<typeof RedListRowSchema>;

/**
 * Holders of one place within the village's `red_list_size` whom the red list does not carry,
 * because they would take it past BOARD_RED_LIST_MAX rows: the place left off whole, or (the
 * first place only, which is never left off) the holders past the 50 shown. Only counted: who
 * they are is not sent. Absent when everyone at a place shown is listed.
 */
export const RedListMoreSchema = Type.Object({
  /** The place they share (the rank a row of theirs would have). */
  rank: Type.Integer({ minimum: 1, maximum: 100_000 }),
  points: Points,
  count: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
}, { additionalProperties: false });
export type RedListMore = Static<typeof RedListMoreSchema>;

/** A good deed (好人好事): what was done and its points, never who did it. */
export const DeedSchema = Type.Object({
  title: Type.String({ minLength: 1, maxLength: BOARD_TITLE_MAX }),
  village: Name,
  points: Points,
  date: LocalDate,
}, { additionalProperties: false });
export type Deed = Static<typeof DeedSchema>;

export const BoardTotalsSchema = Type.Object({
  /** Points awarded in the village this month. */
  issued: Count,
  /** Points redeemed in the village's stores this month. */
  redeemed: Count,
  /** Approved good deeds (rule items that add points) this month. */
  deeds: Count,
  /** Villagers with at least one approved good deed this month. */
  participants: Count,
  /** Villagers of the village (active or blocked), for the participation rate. */
  villagers: Count,
}, { additionalProperties: false });
export type BoardTotals = Static<typeof BoardTotalsSchema>;

export const BoardBodySchema = Type.Object({
  format: Type.Literal(BOARD_FORMAT),
  village: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), name: Name }, { additionalProperties: false }),
  /** The village month the figures are for (village time, UTC+8). */
  month: Type.String({ pattern: '^\\d{4}-\\d{2}$' }),
  computed_at: Time,
  /** What the village publishes; a section it does not publish is empty (or null). */
  published: Type.Object({ red_list: Type.Boolean(), deeds: Type.Boolean(), totals: Type.Boolean() }, { additionalProperties: false }),
  red_list: Type.Array(RedListRowSchema, { maxItems: BOARD_RED_LIST_MAX }),
  /** Villagers of a place within the size whom the 50 rows could not carry (sent only when there are any). */
  red_list_more: Type.Optional(RedListMoreSchema),
  deeds: Type.Array(DeedSchema, { maxItems: 50 }),
  totals: Type.Union([BoardTotalsSchema, Type.Null()]),
}, { additionalProperties: false });
export type BoardBody = Static<typeof BoardBodySchema>;
