/** The `entry.adapt` config section (learning at the door; the rules are in adapt.ts). */
import { Type, type Static } from '@sinclair/typebox';

export const AdaptSchema = Type.Object({
  enabled: Type.Boolean({ default: false, description: 'Learn at the door: after a confident, unambiguous, liveness-passed face match, keep the deciding frame as an extra (encrypted) template of the villager, so the door also knows them in its other lights. Only for villagers whose consent covers it (faces learning --allow); needs liveness on; audited, listed and removable (faces learning). Off by default: on the door-like sets it raised no presentation (docs/faces.md)' }),
  max_distance: Type.Number({ minimum: 0, maximum: 2, default: 0.2, description: 'The deciding frame must lie at most this far from the villager (stricter than match.threshold; not above it). 0.22 was measured against the door\'s former threshold 0.30; 0.20 keeps it within the door\'s 0.205 and is not measured again (learning ships off: docs/face-learning.md)' }),
  min_margin: Type.Number({ minimum: 0, maximum: 2, default: 0.16, description: 'The runner-up villager must be at least this much farther than the villager (much stricter than match.margin; not below it)' }),
  max_drift: Type.Number({ minimum: 0, maximum: 2, default: 0.37, description: 'Anchor: a frame farther than this from every enrolled template of the villager is not learned, however confident, so learned templates cannot walk away from the enrolment one day at a time' }),
  min_novelty: Type.Number({ minimum: 0, maximum: 2, default: 0.08, description: 'A frame nearer than this to one of the villager\'s templates adds nothing and is not kept' }),
  max_per_villager: Type.Integer({ minimum: 1, maximum: 20, default: 5, description: 'Learned templates kept per villager (enrolled ones are never replaced); when full, a new frame replaces the most redundant learned one if that spreads the set' }),
  max_per_day: Type.Integer({ minimum: 1, maximum: 20, default: 1, description: 'Templates learned per villager per day (the store\'s time zone), so that no run of visits can pull a villager\'s templates far' }),
  card: Type.Object({
    enabled: Type.Boolean({ default: false, description: 'Card-confirmed learning: when the door was not sure of a face (uncertain) and the villager then came in with their own card or QR code, keep the frame of that window nearest them as a pending template, which takes part in matching only once a maintainer confirms it (villager page, or faces learning --confirm). Same consent, liveness and anchor rules as learning from confident matches; independent of enabled' }),
    within_s: Type.Integer({ minimum: 5, maximum: 600, default: 90, description: 'The card or QR code must open the door within this many seconds of the uncertain decision to count as the same visit' }),
    expire_days: Type.Integer({ minimum: 1, maximum: 90, default: 14, description: 'A pending template not confirmed within this many days is deleted (the daily retention job; audited)' }),
    max_pending: Type.Integer({ minimum: 1, maximum: 10, default: 2, description: 'Pending templates kept per villager; further uncertain visits are not kept until a maintainer confirms or rejects' }),
  }, { additionalProperties: false, default: {}, description: 'Card-confirmed learning at the door (docs/face-learning.md)' }),
}, { additionalProperties: false, default: {}, description: 'Template adaptation: learning a villager\'s face at the door' });
export type AdaptConfig = Static<typeof AdaptSchema>;
