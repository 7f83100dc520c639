/** TypeBox schemas of the villager routes (edge/http/villager-routes.ts). */
import { Type } from '@sinclair/typebox';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const VillagerView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  village: Type.String(),
  status: Type.String(),
  balance: Type.Integer(),
  debt: Type.Integer(),
  face_consent_at: Nullable(Type.String({ format: 'date-time' })),
  face_consent_by: Nullable(Type.String()),
  face_templates: Type.Integer(),
  face_templates_learned: Type.Integer({ description: 'Of face_templates, how many the door learned (entry.adapt; `faces learning`)' }),
});

export const SearchReply = Type.Object({ items: Type.Array(VillagerView), next: Nullable(Type.String({ description: 'Pass as `after` for the next page' })) });

export const HistoryItem = Type.Object({
  seq: Type.Integer(),
  id: Type.String(),
  kind: Type.String(),
  points: Type.Integer(),
  balance_after: Type.Integer(),
  reason: Nullable(Type.String()),
  reference: Nullable(Type.String()),
  origin: Type.String(),
  at: Type.String({ format: 'date-time' }),
});

export const HistoryReply = Type.Object({ villager: VillagerView, items: Type.Array(HistoryItem), next: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as `before` for older entries' }) });
