/**
 * An insider alone at the store PC: every `store-edge` command that changes points, a villager, a
 * card, a product's price or a slot's stock writes a row of the store's audit_log in the same
 * transaction (the command, what it changed, the OS user and SUDO_USER, the reason); a large
 * manual adjustment needs --force (exit 2 without it, nothing applied); the entries sent to the
 * village say they were made by hand at the store PC; `audit list` reads the rows back.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { addVillager, requireVillager } from '../../edge/ledger/villagers.ts';
import { BY_HAND_REFERENCE } from '../../edge/ledger/entries.ts';
import { tempDir } from '../ledger/helpers.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('cli-audit-');
afterAll(() => t.cleanup());

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args, '--data-dir', t.dir], { env: { ...process.env, STORE_EDGE_CONFIG: '', SUDO_USER: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

const ledger = <T>(fn: (db: Db) => T): T => {
  const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
  try {
    return fn(db);
  } finally {
    closeLedger(db);
  }
};
const me = os.userInfo().username;
const newest = () => ledger((db) => listAudit(db, { limit: 1 })[0]);
const auditCount = () => ledger((db) => (db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n);
const entryRows = () => ledger((db) => (db.prepare("SELECT payload FROM outbox WHERE topic = 'entry' ORDER BY seq").all() as { payload: string }[]).map((r) => JSON.parse(r.payload) as Record<string, unknown>));

describe('store-edge commands that change the store are audited', () => {
  beforeAll(() => ledger((db) => {
    addVillager(db, { id: 'nephew', name: '侄子', village: 'v1', isMaintainer: false });
    addVillager(db, { id: 'sun', name: '孙', village: 'v1', isMaintainer: false });
  }));

  it('refuses a large manual adjustment without --force (exit 2, both languages, nothing applied or audited)', async () => {
    const before = auditCount();
    const r = await run(['points', 'adjust', '--villager', 'nephew', '--points', '200000', '--reason', '系统调整']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--force');
    expect(r.stderr).toMatch(/[\u4e00-\u9fff]/);
    expect(r.stderr).toContain('1000');
    expect(ledger((db) => requireVillager(db, 'nephew').balance)).toBe(0);
    expect(auditCount()).toBe(before);
    expect(entryRows()).toEqual([]);
  }, 120_000);

  it('audits a forced adjustment with the command, the points, the reason and the OS user (and SUDO_USER); the entry says it was made by hand', async () => {
    const r = await run(['points', 'adjust', '--villager', 'nephew', '--points', '200000', '--reason', '系统调整', '--force', '--json'], { SUDO_USER: 'uncle' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/200000/); // the warning is still printed
    const a = newest();
    expect(a).toMatchObject({ actor: 'cli', action: 'points.adjust', target: 'nephew', before: { balance: 0 }, after: { points: 200000, balance: 200000, reason: '系统调整', forced: true, cli: { command: 'points adjust', os_user: me, sudo_user: 'uncle' } } });
    expect(Date.now() - Date.parse(a!.at)).toBeLessThan(10 * 60_000);
    const sent = entryRows().at(-1)!;
    expect(sent).toMatchObject({ villager: 'nephew', kind: 'adjustment', points: 200000, origin: 'cli', reference: BY_HAND_REFERENCE });
    expect((a!.after as { entry: string }).entry).toBe(sent.id);
  }, 120_000);

  it('a retry of a forced adjustment by its --id without --force is the duplicate it is, not refused for its size, and not audited again', async () => {
    const first = await run(['points', 'adjust', '--villager', 'nephew', '--points', '1500', '--reason', '修正', '--id', 'fix-1', '--force']);
    expect(first.code, first.stderr).toBe(0);
    const rows = auditCount();
    const retry = await run(['points', 'adjust', '--villager', 'nephew', '--points', '1500', '--reason', '修正', '--id', 'fix-1']);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stderr).not.toContain('--force');
    expect(auditCount()).toBe(rows);
    expect(entryRows().filter((e) => e.id === 'fix-1')).toHaveLength(1);
  }, 120_000);

  it('audits an award and a penalty under the bound, without SUDO_USER when it is not set', async () => {
    const award = await run(['points', 'award', '--villager', 'sun', '--points', '50', '--reason', '打扫祠堂']);
    expect(award.code, award.stderr).toBe(0);
    expect(newest()).toMatchObject({ action: 'points.award', target: 'sun', after: { points: 50, reason: '打扫祠堂', cli: { command: 'points award', os_user: me } } });
    expect((newest()!.after as { cli: Record<string, unknown> }).cli).not.toHaveProperty('sudo_user');
    const penalty = await run(['points', 'penalty', '--villager', 'sun', '--points', '20', '--reason', '乱扔垃圾']);
    expect(penalty.code, penalty.stderr).toBe(0);
    expect(newest()).toMatchObject({ action: 'points.penalty', target: 'sun', before: { balance: 50 }, after: { points: -20, balance: 30, reason: '乱扔垃圾' } });
  }, 120_000);

  it('a refused change writes no audit row', async () => {
    const before = auditCount();
    const r = await run(['points', 'award', '--villager', 'nobody', '--points', '5', '--reason', 'x']);
    expect(r.code).toBe(2);
    expect(auditCount()).toBe(before);
  }, 120_000);

  it('audits villagers add and status (left), products set, slots set, cards add and revoke', async () => {
    expect((await run(['villagers', 'add', '--id', 'li', '--name', '李', '--village', 'v1'])).code).toBe(0);
    expect(newest()).toMatchObject({ action: 'villager.add', target: 'li', after: { name: '李', village: 'v1', maintainer: false, cli: { command: 'villagers add', os_user: me } } });
    const left = await run(['villagers', 'status', '--id', 'sun', '--status', 'left']);
    expect(left.code, left.stderr).toBe(0);
    expect(newest()).toMatchObject({ action: 'villager.status', target: 'sun', before: { status: 'active' }, after: { status: 'left', cli: { command: 'villagers status' } } });
    const p = await run(['products', 'set', '--sku', 'rice', '--name', '大米', '--price', '30', '--unit-g', '500', '--tolerance-g', '20']);
    expect(p.code, p.stderr).toBe(0);
    expect(newest()).toMatchObject({ action: 'product.set', target: 'rice', before: null, after: { price: 30, unit_g: 500, cli: { command: 'products set' } } });
    await run(['products', 'set', '--sku', 'rice', '--name', '大米', '--price', '1', '--unit-g', '500', '--tolerance-g', '20']);
    expect(newest()).toMatchObject({ action: 'product.set', target: 'rice', before: { price: 30 }, after: { price: 1 } });
    const s = await run(['slots', 'set', '--slot', 'A1', '--address', '11', '--sku', 'rice', '--stock', '8']);
    expect(s.code, s.stderr).toBe(0);
    expect(newest()).toMatchObject({ action: 'slot.set', target: 'A1', before: null, after: { address: 11, sku: 'rice', stock: 8, cli: { command: 'slots set' } } });
    const c = await run(['cards', 'add', '--villager', 'li', '--card', 'PB-TEST-0001']);
    expect(c.code, c.stderr).toBe(0);
    const issued = newest();
    expect(issued).toMatchObject({ action: 'card.issue', target: 'li', after: { cli: { command: 'cards add' } } });
    expect(JSON.stringify(issued)).not.toContain('PB-TEST-0001'); // masked, as the admin page's
    expect((await run(['cards', 'revoke', '--card', 'PB-TEST-0001'])).code).toBe(0);
    expect(newest()).toMatchObject({ action: 'card.revoke', target: 'li', after: { cli: { command: 'cards revoke' } } });
  }, 240_000);

  it('audit list shows the rows, newest first, with --since and --json', async () => {
    const all = await run(['audit', 'list', '--json']);
    expect(all.code, all.stderr).toBe(0);
    const rows = JSON.parse(all.stdout) as { id: number; at: string; action: string }[];
    expect(rows.map((r) => r.action)).toContain('points.adjust');
    expect(rows[0]!.action).toBe('card.revoke');
    const text = await run(['audit', 'list']);
    expect(text.stdout).toContain('points.adjust');
    expect(text.stdout).toContain('系统调整');
    const later = await run(['audit', 'list', '--since', rows[0]!.at, '--json']);
    expect((JSON.parse(later.stdout) as unknown[]).length).toBeLessThan(rows.length);
    const bad = await run(['audit', 'list', '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since');
  }, 120_000);

  it('takes the bound from ledger.cli_adjust_max', async () => {
    const cfg = path.join(t.dir, 'store-edge.json');
    writeFileSync(cfg, JSON.stringify({ data_dir: t.dir, ledger: { cli_adjust_max: 10 } }));
    const spawnCfg = (args: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args, '--config', cfg], { env: { ...process.env, STORE_EDGE_CONFIG: '' } });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stderr }));
      child.stdin.end();
    });
    const r = await spawnCfg(['points', 'award', '--villager', 'li', '--points', '11', '--reason', '修路']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cli_adjust_max');
    expect((await spawnCfg(['points', 'award', '--villager', 'li', '--points', '10', '--reason', '修路'])).code).toBe(0);
  }, 120_000);
});
