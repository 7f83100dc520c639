/**
 * `store-edge ledger staff …` on the ledger's machine: passwords on stdin, exit codes (2 bad input,
 * 1 a failed request), audited steps. (The password reader itself, a short password included, is
 * the admin CLI's, tested in tests/edge/cli-admin.test.ts.) Each command is a process of its own.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqlite } from '../../cloud-sync/ledger/sql.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { addVillage } from '../../cloud-sync/ledger/tables.ts';
import { getStaff } from '../../cloud-sync/ledger/staff/accounts.ts';
import { verifyPassword } from '../../lib/passwords.ts';
import { tempDir } from '../ledger/helpers.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('cli-ledger-staff-');
const file = path.join(t.dir, 'village-ledger.sqlite');
afterAll(() => t.cleanup());

function run(stdin: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // SQLite whatever the environment says: this test is about the command, not the database
  const { DATABASE_URL: _u, ...env } = process.env;
  return runIn(env, stdin, ...args);
}

function runIn(env: NodeJS.ProcessEnv, stdin: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'ledger', 'staff', ...args, '--db', file], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('store-edge ledger staff', () => {
  it('adds town and village accounts with the password from stdin, refuses bad input, resets a password, unlocks, disables and enables', async () => {
    const db = openSqlite(file);
    await migrateLedger(db);
    await addVillage(db, 'qianjin', '前进村', new Date().toISOString());
    try {
      for (const [stdin, args, words] of [
        ['long enough password\n', ['add', '--username', 'wang', '--name', '王干事', '--role', 'mayor'], '--role'],
        ['long enough password\n', ['add', '--username', 'wang', '--name', '王干事', '--role', 'village', '--village', 'nowhere'], '找不到村'],
        [`${' '.repeat(12)}\n`, ['add', '--username', 'wang', '--name', '王干事', '--role', 'town'], '密码不能全为空格'],
        [`${'x'.repeat(12)}\n`, ['add', '--username', 'wang', '--name', '王干事', '--role', 'town'], '同一个字符'],
      ] as const) {
        const r = await run(stdin, ...args);
        expect({ args, code: r.code }).toEqual({ args, code: 2 });
        expect(r.stderr).toContain(words);
      }
      const town = await run('town password 1\n', 'add', '--username', 'wang', '--name', '王干事', '--role', 'town', '--json');
      expect(town.code, town.stderr).toBe(0);
      expect(JSON.parse(town.stdout)).toMatchObject({ username: 'wang', role: 'town', village: null, created_by: 'cli' });
      const clerk = await run('village password\n', 'add', '--username', 'li', '--name', '李文书', '--role', 'village', '--village', 'qianjin');
      expect(clerk.code, clerk.stderr).toBe(0);
      expect(clerk.stdout).toContain('li');
      const dup = await run('village password\n', 'add', '--username', 'li', '--name', '李文书', '--role', 'village', '--village', 'qianjin');
      expect(dup.code).toBe(1);
      expect(dup.stderr).toContain('已被使用');
      expect(await verifyPassword('village password', (await getStaff(db, 'li'))!.password_hash)).toBe(true);
      await db.run("UPDATE staff_accounts SET locked_until = '2999-01-01T00:00:00.000Z' WHERE username = 'li'");
      const blank = await run(`${' '.repeat(12)}\n`, 'password', '--username', 'li');
      expect({ code: blank.code, stderr: blank.stderr }).toMatchObject({ code: 2, stderr: expect.stringContaining('密码不能全为空格') });
      const pw = await run('a new password\n', 'password', '--username', 'li');
      expect(pw.code, pw.stderr).toBe(0);
      const li = (await getStaff(db, 'li'))!;
      expect(await verifyPassword('a new password', li.password_hash)).toBe(true);
      expect(li.locked_until).toBeNull();
      await db.run("UPDATE staff_accounts SET locked_until = '2999-01-01T00:00:00.000Z' WHERE username = 'wang'");
      expect((await run('', 'unlock', '--username', 'wang')).code).toBe(0);
      expect((await getStaff(db, 'wang'))!.locked_until).toBeNull();
      // The last working town account is never disabled; a village account is, and enabled again.
      const last = await run('', 'disable', '--username', 'wang');
      expect(last.code).toBe(2);
      expect(last.stderr).toContain('最后一个可用的镇级账号');
      expect((await run('', 'disable', '--username', 'li')).code).toBe(0);
      expect((await getStaff(db, 'li'))!.disabled_at).toEqual(expect.any(String));
      expect((await run('', 'list')).stdout).toMatch(/^li\t.*已停用 disabled/m);
      const again = await run('', 'enable', '--username', 'li', '--json');
      expect(JSON.parse(again.stdout)).toEqual({ username: 'li', disabled: false, changed: true });
      expect((await getStaff(db, 'li'))!.disabled_at).toBeNull();
      const list = await run('', 'list', '--json');
      expect((JSON.parse(list.stdout) as { username: string }[]).map((a) => a.username).sort()).toEqual(['li', 'wang']);
      const steps = await db.query<{ subject: string; action: string; actor: string }>("SELECT subject, action, actor FROM gov_events WHERE subject LIKE 'staff:%' ORDER BY seq");
      expect(steps).toEqual([
        { subject: 'staff:wang', action: 'staff.create', actor: 'cli' },
        { subject: 'staff:li', action: 'staff.create', actor: 'cli' },
        { subject: 'staff:li', action: 'staff.password', actor: 'cli' },
        { subject: 'staff:wang', action: 'staff.unlock', actor: 'cli' },
        { subject: 'staff:li', action: 'staff.disable', actor: 'cli' },
        { subject: 'staff:li', action: 'staff.enable', actor: 'cli' },
      ]);
    } finally {
      await db.close();
    }
  }, 600_000);

  it('add checks the ledger, the village and the user name before asking for the password (nothing typed in vain)', async () => {
    // stdin closed at once: a command that asked first would refuse the empty password (密码 …)
    const db = openSqlite(file);
    await migrateLedger(db);
    await addVillage(db, 'hongqi', '红旗村', new Date().toISOString());
    try {
      expect((await run('zhou password 1\n', 'add', '--username', 'zhou', '--name', '周干事', '--role', 'town')).code).toBe(0);
      const taken = await run('', 'add', '--username', 'zhou', '--name', '周干事', '--role', 'village', '--village', 'hongqi');
      expect(taken.code, taken.stderr).toBe(1);
      expect(taken.stderr).toContain('用户名 zhou 已被使用');
      expect(taken.stderr).toContain('zhou is taken');
      expect(taken.stderr).not.toContain('密码');
      const nowhere = await run('', 'add', '--username', 'wu', '--name', '吴文书', '--role', 'village', '--village', 'nowhere');
      expect(nowhere.code, nowhere.stderr).toBe(2);
      expect(nowhere.stderr).toContain('找不到村 nowhere');
      expect(nowhere.stderr).toContain('no village nowhere');
      expect(nowhere.stderr).not.toContain('密码');
      expect(await getStaff(db, 'wu')).toBeUndefined();
    } finally {
      await db.close();
    }
    // DATABASE_URL of a database that cannot be reached: said (exit 1) before the password
    const unreachable = await runIn({ ...process.env, DATABASE_URL: 'postgres://ledger@127.0.0.1:1/ledger' }, '', 'add', '--username', 'wu', '--name', '吴文书', '--role', 'town');
    expect(unreachable.code, unreachable.stderr).toBe(1);
    expect(unreachable.stderr).toContain('DATABASE_URL');
    expect(unreachable.stderr).toContain('ECONNREFUSED');
    expect(unreachable.stderr).not.toContain('internal error');
    expect(unreachable.stderr).not.toContain('密码');
  }, 120_000);
});
