/**
 * One way to show a time on every page: `2026-11-30 20:13`, in the store's time zone (the
 * system's when none is configured). Absent times show as "—".
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? '';
  let f = formatters.get(key);
  if (!f) {
    // built once per zone: a formatter costs about a millisecond to make
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(key, f);
  }
  return f;
}

export const EMPTY = '—';

export function formatTime(iso: string | number | null | undefined, timeZone?: string): string {
  if (iso === null || iso === undefined || iso === '') return EMPTY;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return EMPTY;
  const p = Object.fromEntries(formatter(timeZone).formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}
