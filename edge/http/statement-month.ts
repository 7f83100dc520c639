/**
 * A calendar month in the store's time zone (`jobs.timezone`, the system's when none is set) as
 * the instants the ledger keeps its times in: from its first local midnight (inclusive) to the
 * next month's (exclusive), as ISO 8601 UTC strings.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(t: number, timeZone: string | undefined): Record<string, number> {
  const key = timeZone ?? '';
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { ...(timeZone ? { timeZone } : {}), year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(key, f);
  }
  return Object.fromEntries(f.formatToParts(new Date(t)).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
}

/** How far the zone's wall clock is ahead of UTC at instant `t`, in ms. */
function offsetMs(t: number, timeZone: string | undefined): number {
  const p = parts(t, timeZone);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - Math.floor(t / 1000) * 1000;
}

/** The instant of local midnight starting day 1 of `month` (1–12; 13 is next year's January). */
function monthStart(year: number, month: number, timeZone: string | undefined): number {
  const wall = Date.UTC(year, month - 1, 1);
  // the offset at the guess, then at the instant it gives (right across a change of offset)
  const first = wall - offsetMs(wall, timeZone);
  return wall - offsetMs(first, timeZone);
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
