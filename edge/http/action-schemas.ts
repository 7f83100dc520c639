/**
 * TypeBox schemas of what the admin API's actions answer (a form gets a page or a redirect
 * instead), and of the session and account routes. Replies are serialised through them, so an
 * action cannot leak a field it was not meant to show; /docs shows them.
 */
import { Type } from '@sinclair/typebox';
import { ReviewItem, Time } from './schemas.ts';
import { VillagerView } from './villager-schemas.ts';
import { ProductView } from './shelf-schemas.ts';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);
const AuditId = Type.Integer({ description: 'The audit record of the action (GET /api/audit)' });
const EntryRef = Type.Object({ id: Type.String(), points: Type.Integer(), balance_after: Type.Integer() });

export const StatusReply = Type.Object({ villager: VillagerView, audit_id: AuditId });

export const ResolveReply = Type.Object({
  review: ReviewItem,
  entry: Type.Union([EntryRef, Type.Null()], { description: 'The redemption a charge or correction made; null for a waiver' }),
  debt: Type.Integer({ description: 'Points the charge could not take and added to the debt' }),
  audit_id: AuditId,
  stock_warning: Type.Union([
    Type.Object({
      kind: Type.Union([Type.Literal('clipped'), Type.Literal('no_slot')], { description: '`clipped`: the slot held fewer than corrected, its stock set to 0; `no_slot`: the product is on no slot, no stock moved' }),
      message: Type.String(),
      zh: Type.String(),
      review_line: Type.Union([Type.Integer(), Type.Null()], { description: 'The `stock_clipped` line raised to count the shelf (clipped only)' }),
    }),
    Type.Null(),
  ], { description: 'A correction whose stock did not add up; null when it moved as said (and for a charge or a waiver)' }),
});

const IssuedCard = Type.Object({ card_no: Type.String({ description: 'Shown this once, to print the slip' }), villager_id: Type.String(), created_at: Time() });
export const CardIssueReply = Type.Object({ card: IssuedCard });
export const CardIssueDuplicateReply = Type.Object({ card: IssuedCard, duplicate: Type.Literal(true, { description: 'The same `request` again: the card it issued, nothing new' }) });
export const CardRevokeReply = Type.Object({ card: Type.String({ description: 'Masked: PB-****01' }), revoked: Type.Boolean({ description: 'false: it was revoked already' }) });

export const SessionUser = Type.Object({ username: Type.String(), display_name: Type.String(), role: Type.String({ description: 'maintainer or village_admin' }) });
export const MeReply = Type.Object({ user: Type.Union([SessionUser, Type.Null()], { description: 'null: not signed in' }), csrf_token: Type.String({ description: 'Send as the x-csrf-token header of state-changing requests' }) });

export const AccountView = Type.Object({ username: Type.String(), display_name: Type.String(), role: Type.String(), locked_until: Type.Union([Time(), Type.Null()]), last_login_at: Type.Union([Time(), Type.Null()]), created_at: Time() });
export const AccountsReply = Type.Object({ items: Type.Array(AccountView), next: Type.Null({ description: 'Always null: every account is listed' }) });
export const AccountCreateReply = Type.Object({ account: Type.Object({ username: Type.String(), display_name: Type.String(), role: Type.String() }) });

export const ProductReply = Type.Object({ product: ProductView });
export const SlotReply = Type.Object({ slot: Type.Object({ slot: Type.String(), address: Type.Integer(), sku: Nullable(Type.String()), stock: Type.Integer() }) });
export const ZeroReply = Type.Object({ slot: Type.String(), zeroed: Type.Boolean(), weight_before_g: Type.Union([Type.Number(), Type.Null()]) });
export const CalibrateReply = Type.Object({ slot: Type.String(), known_g: Type.Number(), measured_g: Type.Number(), error_g: Type.Number(), audit_id: AuditId });
export const CountReply = Type.Object({ slot: Type.String(), sku: Type.String(), weight_g: Type.Number(), stock_before: Type.Integer(), stock: Type.Integer(), audit_id: AuditId });

export const WithdrawReply = Type.Object({ villager: VillagerView, removed: Type.Integer({ description: 'Face templates deleted' }) });
export const EnrolReply = Type.Object({ villager: VillagerView, templates: Type.Integer({ description: 'Templates made from this photo' }), already_enrolled: Type.Boolean({ description: 'true: the villager already held this picture (the same photo sent again); nothing stored again (templates 0), not an error' }) });
