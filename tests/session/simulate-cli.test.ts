/** `store-edge simulate` as a maintainer runs it: one JSON object; bad scenarios → exit 2 naming the step. */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_WAIT_MS, parseScenario } from '../../harness/scenario/scenario.ts';
import { tempDir } from '../ledger/helpers.ts';
import { until } from '../drivers/helpers.ts';

/**
 * A safety net, not a measure: each test starts the CLI (and a process-mode run the daemon),
 * a few seconds on an idle machine but up to minutes on a loaded 2-core one.
 */
const RUN_MS = 240_000;

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('simulate-');
afterAll(() => t.cleanup());

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const base = {
  products: [{ sku: 'salt', name: '食盐', price: 3, unit_g: 400, tolerance_g: 10 }],
  slots: [{ slot: 'A1', scale: 11, sku: 'salt', stock: 2 }],
  villagers: [{ id: 'zhang', name: '张三', balance: 10, card: 'PB-0001' }],
};

describe('store-edge simulate', () => {
  it('prints one JSON object with balances, sessions, refused and inventory', async () => {
    const r = await run('simulate', '--scenario', 'fixtures/scenarios/plain-purchase.yaml', '--json');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(out).toMatchObject({ balances: { zhang: 47 }, refused: [], inventory: { salt: 5, soap: 5 } });
    expect(out.sessions).toMatchObject([{ villager: 'zhang', status: 'settled', total_points: 3, lines: [{ sku: 'salt', count: 1, points: 3 }], review: [] }]);
  }, RUN_MS);

  it('--in-process gives the same answer; a cut while settling falls back to it, saying so', async () => {
    const plain = await run('simulate', '--scenario', 'fixtures/scenarios/plain-purchase.yaml', '--json', '--in-process');
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ balances: { zhang: 47 }, inventory: { salt: 5, soap: 5 } });
    const settling = await run('simulate', '--scenario', 'fixtures/scenarios/power-cut-settling.yaml', '--json');
    expect(settling.code).toBe(0);
    expect(settling.stderr).toContain('a cut while settling cannot be timed by a signal; run it in-process (--in-process); running in-process');
    expect(JSON.parse(settling.stdout)).toMatchObject({ balances: { zhang: 14 }, power_cuts: [{ phase: 'settling' }] });
  }, RUN_MS);

  it('Ctrl-C takes the daemon and the sim-hardware processes with it', async () => {
    const file = path.join(t.dir, 'long.json');
    writeFileSync(file, JSON.stringify({ ...base, steps: [{ enter: { villager: 'zhang' } }, { wait_ms: 60_000 }] }));
    const cli = spawn(process.execPath, [bin, 'simulate', '--scenario', file], { env: { ...process.env, STORE_EDGE_CONFIG: '' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
    const children = (): number[] => {
      try {
        return execFileSync('ps', ['-o', 'pid=', '--ppid', String(cli.pid)], { encoding: 'utf8' }).split('\n').map((x) => Number(x.trim())).filter((x) => x > 0);
      } catch {
        return []; // ps exits 1 when there are none
      }
    };
    // the sim hardware and the daemon; interrupted while the daemon may still be starting
    let kids: number[] = [];
    await until(() => (kids = children()).length >= 2, RUN_MS / 2, 'the runner to start its children');
    cli.kill('SIGINT');
    expect(await exited).toBe(130);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until(() => kids.every((pid) => !alive(pid)), 5000, 'the children to be gone');
  }, RUN_MS);

  it.each<[string, unknown[], string]>([
    ['unknown key', [{ take: { slot: 'A1', cuont: 1 } }], 'step 1 (take): unknown key "cuont"'],
    ['unknown slot', [{ enter: { villager: 'zhang' } }, { take: { slot: 'Z9', count: 1 } }], 'step 2 (take): unknown slot "Z9"'],
    ['unknown villager', [{ enter: { villager: 'nobody' } }], 'step 1 (enter): unknown villager "nobody"'],
    ['negative count', [{ return: { slot: 'A1', count: -2 } }], 'step 1 (return): count must be at least 1, got -2 (negative)'],
    ['unknown action', [{ dance: {} }], 'step 1 (dance): unknown action "dance"'],
    ['face entry for a villager without a face', [{ enter: { villager: 'zhang', by: 'face' } }], 'step 1 (enter): villager zhang has no face'],
  ])('%s: exit code 2, the message names the step', async (_name, steps, message) => {
    const file = path.join(t.dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...base, steps }));
    const r = await run('simulate', '--scenario', file, '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  }, RUN_MS);

  it.each<[string, Record<string, unknown>, string, string]>([
    ['entry: null', { entry: null }, 'scenario entry: must be a mapping', '必须是键值映射'],
    ['a card given to two villagers', { villagers: [...base.villagers, { id: 'li', name: '李四', card: 'PB-0001' }] }, 'scenario villagers[1]: "PB-0001" appears twice (also villagers[0])', '重复出现'],
    ['a sku given twice', { products: [...base.products, { sku: 'salt', name: '大包盐', price: 30, unit_g: 1000 }] }, 'scenario products[1]: "salt" appears twice (also products[0])', '重复出现'],
  ])('%s: exit code 2, both languages naming the problem', async (_name, change, message, zh) => {
    const file = path.join(t.dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...base, ...change, steps: [] }));
    const r = await run('simulate', '--scenario', file, '--json', '--in-process');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(zh);
    expect(r.stdout).toBe('');
  }, RUN_MS);

  it.each<[string, string, string]>([
    ['1e12', 'step 2 (wait_ms): wait_ms must be at most 600000, got 1000000000000', 'wait_ms 不能大于 600000'],
    ['.nan', 'step 2 (wait_ms): wait_ms must be a whole number, got NaN', 'wait_ms 必须是整数'],
  ])('wait_ms: %s is refused at load: exit code 2, both languages naming the step', async (wait, message, zh) => {
    const file = path.join(t.dir, `wait-${Math.random().toString(36).slice(2)}.yaml`);
    // JSON is YAML too; YAML also reads .nan, which JSON cannot say
    writeFileSync(file, `${JSON.stringify(base).slice(0, -1)}, "steps": [{"enter": {"villager": "zhang"}}, {"wait_ms": ${wait}}]}`);
    const r = await run('simulate', '--scenario', file, '--json', '--in-process');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(zh);
    expect(r.stdout).toBe('');
  }, RUN_MS);

  it('wait_ms takes a whole number from 0 to MAX_WAIT_MS (10 minutes), nothing else', () => {
    expect(MAX_WAIT_MS).toBe(600_000);
    const steps = (wait: unknown) => ({ ...base, steps: [{ wait_ms: wait }] });
    for (const ok of [0, 500, MAX_WAIT_MS]) expect(parseScenario(steps(ok)).steps).toEqual([{ kind: 'wait_ms', ms: ok }]);
    for (const [bad, zh] of [[-5, '不能小于 0'], [MAX_WAIT_MS + 1, '不能大于 600000'], [1e12, '不能大于 600000'], [Number.NaN, '必须是整数，实际为 NaN'], [Number.POSITIVE_INFINITY, '必须是整数，实际为 Infinity'], [2.5, '必须是整数'], ['500', '必须是整数'], [null, '必须是整数']] as const) {
      expect(() => parseScenario(steps(bad)), String(bad)).toThrow(expect.objectContaining({ message: expect.stringContaining('step 1 (wait_ms): wait_ms must be'), zh: expect.stringContaining(zh) }));
    }
  });

  it('a used --data-dir is refused up front with exit code 2, before anything is seeded or started', async () => {
    const used = path.join(t.dir, 'used');
    mkdirSync(used);
    writeFileSync(path.join(used, 'ledger.sqlite'), 'an earlier run');
    for (const mode of [[], ['--in-process']]) {
      const r = await run('simulate', '--scenario', 'fixtures/scenarios/plain-purchase.yaml', '--data-dir', used, '--json', ...mode);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--data-dir ${used} is not empty (ledger.sqlite)`);
      expect(r.stderr).toContain('不是空的');
      expect(r.stdout).toBe('');
      // nothing was written next to the old file: no keys, no camera folder, no config
      expect(readdirSync(used)).toEqual(['ledger.sqlite']);
      expect(readFileSync(path.join(used, 'ledger.sqlite'), 'utf8')).toBe('an earlier run');
    }
  }, RUN_MS);

  it('a new --data-dir keeps the ledger of the run', async () => {
    const fresh = path.join(t.dir, 'fresh');
    const r = await run('simulate', '--scenario', 'fixtures/scenarios/plain-purchase.yaml', '--data-dir', fresh, '--json', '--in-process');
    expect(r.code).toBe(0);
    expect(readdirSync(fresh)).toContain('ledger.sqlite');
  }, RUN_MS);

  it('taking more than the shelf holds stops the run at that step with exit code 2', async () => {
    const file = path.join(t.dir, 'too-many.json');
    writeFileSync(file, JSON.stringify({ ...base, steps: [{ enter: { villager: 'zhang' } }, { take: { slot: 'A1', count: 3 } }] }));
    const r = await run('simulate', '--scenario', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('step 2: slot A1 holds 2 items; cannot take 3');
  }, RUN_MS);

  it('every shipped scenario parses', async () => {
    const { readdirSync } = await import('node:fs');
    const { loadScenario } = await import('../../harness/scenario/scenario.ts');
    const files = readdirSync('fixtures/scenarios').filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) expect(loadScenario(path.join('fixtures/scenarios', f)).steps.length).toBeGreaterThan(0);
    expect(() => parseScenario({ ...base, credit_floor: 5, steps: [] })).toThrow('credit_floor must be 0 or negative');
  });
});
