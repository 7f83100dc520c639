/**
 * Calendar arithmetic in an IANA time zone (the store's `jobs.timezone`; the system's when
 * undefined), for the instants the ledger keeps its times in (UTC). Used by the month statement
 * (edge/http/statement-month.ts) and the offline limit's day (edge/ledger/sync-state.ts).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's wall clock at instant `t`: year, month (1–12), day, hour, minute, second. */
export function zoneParts(t: number, timeZone: string | undefined): Record<string, number> {
  const key = timeZone ?? '';
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { ...(timeZone ? { timeZone } : {}), year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(key, f);
  }
  return Object.fromEntries(f.formatToParts(new Date(t)).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
}

/** How far the zone's wall clock is ahead of UTC at instant `t`, in ms. */
export function zoneOffsetMs(t: number, timeZone: string | undefined): number {
  const p = zoneParts(t, timeZone);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - Math.floor(t / 1000) * 1000;
}

/** The instant a wall-clock time `wall` (as if UTC, from Date.UTC) is in the zone, right across a change of offset. */
export function zoneInstant(wall: number, timeZone: string | undefined): number {
  // the offset at the guess, then at the instant it gives
  const first = wall - zoneOffsetMs(wall, timeZone);
  return wall - zoneOffsetMs(first, timeZone);
}

/** The instant of the local midnight that starts the zone's calendar day of `at`. */
export function zoneDayStart(at: Date, timeZone: string | undefined): Date {
  const p = zoneParts(at.getTime(), timeZone);
  return new Date(zoneInstant(Date.UTC(p.year!, p.month! - 1, p.day!), timeZone));
}
