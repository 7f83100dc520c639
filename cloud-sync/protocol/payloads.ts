/**
 * Payload schemas (TypeBox). Every message is parsed and checked against these on receipt;
 * types come from the schemas. Signed messages share one envelope whose `body` is checked
 * against the schema of its `kind` after the signature.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { BoardBodySchema } from './board.ts';
import { noteArrivedText } from './arrived.ts';

export { BoardBodySchema, BOARD_FORMAT, type BoardBody } from './board.ts';

const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:#@-]+$' });
const TopicId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const Time = Type.String({ minLength: 20, maxLength: 30, pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' });
const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Points = Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 });
const Text = (max: number) => Type.Union([Type.String({ maxLength: max }), Type.Null()]);

export const ENVELOPE_KINDS = ['rows', 'entry', 'entries', 'villager', 'product', 'command', 'snapshot', 'board'] as const;
export type EnvelopeKind = (typeof ENVELOPE_KINDS)[number];

/** A signed message. `sig` is Ed25519 over the canonical JSON of every other field. */
export const EnvelopeSchema = Type.Object({
  v: Type.Literal(1),
  id: Id,
  kind: Type.Union(ENVELOPE_KINDS.map((k) => Type.Literal(k))),
  village: TopicId,
  /** The store a message comes from (`rows`) or is meant for (`snapshot`, a targeted command). */
  store: Type.Optional(TopicId),
  /** `rows`: the first row's outbox seq; village stream: the per-village seq; `snapshot`: the seq it covers. */
  seq: Seq,
  issued_at: Time,
  expires_at: Time,
  key_id: Type.String({ minLength: 1, maxLength: 64 }),
  body: Type.Unknown(),
  sig: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
export type Envelope = Static<typeof EnvelopeSchema>;
export type UnsignedEnvelope = Omit<Envelope, 'sig'>;

export const ENTRY_KINDS = ['award', 'penalty', 'redemption', 'refund', 'adjustment', 'expiry'] as const;

/** An entry's longest reason, in UTF-16 units (TypeBox's maxLength counts units). */
export const ENTRY_REASON_MAX = 500;

export const EntryBodySchema = Type.Object({
  id: Id,
  villager: TopicId,
  kind: Type.Union(ENTRY_KINDS.map((k) => Type.Literal(k))),
  points: Points,
  reference: Type.Optional(Text(200)),
  reason: Type.Optional(Text(ENTRY_REASON_MAX)),
  created_at: Time,
}, { additionalProperties: false });
export type EntryBody = Static<typeof EntryBodySchema>;

/** A store's batch of new entries, rebroadcast as one event of the village stream. */
export const EntriesBodySchema = Type.Object({ entries: Type.Array(EntryBodySchema, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false });
export type EntriesBody = Static<typeof EntriesBodySchema>;

/**
 * The longest villager name, in UTF-16 units: every store checks a villager with
 * VillagerBodySchema, and TypeBox's maxLength counts units (a rare character such as 𠀀 counts
 * two). The ledger's API refuses by the same count (villagerNameRefusal), not by its own schema's
 * (Ajv counts characters), so no name passes the API only to be refused on the way to the stores.
 */
export const VILLAGER_NAME_MAX = 100;

/** Why the stores would refuse `name` as a villager's name (too long), in both languages; undefined when they take it. */
export function villagerNameRefusal(name: string): { message: string; zh: string } | undefined {
  if (name.length <= VILLAGER_NAME_MAX) return undefined;
  return {
    message: `name is too long: at most ${VILLAGER_NAME_MAX} UTF-16 units (a rare character such as 𠀀 counts two), this one has ${name.length}`,
    zh: `姓名太长：最多 ${VILLAGER_NAME_MAX} 个字符（𠀀 这类生僻字算两个），现为 ${name.length} 个`,
  };
}

const VillagerStatus = Type.Union([Type.Literal('active'), Type.Literal('blocked'), Type.Literal('left')]);
export const VillagerBodySchema = Type.Object({
  id: TopicId,
  name: Type.String({ minLength: 1, maxLength: VILLAGER_NAME_MAX }),
  village: TopicId,
  status: VillagerStatus,
}, { additionalProperties: false });
export type VillagerBody = Static<typeof VillagerBodySchema>;

/** A store's outbox row `villager` that changes a villager's status (edge/ledger/villagers.ts `setVillagerStatus`). */
export const WireStatusSchema = Type.Object({ op: Type.Literal('status'), id: TopicId, status: VillagerStatus }, { additionalProperties: false });
export type WireStatus = Static<typeof WireStatusSchema>;

export const ProductBodySchema = Type.Object({
  sku: TopicId,
  name: Type.String({ minLength: 1, maxLength: 100 }),
  price: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  unit_g: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  tolerance_g: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  active: Type.Boolean(),
}, { additionalProperties: false });
export type ProductBody = Static<typeof ProductBodySchema>;

export const COMMANDS = ['resync', 'block', 'unblock'] as const;
export type Command = (typeof COMMANDS)[number];
export const CommandBodySchema = Type.Object({
  command: Type.Union(COMMANDS.map((c) => Type.Literal(c))),
  /** Absent: every store of the village. */
  store: Type.Optional(TopicId),
  villager: Type.Optional(TopicId),
}, { additionalProperties: false });
export type CommandBody = Static<typeof CommandBodySchema>;

/** At most this many parts to one snapshot (of at most `MAX_PAYLOAD_BYTES` each): a bound on what a store holds while it gathers them. */
export const MAX_SNAPSHOT_PARTS = 256;

/** A product of the village's catalogue as a snapshot carries it: when the village last published it. */
export const SnapshotProductSchema = Type.Object({ ...ProductBodySchema.properties, updated_at: Time }, { additionalProperties: false });
export type SnapshotProduct = Static<typeof SnapshotProductSchema>;

export const SnapshotBodySchema = Type.Object({
  villagers: Type.Array(VillagerBodySchema, { maxItems: 100_000 }),
  entries: Type.Array(EntryBodySchema, { maxItems: 1_000_000 }),
  /**
   * The catalogue the village published at the ledger (cloud-sync/ledger/catalogue.ts). Absent
   * when it has published none, so a store older than the field is still brought level there.
   */
  products: Type.Optional(Type.Array(SnapshotProductSchema, { maxItems: 10_000 })),
  /**
   * One part of a snapshot too large for one message (cloud-sync/ledger/catchup.ts): the parts
   * share `of` and the envelope's seq, each is signed on its own, and the store applies the
   * snapshot once it holds all `count` of them (cloud-sync/agent/snapshot-parts.ts). Absent: the
   * whole snapshot in this one message.
   */
  part: Type.Optional(Type.Object({
    of: Type.String({ minLength: 1, maxLength: 200 }),
    index: Type.Integer({ minimum: 0, maximum: MAX_SNAPSHOT_PARTS - 1 }),
    count: Type.Integer({ minimum: 2, maximum: MAX_SNAPSHOT_PARTS }),
  }, { additionalProperties: false })),
}, { additionalProperties: false });
export type SnapshotBody = Static<typeof SnapshotBodySchema>;

export const OUTBOX_TOPICS = ['entry', 'villager', 'session', 'product', 'card'] as const;
export const RowSchema = Type.Object({
  /** `<store>:<seq>`: unique per store, what the ledger acknowledges and de-duplicates on. */
  id: Type.String({ minLength: 3, maxLength: 140 }),
  seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  topic: Type.Union(OUTBOX_TOPICS.map((t) => Type.Literal(t))),
  payload: Type.Unknown(),
  created_at: Time,
}, { additionalProperties: false });
export type Row = Static<typeof RowSchema>;
export const RowsBodySchema = Type.Object({ rows: Type.Array(RowSchema, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false });
export type RowsBody = Static<typeof RowsBodySchema>;

/**
 * The `reference` of an entry made by hand at a store PC (`store-edge points …`). It travels in
 * the field every version carries and keeps (`reference`: an older ledger stores it as any other,
 * an older store never sends it), so mixed versions need nothing new; the ledger's passbook marks
 * such a line (店内手工调整). The entry's `origin` (`cli`) travels too, but only in the row's
 * payload (WireEntrySchema lets it through; the ledger's `entries` have no column for it).
 */
export const BY_HAND_REFERENCE = 'by-hand:store-pc';

/** A store row of topic `entry` (edge/ledger/entries.ts `toWire`). */
export const WireEntrySchema = Type.Object(EntryBodySchema.properties, { additionalProperties: true });
export type WireEntry = Static<typeof WireEntrySchema>;

// Unsigned messages: they neither create points nor change identities or the store.
export const StatusSchema = Type.Object({ state: Type.Union([Type.Literal('online'), Type.Literal('offline')]), at: Type.Optional(Time) }, { additionalProperties: false });
export type Status = Static<typeof StatusSchema>;

export const REFUSAL_REASONS = ['unsigned', 'forged', 'replayed', 'expired', 'invalid'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
const Count = Type.Integer({ minimum: 0 });
/**
 * A heartbeat's figures: far beyond any real count (2^50: a village publishing 1,000 events a
 * second for 35,000 years), and leaving the village seq room below `Seq`'s bound were a
 * signed heartbeat to move the stream past its `inbound_seq`.
 */
export const HEARTBEAT_MAX = 2 ** 50;
const HbCount = Type.Integer({ minimum: 0, maximum: HEARTBEAT_MAX });

export const HeartbeatSchema = Type.Object({
  at: Time,
  outbox_pending: HbCount,
  last_acked_seq: HbCount,
  inbound_seq: HbCount,
  refused: Type.Record(Type.String({ maxLength: 16 }), HbCount, { maxProperties: 16 }),
  /**
   * Signed by the store's key over the message and its address, as the ledger signs its control
   * messages (signControl): only a signed heartbeat may move the village stream. A store older
   * than the field sends none; its heartbeat updates its own record only.
   */
  key_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  sig: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
export type Heartbeat = Static<typeof HeartbeatSchema>;

export const AckSchema = Type.Object({
  ids: Type.Array(Type.String({ minLength: 3, maxLength: 140 }), { maxItems: 1000 }),
  /** The highest seq up to which the ledger holds every row of this store (gap detection). */
  contiguous_seq: Count,
  /**
   * Row ids of the batch the ledger holds already with another payload (a store whose ledger
   * file went back in time handed their seqs out again): not in `ids`, not applied; the store
   * moves them to new seqs and sends them again (cloud-sync/agent/rollback.ts).
   */
  clashed: Type.Optional(Type.Array(Type.String({ minLength: 3, maxLength: 140 }), { maxItems: 1000 })),
  /**
   * `rowDigest` of each row of `ids`, in their order: the store marks a row acknowledged only
   * when its own payload has that digest. Sent only to a store that said it reads them
   * (`ROWS_DIGESTS` in its rows envelope's id): an older store's closed schema would refuse it.
   */
  digests: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 1000 })),
  /**
   * Row ids of `ids` that register a villager (`add`) under an id the ledger holds in another
   * village: kept, but that villager's entries will not apply there; the store raises the
   * `villager_id_taken` alarm. Sent only to a store that said it reads them (`ROWS_FOREIGN`).
   */
  foreign: Type.Optional(Type.Array(Type.String({ minLength: 3, maxLength: 140 }), { maxItems: 1000 })),
  /** Signed by the ledger over the message and its store's address (a forged one would drop rows). */
  key_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  sig: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
export type Ack = Static<typeof AckSchema>;
/** Ends the id of a `rows` envelope from a store that reads an ack's `digests` (an older ledger ignores it). */
export const ROWS_DIGESTS = ':d';
/** Before ROWS_DIGESTS in that id: the store reads an ack's `foreign` too (an older ledger sees only the `:d`). */
export const ROWS_FOREIGN = ':f';

export const SnapshotRequestSchema = Type.Object({
  from_seq: Count,
  reason: Type.Union([Type.Literal('new'), Type.Literal('gap'), Type.Literal('resync')]),
  /**
   * What of a snapshot this store understands beyond villagers and entries (`SNAPSHOT_FEATURES`).
   * Absent from a store older than the field: it is sent snapshots as before, whole and without
   * the catalogue, which its closed schema would refuse. An open list: a ledger ignores a word it
   * does not know.
   */
  accepts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 16 })),
}, { additionalProperties: false });
/** `catalogue`: the snapshot's `products`; `parts`: a snapshot in parts (cloud-sync/agent/snapshot-parts.ts). */
export const SNAPSHOT_FEATURES = ['catalogue', 'parts'] as const;
export type SnapshotRequest = Static<typeof SnapshotRequestSchema>;

/**
 * The answer to a request from `from_seq`: the village stream's signed events after it, as
 * the ledger published them (each checked like a stream event). A long answer comes in
 * several messages; the store is level once its seq reaches `to_seq`.
 */
export const DeltasSchema = Type.Object({
  from_seq: Count,
  to_seq: Count,
  events: Type.Array(Type.Unknown(), { maxItems: 10_000 }),
}, { additionalProperties: false });
export type Deltas = Static<typeof DeltasSchema>;

/**
 * The ledger's side of the heartbeat exchange (and its greeting when it connects): where the
 * village stream is, and up to where it holds every row of this store.
 */
export const BeatSchema = Type.Object({
  village_seq: Count,
  contiguous_seq: Count,
  reason: Type.Union([Type.Literal('heartbeat'), Type.Literal('online')]),
  /** The `at` of the heartbeat this answers: the ledger had handled every row sent before it. */
  answers: Type.Optional(Time),
  /** Signed by the ledger over the message and its store's address (a forged one would drop rows). */
  key_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  sig: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
export type Beat = Static<typeof BeatSchema>;

/** Larger payloads are refused before parsing (a snapshot of a big village still fits). */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

export const checkers = {
  envelope: TypeCompiler.Compile(EnvelopeSchema),
  entry: TypeCompiler.Compile(EntryBodySchema),
  entries: TypeCompiler.Compile(EntriesBodySchema),
  villager: TypeCompiler.Compile(VillagerBodySchema),
  product: TypeCompiler.Compile(ProductBodySchema),
  command: TypeCompiler.Compile(CommandBodySchema),
  snapshot: TypeCompiler.Compile(SnapshotBodySchema),
  board: TypeCompiler.Compile(BoardBodySchema),
  rows: TypeCompiler.Compile(RowsBodySchema),
  wireEntry: TypeCompiler.Compile(WireEntrySchema),
  wireStatus: TypeCompiler.Compile(WireStatusSchema),
  status: TypeCompiler.Compile(StatusSchema),
  heartbeat: TypeCompiler.Compile(HeartbeatSchema),
  ack: TypeCompiler.Compile(AckSchema),
  snapshotRequest: TypeCompiler.Compile(SnapshotRequestSchema),
  deltas: TypeCompiler.Compile(DeltasSchema),
  beat: TypeCompiler.Compile(BeatSchema),
};

export type Decoded<T> = { ok: true; value: T } | { ok: false; why: string };

/** Bytes → checked value. Never throws: a bad payload is a refusal, not a crash. */
export function decode<T>(payload: Buffer, checker: { Check(v: unknown): v is T; Errors(v: unknown): Iterable<{ path: string; message: string }> }): Decoded<T> {
  if (payload.length > MAX_PAYLOAD_BYTES) return { ok: false, why: `payload of ${payload.length} bytes is larger than ${MAX_PAYLOAD_BYTES}` };
  let value: unknown;
  const text = payload.toString('utf8');
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, why: 'payload is not JSON' };
  }
  // A signature on it is checked over the text as it came (sign.ts, checkSignature).
  noteArrivedText(value, text);
  if (!checker.Check(value)) {
    const first = [...checker.Errors(value)][0];
    return { ok: false, why: first ? `${first.path || '/'}: ${first.message}` : 'does not match the schema' };
  }
  return { ok: true, value };
}
