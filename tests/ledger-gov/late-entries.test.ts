/**
 * Late entries (补录): an entry stamped in a village month (UTC+8) but received by the ledger
 * after that month ended. A store offline for days is believed, so its entry counts in the month
 * it was stamped (the rule of store-time.ts, kept), but a month already closed then shows new
 * figures: the month statement lists such entries apart with both times and the store, the
 * passbook says when the ledger received the line (补录于 …), and the roll-up's months count them.
 * Before, nothing showed the receipt: a town auditor saw October's figures change unmarked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rollup } from '../../cloud-sync/ledger/governance/rollup.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { seedStoreClocks } from './store-clock-fixture.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;

// the fixture: `offline` sold 5 points on 30 October, received on 20 November (late for October);
// `fast` stamped 2027 and received on 20 November (dated on receipt: not late); `near` stamped two
// minutes past the 1st of December (village time), received before it (not late either)
const RECEIVED = '2026-11-20T04:00:00.000Z';
const OFFLINE = '2026-10-30T04:00:00.000Z';

describe(`late entries (补录) shown wherever a month's figures are (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    await ledger?.drop();
    g = undefined;
    ledger = undefined;
  });

  it('the statement lists them apart with both times, the passbook marks them, the roll-up counts them; they still count in their stamped month', async () => {
    ledger = await tempLedgerDb();
    await seedStoreClocks(ledger.db);
    g = await govApp({ db: ledger.db, village: 'va', clock: () => new Date('2026-12-02T02:00:00.000Z') });

    const oct = await g.call(g.va, 'GET', '/api/villages/va/statement?month=2026-10');
    expect(oct.statusCode, oct.body).toBe(200);
    const s = oct.json() as { rows: { villager: string; spent: number; late: number }[]; totals: { spent: number; late: number }; late: unknown[] };
    // counted in October, as before
    expect(s.totals.spent).toBe(5);
    expect(s.rows.map((r) => [r.villager, r.late])).toEqual([['zhang', 1]]);
    expect(s.totals.late).toBe(1);
    expect(s.late).toEqual([{ id: 'offline-r1', villager: 'zhang', name: '张三', kind: 'redemption', points: -5, store: 'offline', made_at: OFFLINE, received_at: RECEIVED }]);
    for (const month of ['2026-11', '2026-12']) {
      const r = await g.call(g.va, 'GET', `/api/villages/va/statement?month=${month}`);
      expect({ month, late: (r.json() as { late: unknown[] }).late }).toEqual({ month, late: [] });
    }
    const csv = await g.call(g.va, 'GET', '/api/villages/va/statement.csv?month=2026-10');
    expect(csv.statusCode).toBe(200);
    expect(csv.body).toContain('补录笔数 late');
    const lateLine = csv.body.split('\r\n').find((l) => l.includes('offline-r1'));
    expect(lateLine).toBeDefined();
    expect(lateLine).toContain(OFFLINE);
    expect(lateLine).toContain(RECEIVED);
    expect(lateLine).toContain('offline');

    const book = await g.call(g.va, 'GET', '/api/villages/va/villagers/zhang/passbook');
    expect(book.statusCode, book.body).toBe(200);
    const lines = (book.json() as { lines: { store: string | null; late_received: string | null }[] }).lines;
    expect(lines.map((l) => [l.store, l.late_received])).toEqual([['fast', null], ['offline', RECEIVED], ['near', null]]);

    const r = await rollup(ledger.db, ['va'], { from: '2026-10', to: '2026-12' });
    expect(r.months.map((m) => [m.month, m.redeemed, m.late_entries, m.late_points])).toEqual([['2026-10', 5, 1, -5], ['2026-11', 7, 0, 0], ['2026-12', 3, 0, 0]]);
    const rcsv = await g.call(g.va, 'GET', '/api/villages/va/rollup.csv?table=months&from=2026-10&to=2026-12');
    expect(rcsv.statusCode, rcsv.body).toBe(200);
    const [head, first] = rcsv.body.replace(/^\uFEFF/, '').split('\r\n');
    expect(head).toContain('补录笔数 late entries');
    expect(first!.split(',').slice(-2)).toEqual(['1', '-5']);
  });
});
