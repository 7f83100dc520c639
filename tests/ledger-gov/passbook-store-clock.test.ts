/**
 * The dates a villager and the village office read of a store's entries (the passbook, the
 * villager's own page's history) are the store's stamp, but not beyond the ledger's receipt plus
 * the allowed clock skew (store-time.ts), as the roll-up and the board count them: a store whose
 * clock runs months fast cannot show a villager a purchase dated in the future. A store offline
 * for days is believed, and one a little fast within the skew keeps its own stamp. A passbook
 * line and an entry of the history say which of their dates is the ledger's receipt in place of
 * the store's stamp (`store_clock_ahead`), so that the passbook and the phone page can mark it;
 * before, nothing told it apart (the history's, until the passbook's was marked).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SKEW_MS } from '../../cloud-sync/protocol/clock.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { seedStoreClocks } from './store-clock-fixture.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;

// the fixture's three sales in the order the ledger received them: the fast store's (stamped
// 20 February 2027, received 20 November 2026), the offline store's, the one a little fast
const RECEIVED = '2026-11-20T04:00:00.000Z';
const OFFLINE = '2026-10-30T04:00:00.000Z';
const NEAR = new Date(Date.parse('2026-11-30T15:59:00.000Z') + DEFAULT_SKEW_MS - 60_000).toISOString();

describe(`a store's time in the passbook and the villager's history, within the allowed skew (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    await ledger?.drop();
    g = undefined;
    ledger = undefined;
  });

  it('a clock three months fast is dated when the ledger received it; a store offline for days and one a little fast by their own time', async () => {
    ledger = await tempLedgerDb();
    await seedStoreClocks(ledger.db);
    g = await govApp({ db: ledger.db, village: 'va', clock: () => new Date('2026-12-02T02:00:00.000Z') });
    const zhang = await g.villager('va', 'zhang');

    // an entry made at the ledger, dated by the ledger's own clock: no store's clock to doubt
    expect((await g.call(g.va, 'POST', '/api/villages/va/entries', { id: 'award-zhang', villager: 'zhang', kind: 'award', points: 20, reason: '打扫村道' })).statusCode).toBeLessThan(300);
    type Line = { date: string; points: number; balance: number; store: string | null; store_clock_ahead: boolean };
    const expected = [
      { date: RECEIVED, points: -7, balance: -7, store: 'fast', store_clock_ahead: true },
      { date: OFFLINE, points: -5, balance: -12, store: 'offline', store_clock_ahead: false },
      { date: NEAR, points: -3, balance: -15, store: 'near', store_clock_ahead: false },
      { points: 20, balance: 5, store: null, store_clock_ahead: false },
    ];
    for (const [who, url] of [[g.va, '/api/villages/va/villagers/zhang/passbook'], [zhang, '/api/villages/va/me/passbook']] as const) {
      const res = await g.call(who, 'GET', url);
      expect(res.statusCode, res.body).toBe(200);
      const lines = (res.json() as { lines: Line[] }).lines;
      expect(lines.map(({ date, points, balance, store, store_clock_ahead }) => ({ ...(store ? { date } : {}), points, balance, store, store_clock_ahead }))).toEqual(expected);
    }

    const me = await g.call(zhang, 'GET', '/api/villages/va/me');
    expect(me.statusCode, me.body).toBe(200);
    const history = (me.json() as { history: { created_at: string; points: number; store_clock_ahead: boolean }[] }).history;
    expect(history.map((h) => [h.created_at, h.points]).slice(1)).toEqual([[NEAR, -3], [OFFLINE, -5], [RECEIVED, -7]]);
    // the phone page's history says which date is the receipt, as the passbook (newest first)
    expect(history.map((h) => [h.points, h.store_clock_ahead])).toEqual([[20, false], [-3, false], [-5, false], [-7, true]]);
  });
});
