/**
 * Property tests (fast-check) on the governance ledger, through the API: random sequences of
 * self-reports, village records, approvals (repeated), rejections and reversals. After each:
 * a balance is the sum of its entries and of what the model expects; caps are never passed;
 * approving a claim any number of times makes one entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

/** Items of the default library used here: their points and caps (per month or year, never crossed in a run). */
const ITEMS = {
  'GOV-MEETING': { sign: 1, min: 2, max: 2, cap: 2 },
  'GOV-SUGGESTION': { sign: 1, min: 5, max: 10, cap: 2 },
  'CIV-GOOD-FAMILY': { sign: 1, min: 30, max: 30, cap: 1 },
  'DED-LITTER': { sign: -1, min: 2, max: 2, cap: undefined },
} as const;
type Code = keyof typeof ITEMS;

type Op =
  | { op: 'report'; v: number; item: Code; points: number }
  | { op: 'approve'; c: number; times: number }
  | { op: 'reject'; c: number }
  | { op: 'reverse'; c: number };

/** `c` counts back from the latest claim: decisions fall mostly on recent reports, so caps are reached. */
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('report' as const), v: fc.nat(1), item: fc.constantFrom(...(Object.keys(ITEMS) as Code[])), points: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('approve' as const), c: fc.nat(3), times: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reject' as const), c: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reverse' as const), c: fc.nat(5) }) },
);

interface ModelClaim { id: string; v: string; item: Code; points: number; status: 'reported' | 'approved' | 'rejected' | 'reversed' }

describe(`governance properties (${ledgerDbKind})`, () => {
  let g: GovApp;
  let run = 0;
  beforeAll(async () => {
    g = await govApp();
  });
  afterAll(async () => {
    await g.close();
  });

  it('balance = sum of entries = the model; caps honoured; approval idempotent', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 30, size: 'max' }), async (ops) => {
      run++;
      const vs = [`p${run}x`, `p${run}y`];
      for (const v of vs) expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/${v}`, { name: v })).statusCode).toBe(200);
      const claims: ModelClaim[] = [];
      const approvedNow = (v: string, item: Code) => claims.filter((c) => c.v === v && c.item === item && c.status === 'approved').length;
      for (const o of ops) {
        if (o.op === 'report') {
          const it = ITEMS[o.item];
          const points = Math.min(it.max, Math.max(it.min, o.points));
          // Filed by the village (a villager's self-report takes the same path: tasks.test.ts).
          const res = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: o.item, villager: vs[o.v], points, ...(it.sign < 0 ? { evidence: 'photo:p' } : {}) });
          expect(res.statusCode).toBe(201);
          claims.push({ id: (res.json() as { id: string }).id, v: vs[o.v]!, item: o.item, points, status: 'reported' });
          continue;
        }
        const c = claims[claims.length - 1 - (o.c % Math.max(1, claims.length))];
        if (!c) continue;
        const url = `/api/villages/${g.a}/claims/${c.id}/${o.op}`;
        if (o.op === 'approve') {
          const cap = ITEMS[c.item].cap;
          const fits = c.status === 'reported' && (cap === undefined || approvedNow(c.v, c.item) < cap);
          for (let k = 0; k < o.times; k++) {
            const res = await g.call(g.va, 'POST', url, {});
            if (c.status === 'approved') {
              expect(res.statusCode).toBe(200);
              expect(res.json()).toMatchObject({ duplicate: k > 0 || !fits });
            } else if (fits && k === 0) {
              expect(res.statusCode).toBe(200);
              c.status = 'approved';
            } else {
              expect(res.statusCode).toBe(409);
            }
          }
        } else if (o.op === 'reject') {
          const res = await g.call(g.va, 'POST', url, { reason: '不符合' });
          if (c.status === 'reported' || c.status === 'rejected') {
            expect(res.statusCode).toBe(200);
            c.status = 'rejected';
          } else expect(res.statusCode).toBe(409);
        } else {
          const res = await g.call(g.va, 'POST', url, { reason: '撤销' });
          if (c.status === 'approved' || c.status === 'reversed') {
            expect(res.statusCode).toBe(200);
            c.status = 'reversed';
          } else expect(res.statusCode).toBe(409);
        }
      }
      for (const v of vs) {
        const mine = claims.filter((c) => c.v === v);
        const expected = mine.filter((c) => c.status === 'approved').reduce((s, c) => s + ITEMS[c.item].sign * c.points, 0);
        const me = (await g.call(g.va, 'GET', `/api/villages/${g.a}/villagers/${v}`)).json() as { balance: number };
        const sum = await g.db.query<{ s: number | string | null; n: number | string }>('SELECT SUM(points) AS s, COUNT(*) AS n FROM entries WHERE villager_id = $1', [v]);
        expect(me.balance).toBe(expected);
        expect(Number(sum[0]!.s ?? 0)).toBe(expected);
        // One entry per approval ever made, one per reversal: never more, whatever was repeated.
        expect(Number(sum[0]!.n)).toBe(mine.filter((c) => c.status === 'approved').length + 2 * mine.filter((c) => c.status === 'reversed').length);
        for (const code of Object.keys(ITEMS) as Code[]) {
          const cap = ITEMS[code].cap;
          const held = await g.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM gov_claims WHERE villager_id = $1 AND item_code = $2 AND status = 'approved'`, [v, code]);
          if (cap !== undefined) expect(Number(held[0]!.n)).toBeLessThanOrEqual(cap);
          expect(Number(held[0]!.n)).toBe(approvedNow(v, code));
        }
      }
    }), { numRuns: 40 });
  }, 180_000);
});
