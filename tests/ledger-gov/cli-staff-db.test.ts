/**
 * `store-edge ledger staff …` needs the village ledger's database to exist: a mistyped --db is
 * refused naming it (exit 2, both languages), never taken as a new, empty ledger. Run in this
 * process (edge/cli/index.ts `main`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../entry/cli-run.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('cli-staff-db-');
const databaseUrl = process.env.DATABASE_URL;
// SQLite whatever the environment says: this test is about the --db file
beforeAll(() => { delete process.env.DATABASE_URL; });
afterAll(() => {
  if (databaseUrl !== undefined) process.env.DATABASE_URL = databaseUrl;
  t.cleanup();
});

describe('store-edge ledger staff --db', () => {
  it('refuses a --db file that does not exist, and creates nothing', async () => {
    const typo = path.join(t.dir, 'vilage-ledger.sqlite');
    const args: Record<string, string[]> = { list: [], add: ['--username', 'wang', '--name', '王干事', '--role', 'town'], unlock: ['--username', 'wang'], disable: ['--username', 'wang'], enable: ['--username', 'wang'] };
    // add is refused before it asks for the password
    for (const [sub, rest] of Object.entries(args)) {
      const r = await runCli(['ledger', 'staff', sub, ...rest, '--db', typo]);
      expect({ sub, code: r.code }, r.err).toEqual({ sub, code: 2 });
      expect(r.err).toContain('--db');
      expect(r.err).toContain('没有村账本');
      expect(r.err).toContain('no village ledger');
      expect(existsSync(typo)).toBe(false);
    }
  });
});
