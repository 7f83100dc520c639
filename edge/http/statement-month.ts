/**
 * A calendar month in the store's time zone (`jobs.timezone`, the system's when none is set) as
 * the instants the ledger keeps its times in: from its first local midnight (inclusive) to the
 * next month's (exclusive), as ISO 8601 UTC strings.
 */
import { zoneInstant, zoneParts as parts } from '../../lib/zone-time.ts';

/** The instant of local midnight starting day 1 of `month` (1–12; 13 is next year's January). */
function monthStart(year: number, month: number, timeZone: string | undefined): number {
  return zoneInstant(Date.UTC(year, month - 1, 1), timeZone);
}

export interface MonthRange { month: string; from: string; to: string; prev: string; next: string }

const ym = (year: number, month: number): string => `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;

/** `2026-11` → its instants in the zone, with the months before and after. */
export function monthRange(month: string, timeZone: string | undefined): MonthRange {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return {
    month,
    from: new Date(monthStart(y, m, timeZone)).toISOString(),
    to: new Date(monthStart(y, m + 1, timeZone)).toISOString(),
    prev: m === 1 ? ym(y - 1, 12) : ym(y, m - 1),
    next: m === 12 ? ym(y + 1, 1) : ym(y, m + 1),
  };
}

/** The month `at` falls in, in the zone: `2026-11`. */
export function monthOf(at: Date, timeZone: string | undefined): string {
  const p = parts(at.getTime(), timeZone);
  return ym(p.year!, p.month!);
}
