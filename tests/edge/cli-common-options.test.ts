/**
 * Which commands take the store's `--data-dir` / `--config`, as README says: the README's words
 * on the `store-edge` command are checked against every command's options (what --help shows).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../edge/cli/index.ts';

const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
/** The paragraph before the command table, which says what every command takes. */
const intro = readme.slice(readme.indexOf('## The `store-edge` command'), readme.indexOf('\n|', readme.indexOf('## The `store-edge` command')));

function leaves(c: Command, at: string[] = []): Array<{ path: string[]; cmd: Command }> {
  if (c.commands.length === 0) return [{ path: at, cmd: c }];
  return c.commands.flatMap((sub) => leaves(sub, [...at, sub.name()]));
}

describe('README: the options every store-edge command takes', () => {
  it('names, as exceptions, exactly the commands without --data-dir and --config', async () => {
    const program = await buildProgram();
    const without = new Set<string>();
    for (const { path: p, cmd } of leaves(program)) {
      const flags = cmd.options.map((o) => o.long);
      if (flags.includes('--data-dir') && flags.includes('--config')) continue;
      without.add(p[0]!); // named in the README by its command or group (`ledger`)
    }
    expect([...without].sort()).toEqual(['ledger', 'ports', 'simulate']);
    expect(intro).not.toMatch(/Every command takes/);
    for (const name of without) expect(intro, name).toContain(`\`${name}\``);
    // simulate's own --data-dir (a new or empty folder), as its help and the table say
    expect(intro).toMatch(/`simulate`[^.]*`--data-dir`[^.]*new or empty/);
  });
});
