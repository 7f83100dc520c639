/**
 * TypeBox schemas of the admin page's JSON routes about the door and the till. Fastify
 * validates the query with them and serialises replies through them (unlisted fields are
 * dropped, so nothing leaks from a row by accident).
 *
 * The API's one style (checked on every route by tests/edge/http-api-shape.test.ts): every
 * reply is an object; a list is `{items, next}`, `next` being the cursor of the following page
 * (null on the last); names are snake_case; times ISO 8601 with their offset; every error is
 * `ErrorReply`.
 */
import { Type } from '@sinclair/typebox';
import { LangQuery } from './lang.ts';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);

/** A moment, ISO 8601 with its offset (`2026-11-30T12:13:00.000Z`). */
export const Time = (description?: string) => Type.String({ format: 'date-time', ...(description ? { description } : {}) });
const NullableTime = () => Type.Union([Time(), Type.Null()]);

/** Every refusal and failure of an /api route (edge/http/errors.ts); added to each route's schema in app.ts. */
export const ErrorReply = Type.Object({
  error: Type.String({ description: 'A stable code to branch on, e.g. NOT_FOUND, INVALID_ARGUMENT, UNAUTHENTICATED, CSRF_REJECTED' }),
  message: Type.String({ description: 'English' }),
  zh: Type.String({ description: '中文' }),
  fields: Type.Optional(Type.Record(Type.String(), Type.Object({ message: Type.String(), zh: Type.String() }), { description: 'Each wrong field by its name' })),
}, { additionalProperties: true });

/** Beside a route's replies, so its handler may refuse in the one error shape (app.ts adds it to every /api route anyway). */
export const ErrorResponses = { '4xx': ErrorReply, '5xx': ErrorReply } as const;

/** A list newest first: `before` is the `next` of the previous page. */
export const EventsQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }), before: Type.Optional(Type.Integer({ minimum: 1, description: 'The `next` of the previous page' })) }, { additionalProperties: false });
export const SessionCursorQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }), before: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The `next` of the previous page (a session id)' })) }, { additionalProperties: false });
/** The open review lines, oldest first: `after` is the `next` of the previous page. */
export const ReviewListQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }), after: Type.Optional(Type.Integer({ minimum: 1, description: 'The `next` of the previous page (a line id)' })) }, { additionalProperties: false });
export const VillagersQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }), after: Type.Optional(Type.String({ maxLength: 64, description: 'The `next` of the previous page (a villager id)' })) }, { additionalProperties: false });

/** `/?villagers=N`: which page of the villager list the admin page shows. */
/** /review: an older page of its refund forms with `refunds_before`. */
/** /review: which page of the open review lines (oldest first), and of the refund forms. */
export const ReviewQuery = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1, description: 'Which page of the open review lines (oldest first)' }),
  refunds_before: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'An older page of the refund forms: the purchases settled before this one' })),
  done: Type.Optional(Type.String({ maxLength: 64, description: 'What the form just sent did, said once (a token the action redirected with)' })),
  ...LangQuery,
});
export const AdminPageQuery = Type.Object({ villagers: Type.Integer({ minimum: 1, default: 1 }), ...LangQuery }, { additionalProperties: false });

export const EntryEventsReply = Type.Object({
  next: Nullable(Type.Integer({ description: 'Pass as `before` for older decisions' })),
  items: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: Time(),
      decision: Type.String(),
      decision_zh: Type.String(),
      by: Type.String(),
      villager: Nullable(Type.String()),
      villager_name: Nullable(Type.String()),
      unlocked: Type.Boolean(),
      detail: Type.Record(Type.String(), Type.Unknown(), { description: 'What the door measured or read, keys snake_case (card numbers masked)' }),
    }),
  ),
});

export const ReceiptsReply = Type.Object({
  next: Nullable(Type.String({ description: 'Pass as `before` for older receipts' })),
  items: Type.Array(
    Type.Object({
      session: Type.String(),
      kind: Type.Union([Type.Literal('shopping'), Type.Literal('restock')]),
      villager: Type.String(),
      villager_name: Type.String(),
      entered_by: Type.String(),
      opened_at: Time(),
      closed_at: NullableTime(),
      total_points: Type.Integer(),
      charged_points: Type.Integer(),
      debt_points: Type.Integer(),
      balance_after: Nullable(Type.Integer()),
      lines: Type.Array(Type.Object({ sku: Type.String(), name: Type.String(), slot: Type.String(), count: Type.Integer(), points: Type.Integer() })),
      review: Type.Array(Type.Object({ slot: Type.String(), reason: Type.String(), reason_zh: Type.String(), delta_g: Type.Union([Type.Number(), Type.Null()]), detail: Nullable(Type.String()), detail_zh: Nullable(Type.String({ description: 'The detail in Chinese with product names (the detail as kept when its shape is not known)' })) })),
      stock: Type.Array(Type.Object({ sku: Type.String(), name: Type.String(), slot: Type.String(), count: Type.Integer() })),
    }),
  ),
});

export const StoreStateReply = Type.Object({
  phase: Type.String(),
  phase_zh: Type.String(),
  session: Nullable(Type.String()),
  villager: Nullable(Type.String()),
  villager_name: Nullable(Type.String()),
  kind: Nullable(Type.String()),
  entered_by: Nullable(Type.String()),
  since: NullableTime(),
  cart: Type.Union([
    Type.Null(),
    Type.Object({
      lines: Type.Array(Type.Object({ sku: Type.String(), name: Type.String(), slot: Type.String(), count: Type.Integer(), points: Type.Integer() })),
      total_points: Type.Integer(),
      review: Type.Array(Type.Object({ slot: Type.String(), reason: Type.String() })),
      stock: Type.Array(Type.Object({ sku: Type.String(), name: Type.String(), slot: Type.String(), count: Type.Integer() })),
    }),
  ]),
});

export const StockReply = Type.Object({
  next: Type.Null({ description: 'Always null: every product is listed' }),
  items: Type.Array(
    Type.Object({
      sku: Type.String(),
      name: Type.String(),
      price: Type.Integer(),
      active: Type.Boolean(),
      stock: Type.Integer(),
      slots: Type.Array(Type.Object({ slot: Type.String(), address: Type.Integer(), stock: Type.Integer() })),
    }),
  ),
});

export const SyncReply = Type.Object({
  enabled: Type.Boolean(),
  connected: Type.Boolean(),
  outbox_pending: Type.Integer(),
  last_acked_seq: Type.Integer(),
  last_ack_at: NullableTime(),
  inbound_seq: Type.Integer(),
  last_contact: NullableTime(),
  refused: Type.Record(Type.String(), Type.Integer()),
  /** Heartbeats sent since the village ledger last answered (a beat or an ack), or the reconnect: a figure; silence goes by time (`unanswered_s`). */
  unanswered_heartbeats: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Seconds connected with no beat nor ack from the ledger (time disconnected does not count); above `silent_after_s` it does not answer this store (is its public key registered?): the `ledger_silent` alarm. */
  unanswered_s: Type.Optional(Type.Number({ minimum: 0 })),
  /** 3 × sync.heartbeat_s, at least 60 (cloud-sync/agent/silence.ts). */
  silent_after_s: Type.Optional(Type.Number({ minimum: 0 })),
  /** Why the broker cannot be reached, while it cannot (cloud-sync/mqtt-failure.ts). */
  last_error: Type.Union([Type.Null(), Type.Object({ reason: Type.String(), message: Type.String(), since: Type.String(), attempts: Type.Integer() })]),
});

export const AuditQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  /** The `next` of the previous page: records older than this id. */
  before: Type.Optional(Type.Integer({ minimum: 1 })),
}, { additionalProperties: false });

export const AuditReply = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: Time(),
      actor: Type.String(),
      action: Type.String(),
      target: Nullable(Type.String()),
      before: Type.Unknown(),
      after: Type.Unknown(),
    }),
  ),
  next: Nullable(Type.Integer()),
});

export const ResolveBody = Type.Object({
  /**
   * `correct`: the line was `count` of product `sku`; charged at today's price. `acknowledge`:
   * the only one for a line whose goods were charged at settlement (`stock_clipped`,
   * `offline_limit`), and only for such a line. `points` goes only with `charge`, `sku` and
   * `count` only with `correct`: another of them is refused by name (400, edge/http/actions.ts).
   */
  resolution: Type.Union([Type.Literal('waive'), Type.Literal('charge'), Type.Literal('correct'), Type.Literal('acknowledge')]),
  /** For a charge: the points the villager is charged for the line. */
  points: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  sku: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  _csrf: Type.Optional(Type.String()),
}, { additionalProperties: false });

export const ReviewItem = Type.Object({
  id: Type.Integer(),
  session_id: Type.String(),
  session_kind: Type.String({ description: 'shopping or restock: a restock\'s line is only waived (nothing was sold)' }),
  villager_id: Type.String(),
  villager_name: Type.String(),
  slot: Type.String(),
  reason: Type.String(),
  delta_g: Type.Union([Type.Number(), Type.Null()]),
  detail: Nullable(Type.String()),
  created_at: Time(),
  resolved_at: NullableTime(),
  resolution: Nullable(Type.String()),
});

export const ReviewReply = Type.Object({ items: Type.Array(ReviewItem), next: Nullable(Type.Integer({ description: 'Pass as `after` for the next page; null: no more open lines' })) });

export const SessionView = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: 'shopping or restock' }),
  villager_id: Type.String(),
  villager_name: Nullable(Type.String()),
  entered_by: Type.String({ description: 'face, qr, card or admin' }),
  state: Type.String(),
  status: Type.String({ description: 'open, settled or cancelled' }),
  total_points: Nullable(Type.Integer()),
  charged_points: Nullable(Type.Integer()),
  debt_points: Nullable(Type.Integer()),
  entry_id: Nullable(Type.String()),
  opened_at: Time(),
  closed_at: NullableTime(),
});
export const SessionsReply = Type.Object({ items: Type.Array(SessionView), next: Nullable(Type.String({ description: 'Pass as `before` for older sessions' })) });

export const ProductsReply = Type.Object({
  items: Type.Array(Type.Object({ sku: Type.String(), name: Type.String(), price: Type.Integer(), unit_g: Type.Integer(), tolerance_g: Type.Integer(), active: Type.Boolean(), stock: Type.Integer({ description: 'On all its slots' }) })),
  next: Type.Null({ description: 'Always null: every product is listed' }),
});
