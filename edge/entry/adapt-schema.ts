/** The `entry.adapt` config section (learning at the door; the rules are in adapt.ts). */
import { Type, type Static } from '@sinclair/typebox';

export const AdaptSchema = Type.Object({
  enabled: Type.Boolean({ default: false, description: 'Learn at the door: after a confident, unambiguous, liveness-passed face match, keep the deciding frame as an extra (encrypted) template of the villager, so the door also knows them in its other lights. Only for villagers whose consent covers it (faces learning --allow); needs liveness on; audited, listed and removable (faces learning). Off by default: on the door-like sets it raised no presentation (docs/faces.md)' }),
  max_distance: Type.Number({ minimum: 0, maximum: 2, default: 0.22, description: 'The deciding frame must lie at most this far from the villager (much stricter than match.threshold; not above it)' }),
  min_margin: Type.Number({ minimum: 0, maximum: 2, default: 0.16, description: 'The runner-up villager must be at least this much farther than the villager (much stricter than match.margin; not below it)' }),
  max_drift: Type.Number({ minimum: 0, maximum: 2, default: 0.37, description: 'Anchor: a frame farther than this from every enrolled template of the villager is not learned, however confident, so learned templates cannot walk away from the enrolment one day at a time' }),
  min_novelty: Type.Number({ minimum: 0, maximum: 2, default: 0.08, description: 'A frame nearer than this to one of the villager\'s templates adds nothing and is not kept' }),
  max_per_villager: Type.Integer({ minimum: 1, maximum: 20, default: 5, description: 'Learned templates kept per villager (enrolled ones are never replaced); when full, a new frame replaces the most redundant learned one if that spreads the set' }),
  max_per_day: Type.Integer({ minimum: 1, maximum: 20, default: 1, description: 'Templates learned per villager per day (the store\'s time zone), so that no run of visits can pull a villager\'s templates far' }),
}, { additionalProperties: false, default: {}, description: 'Template adaptation: learning a villager\'s face at the door' });
export type AdaptConfig = Static<typeof AdaptSchema>;
