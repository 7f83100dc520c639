/**
 * TypeBox schemas of the admin page's JSON routes about the door and the till. Fastify
 * validates the query with them and serialises replies through them (unlisted fields are
 * dropped, so nothing leaks from a row by accident).
 */
import { Type } from '@sinclair/typebox';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);

export const LimitQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) }, { additionalProperties: false });

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
}, { additionalProperties: false });

/** `/?villagers=N`: which page of the villager list the admin page shows. */
export const AdminPageQuery = Type.Object({ villagers: Type.Integer({ minimum: 1, default: 1 }) }, { additionalProperties: false });

export const EntryEventsReply = Type.Object({
  events: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: Type.String(),
      decision: Type.String(),
      decision_zh: Type.String(),
      by: Type.String(),
      villager: Nullable(Type.String()),
      villager_name: Nullable(Type.String()),
      unlocked: Type.Boolean(),
      detail: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});

export const ReceiptsReply = Type.Object({
  receipts: Type.Array(
    Type.Object({
      session: Type.String(),
      kind: Type.Union([Type.Literal('shopping'), Type.Literal('restock')]),
      villager: Type.String(),
      villager_name: Type.String(),
      entered_by: Type.String(),
      opened_at: Type.String(),
      closed_at: Nullable(Type.String()),
      total_points: Type.Integer(),
      charged_points: Type.Integer(),
      debt_points: Type.Integer(),
      balance_after: Nullable(Type.Integer()),
      lines: Type.Array(Type.Object({ sku: Type.String(), name: Type.String(), slot: Type.String(), count: Type.Integer(), points: Type.Integer() })),
      review: Type.Array(Type.Object({ slot: Type.String(), reason: Type.String(), reason_zh: Type.String(), delta_g: Type.Union([Type.Number(), Type.Null()]), detail: Nullable(Type.String()) })),
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
  since: Nullable(Type.String()),
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
  products: Type.Array(
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
  last_ack_at: Nullable(Type.String()),
  inbound_seq: Type.Integer(),
  last_contact: Nullable(Type.String()),
  refused: Type.Record(Type.String(), Type.Integer()),
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
      at: Type.String(),
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
  /** `correct`: the line was `count` of product `sku`; charged at today's price. */
  resolution: Type.Union([Type.Literal('waive'), Type.Literal('charge'), Type.Literal('correct')]),
  /** For a charge: the points the villager is charged for the line. */
  points: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  sku: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  _csrf: Type.Optional(Type.String()),
}, { additionalProperties: false });

export const ReviewItem = Type.Object({
  id: Type.Integer(),
  session_id: Type.String(),
  villager_id: Type.String(),
  villager_name: Type.String(),
  slot: Type.String(),
  reason: Type.String(),
  delta_g: Type.Union([Type.Number(), Type.Null()]),
  detail: Nullable(Type.String()),
  created_at: Type.String(),
  resolved_at: Nullable(Type.String()),
  resolution: Nullable(Type.String()),
});

export const ReviewReply = Type.Object({ items: Type.Array(ReviewItem), next: Type.Null() });
