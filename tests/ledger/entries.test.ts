import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fc from 'fast-check';
import { applyEntry, findBalanceMismatches, listEntries, type EntryKind } from '../../edge/ledger/entries.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { openLedger, type Db } from '../../edge/ledger/db.ts';
import { applySnapshot } from '../../edge/ledger/snapshot.ts';
import { ErrorCode, isEdgeError } from '../../edge/errors.ts';
import { codeOf, tempLedger } from './helpers.ts';

const rules = { creditFloor: 0 };
let t: ReturnType<typeof tempLedger>;
beforeEach(() => {
  t = tempLedger();
  addVillager(t.db, { id: 'v1', name: '王大妈', village: '前进村' });
});
afterEach(() => t.cleanup());


describe('villager ids', () => {
  it('refuses an id the sync protocol cannot carry (a colon), in both languages', () => {
    let err: unknown;
    try {
      addVillager(t.db, { id: 'cun3:042', name: '张三', village: '前进村' });
    } catch (e) {
      err = e;
    }
    expect(isEdgeError(err) && err.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(isEdgeError(err) && [err.message, err.zh]).toEqual([expect.stringContaining('cun3:042'), expect.stringContaining('村民编号')]);
    expect(getVillager(t.db, 'cun3:042')).toBeUndefined();
    addVillager(t.db, { id: 'cun3-042.a_b', name: '张三', village: '前进村' });
  });
});

describe('entries', () => {
  it('applies an award, moves the balance, and writes the outbox row in the same transaction', () => {
    const r = applyEntry(t.db, { id: 'e1', villagerId: 'v1', kind: 'award', points: 10, reason: '清扫街道', origin: 'cli' }, rules);
    expect(r.status).toBe('applied');
    expect(r.entry.balanceAfter).toBe(10);
    expect(getVillager(t.db, 'v1')!.balance).toBe(10);
    expect(countOutbox(t.db).total).toBe(2); // villager added + entry
  });

  it('reports a replayed id as duplicate and applies nothing', () => {
    applyEntry(t.db, { id: 'e1', villagerId: 'v1', kind: 'award', points: 10, origin: 'cli' }, rules);
    const again = applyEntry(t.db, { id: 'e1', villagerId: 'v1', kind: 'award', points: 10, origin: 'cli' }, rules);
    expect(again).toMatchObject({ status: 'duplicate', conflict: false });
    const changed = applyEntry(t.db, { id: 'e1', villagerId: 'v1', kind: 'award', points: 99, origin: 'cli' }, rules);
    expect(changed).toMatchObject({ status: 'duplicate', conflict: true });
    expect(getVillager(t.db, 'v1')!.balance).toBe(10);
    expect(listEntries(t.db, 'v1')).toHaveLength(1);
  });

  it('an id reused for a bigger deduction is taken unless the stored one stopped at the floor', () => {
    applyEntry(t.db, { id: 'seed', villagerId: 'v1', kind: 'award', points: 100, origin: 'cli' }, rules);
    applyEntry(t.db, { id: 'pen-7', villagerId: 'v1', kind: 'penalty', points: -10, origin: 'cli' }, rules);
    // applied in full, far above the floor: -50 under its id is another entry
    expect(applyEntry(t.db, { id: 'pen-7', villagerId: 'v1', kind: 'penalty', points: -50, origin: 'cli' }, rules)).toMatchObject({ status: 'duplicate', conflict: true });
    expect(getVillager(t.db, 'v1')).toMatchObject({ balance: 90, debt: 0 });
  });

  it('refuses non-integer, wrongly signed and out-of-range points, unknown villagers and bad ids', () => {
    const bad: [Partial<{ points: number; kind: EntryKind; villagerId: string; id: string }>, string][] = [
      [{ points: 1.5 }, ErrorCode.INVALID_ARGUMENT],
      [{ points: Number.NaN }, ErrorCode.INVALID_ARGUMENT],
      [{ points: -3 }, ErrorCode.INVALID_ARGUMENT], // an award must be positive
      [{ points: 0, kind: 'adjustment' }, ErrorCode.INVALID_ARGUMENT],
      [{ points: 5, kind: 'penalty' }, ErrorCode.INVALID_ARGUMENT],
      [{ points: 2e9 }, ErrorCode.INVALID_ARGUMENT],
      [{ villagerId: 'nobody' }, ErrorCode.UNKNOWN_VILLAGER],
      [{ id: '' }, ErrorCode.INVALID_ARGUMENT],
      [{ id: 'has space' }, ErrorCode.INVALID_ARGUMENT],
    ];
    for (const [patch, code] of bad) {
      expect(codeOf(() => applyEntry(t.db, { id: 'x', villagerId: 'v1', kind: 'award', points: 5, origin: 'cli', ...patch }, rules)), JSON.stringify(patch)).toBe(code);
    }
    expect(listEntries(t.db, 'v1')).toHaveLength(0);
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });

  it('no deduction of any kind or origin goes below the floor: the rest is debt, repaid first from later points', () => {
    const v = () => getVillager(t.db, 'v1')!;
    applyEntry(t.db, { id: 'a', villagerId: 'v1', kind: 'award', points: 47, origin: 'cli' }, rules);
    const p = applyEntry(t.db, { id: 'p', villagerId: 'v1', kind: 'penalty', points: -1000, origin: 'cli', reason: '占道堆放建材' }, rules);
    expect(p).toMatchObject({ status: 'applied', debtAdded: 953, entry: { points: -47, balanceAfter: 0 } });
    expect(v()).toMatchObject({ balance: 0, debt: 953 });
    // a retry of the same request is a duplicate, not a second debt, and not a conflict
    expect(applyEntry(t.db, { id: 'p', villagerId: 'v1', kind: 'penalty', points: -1000, origin: 'cli' }, rules)).toMatchObject({ status: 'duplicate', conflict: false });
    expect(applyEntry(t.db, { id: 'p', villagerId: 'v1', kind: 'penalty', points: -10, origin: 'cli' }, rules)).toMatchObject({ status: 'duplicate', conflict: true });
    // at the floor already: the whole deduction is debt, and still recorded once by its id
    for (const [id, kind, points, origin] of [['x', 'expiry', -5, 'ledger'], ['r', 'redemption', -6, 'store'], ['j', 'adjustment', -7, 'admin']] as const) {
      expect(applyEntry(t.db, { id, villagerId: 'v1', kind, points, origin }, rules)).toMatchObject({ status: 'applied', debtAdded: -points, entry: { points: 0, balanceAfter: 0 } });
      expect(applyEntry(t.db, { id, villagerId: 'v1', kind, points, origin }, rules).status).toBe('duplicate');
    }
    expect(v()).toMatchObject({ balance: 0, debt: 971 });
    const award = applyEntry(t.db, { id: 'b', villagerId: 'v1', kind: 'award', points: 1000, origin: 'ledger' }, rules);
    expect(award).toMatchObject({ status: 'applied', debtAdded: 0, debtRepaid: { points: -971, balanceAfter: 29 } });
    expect(v()).toMatchObject({ balance: 29, debt: 0 });
    // a floor below zero is room to spend into, for every kind alike
    expect(applyEntry(t.db, { id: 'q', villagerId: 'v1', kind: 'penalty', points: -40, origin: 'ledger' }, { creditFloor: -5 })).toMatchObject({ debtAdded: 6, entry: { points: -34, balanceAfter: -5 } });
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });

  it('an id reused for a bigger (or smaller) deduction after the first stopped at the floor is taken, not a duplicate: the amount asked is kept', () => {
    applyEntry(t.db, { id: 'aw', villagerId: 'v1', kind: 'award', points: 4, origin: 'cli' }, rules);
    const e = { id: 'pen-1', villagerId: 'v1', kind: 'penalty' as const, points: -10, origin: 'cli' as const };
    expect(applyEntry(t.db, e, rules)).toMatchObject({ status: 'applied', debtAdded: 6, entry: { points: -4 } });
    expect(applyEntry(t.db, e, rules)).toMatchObject({ status: 'duplicate', conflict: false });
    for (const points of [-50, -7, -4]) expect(applyEntry(t.db, { ...e, points }, rules), `${points}`).toMatchObject({ status: 'duplicate', conflict: true });
    // at the floor already: 0 moved, all of it debt; another amount under the id is taken too
    const z = { id: 'pen-2', villagerId: 'v1', kind: 'penalty' as const, points: -5, origin: 'cli' as const };
    expect(applyEntry(t.db, z, rules)).toMatchObject({ status: 'applied', debtAdded: 5, entry: { points: 0 } });
    expect(applyEntry(t.db, z, rules)).toMatchObject({ status: 'duplicate', conflict: false });
    expect(applyEntry(t.db, { ...z, points: -50 }, rules)).toMatchObject({ status: 'duplicate', conflict: true });
    expect(getVillager(t.db, 'v1')).toMatchObject({ balance: 0, debt: 11 });
  });

  it('a deduction retried while the balance stands below the floor (the village ledger took it there) is a duplicate, not another entry', () => {
    applySnapshot(t.db, { villagers: [], entries: [{ id: 'p0', villager: 'v1', kind: 'penalty', points: -50, created_at: new Date().toISOString() }] }, rules);
    expect(getVillager(t.db, 'v1')?.balance).toBe(-50);
    const e = { id: 'p1', villagerId: 'v1', kind: 'penalty' as const, points: -10, origin: 'cli' as const };
    expect(applyEntry(t.db, e, rules)).toMatchObject({ status: 'applied', entry: { points: 0, balanceAfter: -50 } });
    expect(applyEntry(t.db, e, rules)).toMatchObject({ status: 'duplicate', conflict: false });
    // another amount under the id is another entry, though neither moved the balance
    expect(applyEntry(t.db, { ...e, points: -20 }, rules)).toMatchObject({ status: 'duplicate', conflict: true });
    expect(applyEntry(t.db, { ...e, kind: 'expiry' }, rules)).toMatchObject({ status: 'duplicate', conflict: true });
    expect(applyEntry(t.db, { ...e, points: 10, kind: 'award' }, rules)).toMatchObject({ status: 'duplicate', conflict: true });
    expect(findBalanceMismatches(t.db)).toEqual([]);
  });

  it('entries are append-only in the database itself', () => {
    applyEntry(t.db, { id: 'a', villagerId: 'v1', kind: 'award', points: 5, origin: 'cli' }, rules);
    expect(() => t.db.prepare("UPDATE entries SET points = 500 WHERE id = 'a'").run()).toThrow(/append-only/);
    expect(() => t.db.prepare("DELETE FROM entries WHERE id = 'a'").run()).toThrow(/append-only/);
  });

  it('a full disk is a clear DB_FULL error with nothing half-written, and the ledger works again once there is room', () => {
    // SQLITE_FULL, as a full disk gives it, by capping the file's pages
    const pages = t.db.pragma('page_count', { simple: true }) as number;
    t.db.pragma(`max_page_count = ${pages + 2}`);
    let full: unknown;
    let applied = 0;
    for (let i = 0; i < 2000 && !full; i++) {
      try {
        applyEntry(t.db, { id: `fill-${i}`, villagerId: 'v1', kind: 'award', points: 1, reason: 'x'.repeat(400), origin: 'cli' }, rules);
        applied++;
      } catch (err) {
        full = err;
      }
    }
    expect(isEdgeError(full) ? full.code : full).toBe(ErrorCode.DB_FULL);
    expect(getVillager(t.db, 'v1')!.balance).toBe(applied);
    expect(findBalanceMismatches(t.db)).toEqual([]);
    expect(countOutbox(t.db).total).toBe(applied + 1);
    t.db.pragma('max_page_count = 1073741823');
    applyEntry(t.db, { id: 'after', villagerId: 'v1', kind: 'award', points: 1, origin: 'cli' }, rules);
    expect(getVillager(t.db, 'v1')!.balance).toBe(applied + 1);
  });
});

type Cmd =
  | { op: 'entry'; villager: number; kind: EntryKind; points: number }
  | { op: 'replay'; back: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('entry' as const), villager: fc.integer({ min: 0, max: 3 }), kind: fc.constantFrom<EntryKind>('award', 'penalty', 'redemption', 'refund', 'expiry', 'adjustment'), points: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('replay' as const), back: fc.integer({ min: 0, max: 50 }) }) },
);

const signed = (kind: EntryKind, n: number, flip: boolean): number => {
  switch (kind) {
    case 'award':
    case 'refund':
      return n;
    case 'penalty':
    case 'redemption':
    case 'expiry':
      return -n;
    case 'adjustment':
      return flip ? -n : n;
  }
};

describe('ledger invariants under random sequences (property-based)', () => {
  it('balance = sum of entries, no entry applied twice, no balance below the floor, deductions beyond it become debt repaid by earnings', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 80 }), fc.integer({ min: -50, max: 0 }), (cmds, floor) => {
        const db: Db = openLedger(':memory:');
        try {
          const ids = ['a', 'b', 'c', 'd'];
          for (const id of ids) addVillager(db, { id, name: id, village: 'v' });
          // the model of the one rule: balance never below the floor, the shortfall is debt
          const model = new Map(ids.map((id) => [id, { balance: 0, debt: 0 }]));
          const sent: { id: string; villagerId: string; kind: EntryKind; points: number }[] = [];
          let appliedCount = 0;
          cmds.forEach((c, i) => {
            let e: { id: string; villagerId: string; kind: EntryKind; points: number };
            if (c.op === 'replay') {
              if (sent.length === 0) return;
              e = sent[Math.max(0, sent.length - 1 - c.back)]!;
            } else {
              e = { id: `e${i}`, villagerId: ids[c.villager]!, kind: c.kind, points: signed(c.kind, c.points, i % 2 === 0) };
              sent.push(e);
            }
            const m = model.get(e.villagerId)!;
            const before = { ...m };
            const origin = (['store', 'ledger', 'cli', 'admin'] as const)[i % 4]!;
            const r = applyEntry(db, { ...e, origin }, { creditFloor: floor });
            if (r.status === 'applied') {
              appliedCount++;
              if (e.points < 0) {
                const charged = Math.min(-e.points, Math.max(0, m.balance - floor));
                m.balance -= charged;
                m.debt += -e.points - charged;
                expect(r.debtAdded).toBe(-e.points - charged);
              } else {
                m.balance += e.points;
                const repaid = Math.min(m.debt, Math.max(0, m.balance - floor));
                m.balance -= repaid;
                m.debt -= repaid;
                if (repaid > 0) appliedCount++;
              }
            }
            const v = getVillager(db, e.villagerId)!;
            if (r.status === 'duplicate') expect({ balance: v.balance, debt: v.debt }).toEqual(before);
            expect({ balance: v.balance, debt: v.debt }).toEqual(m);
            expect(v.balance).toBeGreaterThanOrEqual(floor);
            // debt is owed only while nothing is left above the floor to pay it with
            if (v.debt > 0) expect(v.balance).toBe(floor);
            expect(findBalanceMismatches(db)).toEqual([]);
          });
          const total = db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM entries').get() as { n: number; d: number };
          expect(total.n).toBe(appliedCount);
          expect(total.d).toBe(total.n);
        } finally {
          db.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('the sign of an entry, refused in both languages saying the same', () => {
  it.each([
    ['adjustment', 0, 'an adjustment entry cannot carry 0 points (must not be 0)', '调整不能为 0 分'],
    ['penalty', 5, 'a penalty entry cannot carry 5 points (must be negative)', '扣分须为负数'],
    ['award', -3, 'an award entry cannot carry -3 points (must be positive)', '加分须为正数'],
  ] as const)('%s of %i', (kind, points, en, zh) => {
    let err: unknown;
    try {
      applyEntry(t.db, { id: `sign-${kind}`, villagerId: 'v1', kind: kind as EntryKind, points, reason: 'x', origin: 'cli' }, rules);
    } catch (e) {
      err = e;
    }
    expect(isEdgeError(err) && err.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(isEdgeError(err) && err.message).toBe(en);
    expect(isEdgeError(err) && err.zh).toContain(zh);
  });
});
