/**
 * Where the CLI looks for its config and data folder: `./store-edge.yaml` for every command, a
 * relative --data-dir from the current folder, an empty --data-dir / --config refused. Run in
 * this process (edge/cli/index.ts `main`), from a temp folder as the current directory.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../ledger/helpers.ts';
import { runCli } from '../entry/cli-run.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';

const t = tempDir('cli-paths-');
const cwd = process.cwd();
const env = process.env.STORE_EDGE_CONFIG;
beforeAll(() => {
  delete process.env.STORE_EDGE_CONFIG;
  process.chdir(t.dir);
});
afterAll(() => {
  process.chdir(cwd);
  if (env === undefined) delete process.env.STORE_EDGE_CONFIG;
  else process.env.STORE_EDGE_CONFIG = env;
  t.cleanup();
});

/** A store's ledger, as its first start leaves it, in `dir` (relative to the temp folder). */
function store(dir: string): string {
  const full = path.join(t.dir, dir);
  mkdirSync(full, { recursive: true });
  closeLedger(openLedger(path.join(full, 'ledger.sqlite')));
  return full;
}

describe('store-edge config and data folder', () => {
  it('every command reads ./store-edge.yaml when no --config is given, as start does', async () => {
    store('here');
    writeFileSync(path.join(t.dir, 'store-edge.yaml'), 'data_dir: ./here\n');
    const r = await runCli(['villagers', 'list']);
    expect(r.code, r.err).toBe(0);
  });

  it('a relative --data-dir is the current folder\'s, not the config file\'s', async () => {
    store('mine');
    mkdirSync(path.join(t.dir, 'etc'), { recursive: true });
    writeFileSync(path.join(t.dir, 'etc', 'store.yaml'), 'data_dir: ./elsewhere\n');
    const r = await runCli(['villagers', 'list', '--config', 'etc/store.yaml', '--data-dir', 'mine']);
    expect(r.code, r.err).toBe(0);
  });

  it('a relative STORE_EDGE_DATA_DIR is the current folder\'s too, not the config file\'s', async () => {
    store('from-env');
    writeFileSync(path.join(t.dir, 'etc', 'store.yaml'), 'data_dir: ./elsewhere\n');
    process.env.STORE_EDGE_DATA_DIR = 'from-env';
    try {
      const r = await runCli(['villagers', 'list', '--config', 'etc/store.yaml']);
      expect(r.code, r.err).toBe(0);
    } finally {
      delete process.env.STORE_EDGE_DATA_DIR;
    }
    expect(existsSync(path.join(t.dir, 'etc', 'from-env'))).toBe(false);
  });

  it('an empty --data-dir or --config is refused naming it (exit 2, both languages), never taken as ./data', async () => {
    store('data');
    rmSync(path.join(t.dir, 'store-edge.yaml'), { force: true });
    for (const flag of ['--data-dir', '--config']) {
      const r = await runCli(['villagers', 'list', flag, '']);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain(`INVALID_ARGUMENT`);
      expect(r.err).toContain(`${flag} 不能为空`);
      expect(r.err).toContain(`${flag} must not be empty`);
    }
  });

  it('a scale address or a slot twice in the config is bad input: CONFIG_INVALID in both languages, exit 2', async () => {
    store('dup');
    for (const [list, named] of [
      ['[{slot: A1, unit_id: 3}, {slot: A2, unit_id: 3}]', 'unit_id 3'],
      ['[{slot: A1, unit_id: 3}, {slot: A1, unit_id: 4}]', 'slot A1'],
    ] as const) {
      writeFileSync(path.join(t.dir, 'dup.yaml'), `data_dir: ./dup\ndrivers:\n  scales:\n    list: ${list}\n`);
      const r = await runCli(['villagers', 'list', '--config', 'dup.yaml']);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain('CONFIG_INVALID');
      expect(r.err).toContain(named);
      expect(r.err).toContain('重复');
    }
  });

  it('keys migrate refuses a data folder without the store\'s ledger (exit 2, naming it) and creates nothing', async () => {
    const r = await runCli(['keys', 'migrate', '--to', 'etc-keys', '--data-dir', 'dtaa', '--yes']);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('没有门店账本');
    expect(r.err).toContain(path.join(t.dir, 'dtaa', 'ledger.sqlite'));
    expect(existsSync(path.join(t.dir, 'dtaa'))).toBe(false);
    expect(existsSync(path.join(t.dir, 'etc-keys'))).toBe(false);
  });

  it('a command group without its subcommand prints its usage and exits 2, saying what is missing in both languages', async () => {
    // a folder of its own: `ledger` must not find a ./data to serve a ledger from
    const empty = path.join(t.dir, 'empty');
    mkdirSync(empty);
    process.chdir(empty);
    try {
      for (const group of [['keys'], ['ledger'], ['ledger', 'staff'], ['faces'], ['admin']]) {
        const r = await runCli(group);
        expect({ group, code: r.code }, r.err).toEqual({ group, code: 2 });
        expect(r.err).toContain(`Usage: store-edge ${group.join(' ')}`);
        expect(r.err).toContain('缺少子命令');
        expect(r.err).toContain('missing subcommand');
      }
    } finally {
      process.chdir(t.dir);
    }
  });
});
