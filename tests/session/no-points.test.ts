/**
 * A villager with nothing to spend (balance at or below the credit floor, no debt) is refused at
 * the door with the reason, in Chinese and English; before, he was let in, could take everything
 * (charged 0, all of it debt) and was refused only next time. A maintainer, who restocks and
 * spends nothing, still gets in with no points.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { doorStanding } from '../../edge/ledger/entry-events.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { doorPolicy } from '../../edge/entry/decision.ts';
import { loadScenario } from '../../harness/scenario/scenario.ts';
import { runScenario } from '../../harness/scenario/run.ts';
import { tempLedger } from '../ledger/helpers.ts';

describe('the door and a villager with nothing to spend', () => {
  let l: ReturnType<typeof tempLedger>;
  beforeEach(() => {
    l = tempLedger();
    addVillager(l.db, { id: 'qian', name: '钱七', village: 'v1' });
    addVillager(l.db, { id: 'zhou', name: '周八', village: 'v1' });
    addVillager(l.db, { id: 'chen', name: '老陈', village: 'v1', isMaintainer: true });
    applyEntry(l.db, { id: 'aw', villagerId: 'zhou', kind: 'award', points: 5, origin: 'cli' }, { creditFloor: -10 });
  });
  afterEach(() => l.cleanup());

  it('refuses balance ≤ floor (no debt) as having no points; a maintainer and a villager above the floor get in', () => {
    const zero = doorStanding(l.db, 'qian', { creditFloor: 0 });
    expect(zero).toMatchObject({ debt: 0, noPoints: true });
    expect(doorPolicy(zero, 'card', false)).toBe('blocked');
    // a floor below zero: 0 points still leaves credit to spend
    expect(doorPolicy(doorStanding(l.db, 'qian', { creditFloor: -10 }), 'card', false)).toBe('admit');
    expect(doorPolicy(doorStanding(l.db, 'zhou', { creditFloor: 0 }), 'card', false)).toBe('admit');
    expect(doorPolicy(doorStanding(l.db, 'chen', { creditFloor: 0 }), 'card', false)).toBe('admit');
  });

  it('through the store: refused with the reason said, nothing charged; the maintainer restocks', async () => {
    const r = await runScenario(loadScenario(path.join('fixtures/scenarios', 'no-points.yaml')));
    expect(r.refused).toEqual([{ villager: 'qian', reason: 'blocked', step: 1 }]);
    const said = r.announcements.find((a) => a.reason === 'no_points');
    expect(said?.villager).toBe('qian');
    expect(said?.text).toContain('钱七');
    expect(said?.text).toContain('没有可用的积分');
    expect(said?.text).toContain('no points to spend');
    expect(r.sessions.map((s) => [s.villager, s.kind, s.status])).toEqual([['chen', 'restock', 'settled']]);
    expect(r.balances.qian).toBe(0);
    expect(r.debts).toEqual({});
  }, 120_000);
});
