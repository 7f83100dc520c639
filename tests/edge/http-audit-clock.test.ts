/**
 * Every admin action's audit record (and the row it changes) is stamped with the app's clock,
 * the one the daemon gives it, not the system's: a simulated or test clock years away from the
 * machine's shows in every `at`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { openSession, settleSession } from '../../edge/ledger/sessions.ts';
import { listOpenReview } from '../../edge/ledger/review.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { getCard } from '../../edge/ledger/credentials.ts';
import { getAdminAccount } from '../../edge/ledger/admin-accounts.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, signIn, TEST_AUTH, type Signed } from './admin-auth.ts';

/** Far from any machine's clock, and stepped by each action so each shows its own time. */
let now = Date.parse('2031-03-04T05:06:07.000Z');
const clock = (): Date => new Date(now);

class FakeScales {
  weights = new Map<string, number | null>([['B1', 2700], ['A1', 0]]);
  status() {
    return [...this.weights].map(([slot, g]) => ({ slot, health: 'ok', stable_g: g }));
  }
  async zero(slot: string): Promise<void> {
    this.weights.set(slot, 0);
  }
}

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const scales = new FakeScales();
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH, scales: () => scales, clock }, pino({ level: 'silent' }));
let s: Signed;

beforeAll(async () => {
  const db = ledger.db;
  await createAccount(db, 'cun', 'village_admin');
  await createAccount(db, 'lock-me');
  addVillager(db, { id: 'V001', name: '王大妈', village: '前进村' });
  applyEntry(db, { id: 'e1', villagerId: 'V001', kind: 'award', points: 100, origin: 'cli' }, rules);
  upsertProduct(db, { sku: 'oil', name: '菜籽油', price: 30, unitG: 900, toleranceG: 15 });
  upsertSlot(db, { slot: 'B1', address: 13, sku: 'oil', stock: 5 });
  upsertSlot(db, { slot: 'A1', address: 11, sku: null, stock: 0 });
  openSession(db, { id: 'buy1', kind: 'shopping', villagerId: 'V001', enteredBy: 'card', state: 'shopping', context: {} });
  settleSession(db, { sessionId: 'buy1', lines: [{ sku: 'oil', slot: 'B1', count: 2 }], review: [{ slot: 'B1', reason: 'not_whole_count', deltaG: -450, detail: null }] }, rules);
  s = await signIn(app, 'cun');
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

describe('admin actions stamp their audit records with the app\'s clock', () => {
  it('a login locked by wrong passwords: the lock and its audit record on the clock', async () => {
    now += 60_000;
    const me = await app.inject({ url: '/api/me' });
    const cookie = (me.headers['set-cookie'] as string).split(';')[0]!;
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({ method: 'POST', url: '/login', headers: { cookie, 'x-csrf-token': me.json().csrf_token }, payload: { username: 'lock-me', password: 'not the password' } });
      // the fifth wrong password is the one that locks, and says so (423)
      expect(res.statusCode).toBe(i < 4 ? 401 : 423);
    }
    const lock = listAudit(ledger.db, { limit: 100 }).find((r) => r.action === 'account.lock');
    expect(lock?.at).toBe(new Date(now).toISOString());
    expect(getAdminAccount(ledger.db, 'lock-me')?.lockedUntil).toBe(new Date(now + 15 * 60_000).toISOString());
  });

  it('every action: the audit row\'s `at` is the clock\'s time at that action', async () => {
    const actions: Array<[string, Record<string, unknown>]> = [
      ['/api/villagers/V001/status', { status: 'blocked' }],
      ['/api/villagers/V001/status', { status: 'active' }],
      ['/api/accounts', { username: 'xiaowang', display_name: '小王', role: 'maintainer', password: 'abcdefghijk1', password_confirm: 'abcdefghijk1' }],
      ['/api/products', { sku: 'soap', name: '肥皂', price: 3, unit_g: 120, tolerance_g: 5 }],
      ['/api/products/soap', { name: '香皂', price: 4, unit_g: 120, tolerance_g: 5, active: true }],
      ['/api/slots/A1', { address: 11, sku: 'soap' }],
      ['/api/shelves/B1/count', {}],
      ['/api/shelves/A1/zero', { confirm_empty: true }],
      ['/api/shelves/B1/calibrate', { known_g: 2700 }],
      ['/api/cards/issue', { villager: 'V001', card: 'PB-7001' }],
      ['/api/cards/revoke', { card: 'PB-7001' }],
      [`/api/review/${listOpenReview(ledger.db)[0]!.id}/resolve`, { resolution: 'waive' }],
      ['/api/receipts/buy1/refund', { points: 30, reason: '油漏了' }],
    ];
    const want: string[] = [];
    for (const [url, payload] of actions) {
      now += 60_000;
      const res = await app.inject({ method: 'POST', url, headers: s.post, payload });
      expect(res.statusCode, `${url} ${res.body}`).toBeLessThan(300);
      want.push(new Date(now).toISOString());
    }
    const rows = listAudit(ledger.db, { limit: 100 }).filter((r) => r.actor === 'cun').reverse();
    expect(rows.map((r) => `${r.action} ${r.at}`)).toEqual(rows.map((r, i) => `${r.action} ${want[i]}`));
    expect(rows).toHaveLength(actions.length);
    // the rows changed are stamped alike
    expect(getCard(ledger.db, 'PB-7001')?.revokedAt).toBe(want[10]);
    expect(getAdminAccount(ledger.db, 'xiaowang')?.createdAt).toBe(want[2]);
  });
});
