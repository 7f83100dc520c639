/**
 * A year of the stores' alarm history in the village ledger, written straight into store_alarms
 * for bench/store-alarms-recent.ts: one village of `stores` stores, `cleared` occurrences spread
 * evenly over them and over 2026 (a flapping lock's doors, one to four cleared by each list), and
 * two active alarms per store. The same rows on every run; the statistics gathered (ANALYZE).
 */
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { addVillage, registerStore } from '../../cloud-sync/ledger/tables.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const YEAR_MIN = 365 * 24 * 60;
const at = (minute: number): string => new Date(T0 + minute * 60_000).toISOString();

/** Stores `s0`…: `cleared` should be a multiple of `stores`. */
export async function seedAlarmYear(db: SqlDb, village: string, stores: number, cleared: number): Promise<void> {
  await addVillage(db, village, '示范村', at(0));
  for (let s = 0; s < stores; s++) await registerStore(db, village, `s${s}`, 'k', 'unused');
  const rows: unknown[][] = [];
  let x = 12_345;
  const next = (n: number): number => (x = (x * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
  const per = Math.floor(cleared / stores);
  const step = YEAR_MIN / per;
  for (let s = 0; s < stores; s++) {
    for (let i = 0; i < per;) {
      const base = Math.floor(i * step);
      const clearedAt = at(base + next(30));
      for (let k = Math.min(per - i, 1 + next(4)); k > 0; k--, i++) {
        const raised = at(base - 1 - next(600));
        rows.push([village, `s${s}`, JSON.stringify(['lock_unconfirmed', `door ${i % 7}`, raised]), i + 1, 'lock_unconfirmed', `door ${i % 7}`, raised, clearedAt]);
      }
    }
    for (let k = 0; k < 2; k++) rows.push([village, `s${s}`, JSON.stringify(['scale_fault', `A${k}`, at(YEAR_MIN + k)]), per + k + 1, 'scale_fault', `A${k}`, at(YEAR_MIN + k), null]);
  }
  const BATCH = 500;
  await db.transaction(async (tx) => {
    for (let b = 0; b < rows.length; b += BATCH) {
      const part = rows.slice(b, b + BATCH);
      const values = part.map((_r, i) => `(${Array.from({ length: 8 }, (_v, j) => `$${i * 8 + j + 1}`).join(', ')}, 'warning', 'no confirmation', $${i * 8 + 7}, 1, $${i * 8 + 7})`).join(', ');
      await tx.run(
        `INSERT INTO store_alarms (village, store, occurrence, store_alarm_id, kind, subject, raised_at, cleared_at, severity, detail, last_seen_at, seen, first_heard_at) VALUES ${values}`,
        part.flat(),
      );
    }
  });
  await db.exec('ANALYZE');
}
