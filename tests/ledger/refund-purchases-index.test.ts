/**
 * The refund forms' list (`refundablePurchases`: /review's refunds and a villager's purchases) and
 * the refund route's `refundable` are answered through indexes (schema 15), not by walking every
 * purchase the store ever settled with, for each, its villager's entries and every review line:
 * on a store a year old /review took half a second and more. The plans name the indexes and sort
 * nothing; the answers are what the rule says (cost = settlement + review charges asked, less the
 * refunds), newest first, paged by the cursor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refundable, refundablePurchases } from '../../edge/ledger/refunds.ts';
import { inTransaction } from '../../edge/ledger/db.ts';
import { tempLedger } from './helpers.ts';

const t = tempLedger();
const PURCHASES = 600;
const VILLAGERS = 12;
const at = (i: number): string => new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString();

/** What each purchase cost, what was refunded of it (the rule, counted in JS). */
const expected = new Map<string, { villager: string; cost: number; refunded: number; i: number }>();

beforeAll(() => {
  const db = t.db;
  inTransaction(db, 'a year of purchases', () => {
    const villager = db.prepare("INSERT INTO villagers (id, name, village, balance, created_at, updated_at) VALUES (?, ?, '前进村', 10000, ?, ?)");
    for (let v = 0; v < VILLAGERS; v++) villager.run(`V${v}`, `村民${v}`, at(0), at(0));
    const session = db.prepare("INSERT INTO store_sessions (id, kind, villager_id, entered_by, state, status, total_points, opened_at, closed_at, updated_at) VALUES (?, ?, ?, 'card', 'done', ?, ?, ?, ?, ?)");
    const entry = db.prepare("INSERT INTO entries (id, villager_id, kind, points, balance_after, reference, reason, origin, created_at) VALUES (?, ?, ?, ?, 0, ?, 'r', 'admin', ?)");
    const review = db.prepare("INSERT INTO review_lines (session_id, slot, reason, created_at, resolved_at, resolution) VALUES (?, 'A1', 'not_stable', ?, ?, ?)");
    for (let i = 0; i < PURCHASES; i++) {
      const id = `s${String(i).padStart(4, '0')}`;
      const v = `V${i % VILLAGERS}`;
      // a restock and a cancelled visit now and then: never listed
      const kind = i % 50 === 7 ? 'restock' : 'shopping';
      const status = i % 50 === 8 ? 'cancelled' : 'settled';
      session.run(id, kind, v, status, 30, at(i), at(i), at(i));
      entry.run(`red-${id}`, v, 'redemption', -30, id, at(i));
      let cost = 30;
      if (i % 9 === 0) {
        review.run(id, at(i), at(i), 'charged 12 (菜籽油×1)');
        cost += 12;
      }
      if (i % 11 === 0) review.run(id, at(i), at(i), 'waived');
      let refunded = 0;
      if (i % 5 === 0) {
        refunded = i % 10 === 0 ? cost : 10;
        entry.run(`refund:${id}:1`, v, 'refund', refunded, id, at(i));
      }
      if (kind === 'shopping' && status === 'settled') expected.set(id, { villager: v, cost, refunded, i });
    }
  });
});
afterAll(() => t.cleanup());

/** The plan of every statement `fn` prepares that counts refunds (the others: a session by its key). */
function plansOf(fn: () => unknown): string[] {
  const db = t.db;
  const prepare = db.prepare.bind(db);
  const seen: string[] = [];
  const spy = ((sql: string) => {
    seen.push(sql);
    return prepare(sql);
  }) as typeof db.prepare;
  db.prepare = spy;
  try {
    fn();
  } finally {
    db.prepare = prepare;
  }
  const params = { limit: 20, villager: 'V3', before: 's0300', session: 's0300' };
  return seen.filter((sql) => sql.includes("e.kind = 'refund'")).map((sql) => {
    const names = [...new Set([...sql.matchAll(/@(\w+)/g)].map((m) => m[1]!))];
    const args = Object.fromEntries(names.map((n) => [n, params[n as keyof typeof params]]));
    return (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(args) as { detail: string }[]).map((r) => r.detail).join(' | ');
  });
}

describe('refundable purchases on a store with many', () => {
  it.each<[string, { villagerId?: string; before?: string }]>([
    ['/review, first page', {}],
    ['/review, an older page', { before: 's0300' }],
    ['a villager\'s page', { villagerId: 'V3' }],
    ['a villager\'s older page', { villagerId: 'V3', before: 's0300' }],
  ])('%s: through the indexes, nothing scanned or sorted', (_what, opts) => {
    const plans = plansOf(() => refundablePurchases(t.db, { limit: 20, ...opts }));
    expect(plans).toHaveLength(1);
    const list = plans[0]!;
    expect(list).toMatch(opts.villagerId ? /store_sessions_villager_purchases/ : /store_sessions_purchases/);
    expect(list).toContain('entries_refunds');
    expect(list).toContain('review_lines_session');
    // a walk of the purchases' index in order stops at the page's end; a table walked is every row
    expect(list).not.toMatch(/(^|\| )SCAN (s|r|e)(?! USING (COVERING )?INDEX)/);
    expect(list).not.toContain('TEMP B-TREE');
  });

  it('the refund route\'s count uses the same indexes', () => {
    const plans = plansOf(() => refundable(t.db, 's0300'));
    expect(plans).toHaveLength(1);
    const plan = plans[0]!;
    expect(plan).toContain('entries_refunds');
    expect(plan).toContain('review_lines_session');
  });

  it('answers by the rule: newest first, only what has something left, paged by the cursor', () => {
    const left = [...expected].filter(([, e]) => e.cost > e.refunded).sort((a, b) => b[1].i - a[1].i);
    const pages: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = refundablePurchases(t.db, { limit: 50, ...(before !== undefined ? { before } : {}) });
      for (const p of page) {
        const e = expected.get(p.session)!;
        expect(p, p.session).toMatchObject({ villagerId: e.villager, cost: e.cost, refunded: e.refunded, left: e.cost - e.refunded });
      }
      pages.push(...page.map((p) => p.session));
      if (page.length < 50) break;
      before = page[page.length - 1]!.session;
    }
    expect(pages).toEqual(left.map(([id]) => id));
    const mine = refundablePurchases(t.db, { limit: 1000, villagerId: 'V3' }).map((p) => p.session);
    expect(mine).toEqual(left.filter(([, e]) => e.villager === 'V3').map(([id]) => id));
    expect(refundable(t.db, 's0009')).toMatchObject({ cost: 42, refunded: 0, left: 42 });
    expect(refundable(t.db, 's0010')).toMatchObject({ cost: 30, refunded: 30, left: 0 });
  });
});
