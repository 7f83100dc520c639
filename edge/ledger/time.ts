/** Timestamps in the ledger are ISO-8601 UTC strings; a clock is injectable for tests. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
export const iso = (clock: Clock = systemClock): string => clock().toISOString();
