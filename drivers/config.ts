/**
 * Config slice of the hardware drivers. Lives in drivers/ so the drivers stay independent
 * of the daemon; edge/config composes it.
 */
import { Type, type Static } from '@sinclair/typebox';

export const DriversConfigSchema = Type.Object(
  {
    simulated: Type.Boolean({ default: true, description: 'Use the built-in simulators instead of real serial devices' }),
  },
  { additionalProperties: false, default: {} },
);

export type DriversConfig = Static<typeof DriversConfigSchema>;
