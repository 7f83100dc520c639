/** `store-edge admin …` as a maintainer runs it: passwords on stdin, exit codes, audit records. */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { getAdminAccount, setAdminSession } from '../../edge/ledger/admin-accounts.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { verifyPassword } from '../../edge/http/passwords.ts';
import { tempDir } from '../ledger/helpers.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('cli-admin-');
afterAll(() => t.cleanup());
// the store's ledger, as its first start leaves it (commands refuse a folder without one)
beforeAll(() => closeLedger(openLedger(path.join(t.dir, 'ledger.sqlite'))));

function run(stdin: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'admin', ...args, '--data-dir', t.dir], { env: { ...process.env, STORE_EDGE_CONFIG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const ledger = <T>(fn: (db: ReturnType<typeof openLedger>) => T): T => {
  const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
  try {
    return fn(db);
  } finally {
    closeLedger(db);
  }
};

describe('store-edge admin', () => {
  it('adds an account with the password from stdin, refuses bad input with exit 2, resets a password and unlocks, all audited', async () => {
    const short = await run('short\n', 'add', '--username', 'wang', '--name', '王师傅');
    expect(short.code, short.stderr).toBe(2);
    expect(short.stderr).toContain('密码至少 10 位');
    const badName = await run('long enough password\n', 'add', '--username', 'Wang!', '--name', '王师傅');
    expect(badName.code).toBe(2);
    const badRole = await run('long enough password\n', 'add', '--username', 'wang', '--name', '王师傅', '--role', 'root');
    expect(badRole.code).toBe(2);

    const add = await run('first password 1\n', 'add', '--username', 'wang', '--name', '王师傅', '--json');
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toEqual({ username: 'wang', display_name: '王师傅', role: 'maintainer' });
    expect(await verifyPassword('first password 1', ledger((db) => getAdminAccount(db, 'wang'))!.passwordHash)).toBe(true);
    const dup = await run('first password 1\n', 'add', '--username', 'wang', '--name', '王师傅');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('已存在');

    // a session of wang's, and a lock after wrong passwords
    ledger((db) => {
      setAdminSession(db, 'sid-1', { user: { username: 'wang' } }, new Date(Date.now() + 3600_000).toISOString());
      db.prepare("UPDATE admin_accounts SET locked_until = '2999-01-01T00:00:00.000Z'").run();
    });
    const unlock = await run('', 'unlock', '--username', 'wang');
    expect(unlock.code, unlock.stderr).toBe(0);
    expect(ledger((db) => getAdminAccount(db, 'wang'))!.lockedUntil).toBeNull();

    const missing = await run('second password 2\n', 'password', '--username', 'nobody');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('没有管理账号 nobody');
    const reset = await run('second password 2\n', 'password', '--username', 'wang');
    expect(reset.code, reset.stderr).toBe(0);
    const after = ledger((db) => ({ account: getAdminAccount(db, 'wang')!, sessions: db.prepare('SELECT count(*) AS n FROM admin_sessions').get() as { n: number }, audit: listAudit(db) }));
    expect(await verifyPassword('second password 2', after.account.passwordHash)).toBe(true);
    expect(after.sessions.n).toBe(0);
    expect(after.audit.map((a) => `${a.actor} ${a.action} ${a.target}`)).toEqual(['cli account.password wang', 'cli account.unlock wang', 'cli account.create wang']);

    const list = await run('', 'accounts');
    expect(list.stdout).toContain('wang\t王师傅\tmaintainer');
  }, 240_000);

  it('refuses a data folder without a ledger (a mistyped --data-dir): exit 2 naming the path, nothing created', async () => {
    const typo = path.join(t.dir, 'no-such-store');
    for (const args of [['accounts'], ['add', '--username', 'li', '--name', '李师傅']]) {
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, 'admin', ...args, '--data-dir', typo], { env: { ...process.env, STORE_EDGE_CONFIG: '' } });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('exit', (code) => resolve({ code, stderr }));
        child.stdin.end('long enough password\n');
      });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(path.join(typo, 'ledger.sqlite'));
      expect(r.stderr).toContain('没有门店账本');
    }
    expect(existsSync(typo)).toBe(false);
  });

  it('add checks the data folder and the user name before asking for the password (nothing typed in vain)', async () => {
    // stdin closed at once: a command that asked first would complain of an empty password
    const typo = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'admin', 'add', '--username', 'li', '--name', '李师傅', '--data-dir', path.join(t.dir, 'dtaa')], { env: { ...process.env, STORE_EDGE_CONFIG: '' } });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stderr }));
      child.stdin.end();
    });
    expect(typo.code, typo.stderr).toBe(2);
    expect(typo.stderr).toContain(path.join(t.dir, 'dtaa', 'ledger.sqlite'));
    expect(typo.stderr).not.toContain('密码');

    expect((await run('taken password 1\n', 'add', '--username', 'zhao', '--name', '赵师傅')).code).toBe(0);
    const taken = await run('', 'add', '--username', 'zhao', '--name', '赵师傅');
    expect(taken.code, taken.stderr).toBe(1);
    expect(taken.stderr).toContain('管理账号 zhao 已存在');
    expect(taken.stderr).not.toContain('密码');
  }, 120_000);
});
