import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fc from 'fast-check';
import { applyEntry, findBalanceMismatches, listEntries, type EntryKind } from '../../edge/ledger/entries.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { openLedger, type Db } from '../../edge/ledger/db.ts';
import { ErrorCode, isEdgeError } from '../../edge/errors.ts';
import { codeOf, tempLedger } from './helpers.ts';

const rules = { creditFloor: 0 };
let t: ReturnType<typeof tempLedger>;
beforeEach(() => {
  t = tempLedger();
  addVillager(t.db, { id: 'v1', name: '王大妈', village: '前进村' });
});
afterEach(() => t.cleanup());


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

  it('never lets a redemption go below the credit floor, but lets the village ledger apply a penalty', () => {
    applyEntry(t.db, { id: 'a', villagerId: 'v1', kind: 'award', points: 5, origin: 'cli' }, rules);
    expect(codeOf(() => applyEntry(t.db, { id: 'r', villagerId: 'v1', kind: 'redemption', points: -6, origin: 'store' }, rules))).toBe(ErrorCode.INSUFFICIENT_POINTS);
    expect(applyEntry(t.db, { id: 'r2', villagerId: 'v1', kind: 'redemption', points: -6, origin: 'store' }, { creditFloor: -1 }).entry.balanceAfter).toBe(-1);
    expect(applyEntry(t.db, { id: 'p', villagerId: 'v1', kind: 'penalty', points: -10, origin: 'ledger', reason: '占道堆放建材' }, rules).entry.balanceAfter).toBe(-11);
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
  it('balance = sum of entries, no entry applied twice, no redemption below the floor', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { maxLength: 80 }), fc.integer({ min: -50, max: 0 }), (cmds, floor) => {
        const db: Db = openLedger(':memory:');
        try {
          const ids = ['a', 'b', 'c', 'd'];
          for (const id of ids) addVillager(db, { id, name: id, village: 'v' });
          const model = new Map(ids.map((id) => [id, 0]));
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
            const before = model.get(e.villagerId)!;
            const origin = e.kind === 'penalty' || e.kind === 'expiry' ? 'ledger' : 'store';
            try {
              const r = applyEntry(db, { ...e, origin }, { creditFloor: floor });
              if (r.status === 'applied') {
                appliedCount++;
                model.set(e.villagerId, before + e.points);
                if (e.kind === 'redemption') expect(r.entry.balanceAfter).toBeGreaterThanOrEqual(floor);
              } else {
                // a replay of something already applied: nothing changes
                expect(getVillager(db, e.villagerId)!.balance).toBe(before);
              }
            } catch (err) {
              expect(isEdgeError(err, ErrorCode.INSUFFICIENT_POINTS)).toBe(true);
              expect(e.kind).toBe('redemption');
              expect(before + e.points).toBeLessThan(floor);
            }
            expect(findBalanceMismatches(db)).toEqual([]);
          });
          for (const id of ids) expect(getVillager(db, id)!.balance).toBe(model.get(id));
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
