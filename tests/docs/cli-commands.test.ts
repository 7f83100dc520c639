/**
 * The README lists every `store-edge` command, and docs/cli.md describes each: a command added to
 * the program without a row in both tables fails here. A row names a command as
 * `store-edge GROUP SUB` or, after a slash in the same row, as `SUB` of the group it began with
 * (`staff add` / `staff list` in the row of `store-edge ledger staff add`) or of its own (`villagers add` /
 * `villagers list`, `products set` / `slots set`), the way both tables write them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../edge/cli/index.ts';

const root = path.resolve(import.meta.dirname, '../..');

function leaves(c: Command, at: string[] = []): string[] {
  if (c.commands.length === 0) return [at.join(' ')];
  return c.commands.flatMap((sub) => leaves(sub, [...at, sub.name()]));
}

/** The commands a markdown file's command table names (its first column's code spans). */
function tableCommands(file: string, top: ReadonlySet<string>): Set<string> {
  return new Set(tableRows(file, top).flatMap((r) => [...r.named]));
}

/** Each row of a markdown file's command table: the commands its first column names, and the row's text. */
function tableRows(file: string, top: ReadonlySet<string>): { named: Set<string>; text: string }[] {
  const rows: { named: Set<string>; text: string }[] = [];
  for (const line of readFileSync(path.join(root, file), 'utf8').split('\n')) {
    if (!line.startsWith('| `store-edge ')) continue;
    const named = new Set<string>();
    rows.push({ named, text: line });
    const first = line.split(' | ')[0]!;
    let group = '';
    for (const span of first.matchAll(/`([^`]+)`/g)) {
      const words = span[1]!.replace(/^store-edge /, '').replace(/\\\|/g, '|').split(/\s+/).filter((w) => /^[a-z][\w|-]*$/.test(w));
      if (span[1]!.startsWith('store-edge ')) group = words[0]!;
      // `staff password|unlock` names two subcommands; `ledger staff add` three words deep
      const alts = (w: string | undefined): string[] => (w === undefined ? [''] : w.split('|'));
      const [a, b, c] = span[1]!.startsWith('store-edge ') || top.has(words[0]!) ? words : [group, ...words];
      for (const x of alts(a)) for (const y of alts(b)) for (const z of alts(c)) named.add([x, y, z].filter(Boolean).join(' '));
    }
  }
  return rows;
}

/** The options said once in docs/cli.md's opening paragraph: every store command's --data-dir and --config, and --json of those that report. */
const COMMON_OPTIONS = new Set(['--data-dir', '--config', '--json']);

describe('the store-edge commands in the docs', () => {
  it.each(['README.md', 'docs/cli.md'])('%s has a row for every command', async (file) => {
    const program = await buildProgram();
    const named = tableCommands(file, new Set(program.commands.map((c) => c.name())));
    const missing = leaves(program).filter((cmd) => ![...named].some((n) => n === cmd || n.startsWith(`${cmd} `)));
    expect(missing).toEqual([]);
  });

  it('docs/cli.md gives every option a command\'s --help lists, in that command\'s row', async () => {
    const program = await buildProgram();
    const rows = tableRows('docs/cli.md', new Set(program.commands.map((c) => c.name())));
    const missing: string[] = [];
    const walk = (c: Command, at: string[]): void => {
      for (const sub of c.commands) {
        const name = [...at, sub.name()].join(' ');
        walk(sub, [...at, sub.name()]);
        if (sub.commands.length > 0) continue;
        const text = rows.filter((r) => [...r.named].some((n) => n === name || n.startsWith(`${name} `))).map((r) => r.text).join('\n');
        for (const o of sub.options) {
          const flag = o.long ?? o.flags;
          if (COMMON_OPTIONS.has(flag)) continue;
          // the flag as a word: `--host` is not found in `--host-port`
          if (!new RegExp(`${flag.replace(/[-]/g, '\\-')}(?![\\w-])`).test(text)) missing.push(`${name} ${flag}`);
        }
      }
    };
    walk(program, []);
    expect(missing).toEqual([]);
  });

  it('names no command the program does not have', async () => {
    const program = await buildProgram();
    const all = leaves(program);
    const groups = new Set(all.flatMap((c) => c.split(' ').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join(' '))));
    for (const file of ['README.md', 'docs/cli.md']) {
      const unknown = [...tableCommands(file, new Set(program.commands.map((c) => c.name())))].filter((n) => !all.some((c) => n === c || n.startsWith(`${c} `)) && !groups.has(n));
      expect(unknown, file).toEqual([]);
    }
  });

  it('every command and option says what it is in both languages (--help)', async () => {
    const program = await buildProgram();
    const bilingual = (text: string): boolean => /[A-Za-z]/.test(text) && /[\u4e00-\u9fff]/.test(text);
    const missing: string[] = [];
    const walk = (c: Command, at: string[]): void => {
      for (const sub of c.commands) {
        const name = [...at, sub.name()].join(' ');
        if (!bilingual(sub.description())) missing.push(name);
        for (const o of sub.options) if (!bilingual(o.description)) missing.push(`${name} ${o.long ?? o.flags}`);
        walk(sub, [...at, sub.name()]);
      }
    };
    walk(program, []);
    expect(missing).toEqual([]);
  });
});
