/**
 * An option given twice (`--points 5 … --points 500`, a retyped amount) is refused naming it,
 * exit 2 in both languages, and nothing is done; options meant to repeat (`faces identify
 * --photo` several times, `faces present --frames a b c`) still take every value. Run in this
 * process (edge/cli/index.ts `main`).
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import path from 'node:path';
import { tempDir } from '../ledger/helpers.ts';
import { runCli } from '../entry/cli-run.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { listEntries } from '../../edge/ledger/entries.ts';

const t = tempDir('cli-repeated-');
const env = process.env.STORE_EDGE_CONFIG;
const data = path.join(t.dir, 'data');
const other = path.join(t.dir, 'other');
beforeAll(() => {
  process.env.STORE_EDGE_CONFIG = '';
  for (const dir of [data, other]) {
    const db = openLedger(path.join(dir, 'ledger.sqlite'));
    addVillager(db, { id: 'V1', name: '张', village: 'v' });
    closeLedger(db);
  }
});
afterAll(() => {
  if (env === undefined) delete process.env.STORE_EDGE_CONFIG;
  else process.env.STORE_EDGE_CONFIG = env;
  t.cleanup();
});

const entriesIn = (dir: string): number => {
  const db = openLedger(path.join(dir, 'ledger.sqlite'));
  try {
    return listEntries(db, 'V1').length;
  } finally {
    closeLedger(db);
  }
};

describe('an option given twice', () => {
  it('is refused naming the option (exit 2, both languages) and nothing is applied', async () => {
    for (const [args, flag] of [
      [['points', 'award', '--villager', 'V1', '--points', '5', '--reason', 'road', '--points', '500', '--data-dir', data], '--points'],
      [['points', 'award', '--villager', 'V1', '--points', '5', '--reason', 'road', '--data-dir', data, '--data-dir', other], '--data-dir'],
      [['points', 'award', '--villager', 'V1', '--points=5', '--reason', 'road', '--points=500', '--data-dir', data], '--points'],
      [['villagers', 'list', '--json', '--json', '--data-dir', data], '--json'],
    ] as const) {
      const r = await runCli([...args]);
      expect({ args, code: r.code }, r.err).toEqual({ args, code: 2 });
      expect(r.err).toContain(`选项重复 ${flag}`);
      expect(r.err).toContain(`option '${flag}`);
      expect(r.err).toContain('given twice');
    }
    expect(entriesIn(data)).toBe(0);
    expect(entriesIn(other)).toBe(0);
  });

  it('once each is taken as before', async () => {
    const before = entriesIn(data);
    const r = await runCli(['points', 'award', '--villager', 'V1', '--points', '5', '--reason', 'road', '--data-dir', data, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(entriesIn(data)).toBe(before + 1);
  });

  it('options meant to repeat still take every value (the first missing photo is what is refused)', async () => {
    const missing = (n: number): string => path.join(t.dir, `missing-${n}.jpg`);
    for (const args of [
      ['faces', 'identify', '--photo', missing(1), '--photo', missing(2)],
      ['faces', 'present', '--frames', missing(1), missing(2), missing(3)],
    ]) {
      const r = await runCli([...args, '--data-dir', data]);
      expect({ args, code: r.code }, r.err).toEqual({ args, code: 2 });
      expect(r.err).toContain('INVALID_ARGUMENT');
      expect(r.err).toContain(`${missing(1)}: cannot read`);
      expect(r.err).not.toContain('given twice');
    }
  });
});
