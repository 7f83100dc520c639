/** TypeBox schemas of the products and shelves routes (edge/http/shelf-actions.ts). */
import { Type } from '@sinclair/typebox';

const Csrf = { _csrf: Type.Optional(Type.String()) };
const Sku = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
/** A form sends a checkbox as "true"; JSON as a boolean. */
const Flag = Type.Union([Type.Boolean(), Type.Literal('true'), Type.Literal('false')]);

export const ProductBody = Type.Object({
  sku: Sku,
  name: Type.String({ minLength: 1, maxLength: 100 }),
  price: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  unit_g: Type.Integer({ minimum: 1, maximum: 100_000 }),
  tolerance_g: Type.Integer({ minimum: 0, maximum: 50_000 }),
  active: Type.Optional(Type.Boolean()),
  ...Csrf,
}, { additionalProperties: false });

export const ProductEditBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  price: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  unit_g: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  tolerance_g: Type.Optional(Type.Integer({ minimum: 0, maximum: 50_000 })),
  active: Type.Optional(Flag),
  ...Csrf,
}, { additionalProperties: false });

export const SlotBody = Type.Object({
  address: Type.Integer({ minimum: 1, maximum: 247, description: "Modbus address of the scale under the slot: must be the slot's unit_id in drivers.scales.list when the config has one (the hardware weighs by the config)" }),
  sku: Type.Optional(Type.Union([Sku, Type.Literal(''), Type.Null()])),
  ...Csrf,
}, { additionalProperties: false });

export const ZeroBody = Type.Object({ confirm_empty: Flag, ...Csrf }, { additionalProperties: false });
export const CalibrateBody = Type.Object({ known_g: Type.Number({ exclusiveMinimum: 0, maximum: 100_000 }), ...Csrf }, { additionalProperties: false });
export const CountBody = Type.Object({ ...Csrf }, { additionalProperties: false });

export const ProductView = Type.Object({ sku: Type.String(), name: Type.String(), price: Type.Integer(), unit_g: Type.Integer(), tolerance_g: Type.Integer(), active: Type.Boolean() });

export const ShelfItem = Type.Object({
  slot: Type.String(),
  address: Type.Integer({ description: 'The scale address the ledger has for the slot; the scale weighed is unit_id' }),
  unit_id: Type.Union([Type.Integer(), Type.Null()], { description: "The Modbus unit id of the slot's scale in the config (drivers.scales.list), the one weighed; null: no scale configured, or no hardware" }),
  sku: Type.Union([Type.String(), Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()]),
  stock: Type.Integer(),
  scale: Type.String({ description: 'ok, no_reply, implausible, unknown, or absent (no scale configured)' }),
  weight_g: Type.Union([Type.Number(), Type.Null()]),
  counted: Type.Union([Type.Integer(), Type.Null()], { description: 'Items on the slot by its weight (null: no steady reading, or not a whole count)' }),
});

export const ShelvesReply = Type.Object({ items: Type.Array(ShelfItem), products: Type.Array(ProductView), next: Type.Null() });
