/** A month in the store's time zone as the instants the ledger keeps (edge/http/statement-month.ts). */
import { describe, expect, it } from 'vitest';
import { monthOf, monthRange } from '../../edge/http/statement-month.ts';

describe('monthRange', () => {
  it.each([
    ['2026-11', 'Asia/Shanghai', '2026-10-31T16:00:00.000Z', '2026-11-30T16:00:00.000Z', '2026-10', '2026-12'],
    ['2026-12', 'Asia/Shanghai', '2026-11-30T16:00:00.000Z', '2026-12-31T16:00:00.000Z', '2026-11', '2027-01'],
    ['2026-01', 'UTC', '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2025-12', '2026-02'],
    // summer time starts on 29 March: March starts at +0, April at +1
    ['2026-03', 'Europe/London', '2026-03-01T00:00:00.000Z', '2026-03-31T23:00:00.000Z', '2026-02', '2026-04'],
    // a zone behind UTC, across its change back in November
    ['2026-11', 'America/New_York', '2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z', '2026-10', '2026-12'],
  ])('%s in %s', (month, tz, from, to, prev, next) => {
    expect(monthRange(month, tz)).toEqual({ month, from, to, prev, next });
    expect(monthOf(new Date(from), tz)).toBe(month);
    expect(monthOf(new Date(Date.parse(from) - 1), tz)).toBe(prev);
    expect(monthOf(new Date(Date.parse(to) - 1), tz)).toBe(month);
  });
});
