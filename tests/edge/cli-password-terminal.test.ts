/**
 * A password typed at a real terminal (a pty made by util-linux `script`), as a maintainer types
 * it for `store-edge admin add`: what is stored is what they see they typed. Backspace (DEL or
 * ^H) takes back a whole character (Chinese too), Ctrl-U clears the line, Ctrl-C cancels (exit
 * 130, no account), other control keys are refused (exit 2, both languages, no account).
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { getAdminAccount } from '../../edge/ledger/admin-accounts.ts';
import { verifyPassword } from '../../edge/http/passwords.ts';
import { openSqlite } from '../../cloud-sync/ledger/sql.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { getStaff } from '../../cloud-sync/ledger/staff/accounts.ts';
import { tempDir } from '../ledger/helpers.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('cli-password-tty-');
afterAll(() => t.cleanup());
beforeAll(() => closeLedger(openLedger(path.join(t.dir, 'ledger.sqlite'))));

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `store-edge admin add --username NAME` (or `args`) at a terminal: once the prompt shows, each key
 * group is sent as a terminal sends it, in order; resolves with the exit code and all the terminal showed.
 */
function typeAtTerminal(username: string, keys: readonly string[], args = ['admin', 'add', '--username', username, '--name', '陈师傅', '--data-dir', t.dir]): Promise<{ code: number | null; screen: string }> {
  const cmd = [process.execPath, bin, ...args].map(quote).join(' ');
  // SQLite whatever the environment says (`ledger staff`): the test is about the terminal
  const { DATABASE_URL: _u, ...env } = process.env;
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...env, STORE_EDGE_CONFIG: '' } });
  let screen = '';
  let typed = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    screen += d;
    if (!typed && screen.includes('Password')) {
      typed = true;
      for (const k of keys) child.stdin.write(k);
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => {
    child.stdin.end();
    resolve({ code, screen });
  }));
}

const stored = (username: string) => {
  const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
  try {
    return getAdminAccount(db, username);
  } finally {
    closeLedger(db);
  }
};

describe('a password typed at a terminal', () => {
  it('is stored as the screen shows it: Backspace (DEL, ^H) takes back a whole character, Ctrl-U clears the line', async () => {
    const cases: Array<[string, string[], string]> = [
      ['chen', ['correct-horsX', '\x7f', 'e1\r'], 'correct-horse1'],
      ['chen2', ['correct-horsX\b', 'e1\r'], 'correct-horse1'],
      ['chen3', ['密码是一二三四五六七八', '\x7f\x7f', '九\r'], '密码是一二三四五六九'],
      ['chen4', ['a wrong start', '\x15', 'right password 1\r'], 'right password 1'],
    ];
    for (const [username, keys, password] of cases) {
      const r = await typeAtTerminal(username, keys);
      expect({ username, code: r.code }, r.screen).toEqual({ username, code: 0 });
      expect(r.screen).toContain(`added admin account ${username}`);
      expect(await verifyPassword(password, stored(username)!.passwordHash), username).toBe(true);
    }
  }, 240_000);

  it('Ctrl-C cancels: exit 130, no account; another control key is refused in both languages: exit 2, no account', async () => {
    const cancelled = await typeAtTerminal('wu', ['half a pass', '\x03']);
    expect(cancelled.code, cancelled.screen).toBe(130);
    expect(cancelled.screen).toContain('已取消');
    expect(stored('wu')).toBeUndefined();

    const arrow = await typeAtTerminal('wu', ['long enough pass', '\x1b[D', 'x\r']);
    expect(arrow.code, arrow.screen).toBe(2);
    expect(arrow.screen).toContain('密码中不能有控制键 Esc');
    expect(arrow.screen).toContain('cannot be part of a password');
    expect(stored('wu')).toBeUndefined();
  }, 240_000);

  it('is read the same way by `ledger staff add` (the village ledger\'s accounts)', async () => {
    const file = path.join(t.dir, 'village-ledger.sqlite');
    const db = openSqlite(file);
    try {
      await migrateLedger(db);
    } finally {
      await db.close();
    }
    const r = await typeAtTerminal('', ['town password X', '\x7f', '1\r'], ['ledger', 'staff', 'add', '--username', 'liu', '--name', '刘干事', '--role', 'town', '--db', file]);
    expect(r.code, r.screen).toBe(0);
    const after = openSqlite(file);
    try {
      expect(await verifyPassword('town password 1', (await getStaff(after, 'liu'))!.password_hash)).toBe(true);
    } finally {
      await after.close();
    }
  }, 120_000);
});
