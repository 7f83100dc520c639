/**
 * DATABASE_URL said back (cloud-sync/ledger/db-url.ts): the password never shown, however the URL
 * is written (a `/` in it, digits the URL parser reads as a port, a `password=` parameter), and
 * the unix-socket forms pg takes are PostgreSQL URLs (a review found both).
 */
import { describe, expect, it } from 'vitest';
import { connectTimeoutMs, databaseUrlError, databaseUrlProblem, DEFAULT_CONNECT_TIMEOUT_S, maskDatabaseUrl } from '../../cloud-sync/ledger/db-url.ts';

describe('DATABASE_URL masked and checked', () => {
  it('never shows the password', () => {
    const cases: Array<[string, string]> = [
      ['postgres://u:secret@host/db', 'secret'],
      ['postgres://u:pa/ss@host/db', 'pa/ss'],
      ['postgres://u:1234/x@host/db', '1234/x'],
      ['postgres://u:p@ss@host:5432/db', 'p@ss'],
      ['postgres://u@host/db?password=hunter2&sslmode=require', 'hunter2'],
      ['postgres://u@host/db?sslmode=require&PASSWORD=hunter2', 'hunter2'],
      ['postgres:u:secret@h/db', 'secret'],
      ['host=h user=u password=secret dbname=d', 'secret'],
      ["host=h password = 'se cret' dbname=d", 'se cret'],
      ['postgres://u@h/db?sslpassword=keypass', 'keypass'],
    ];
    for (const [url, secret] of cases) {
      expect(maskDatabaseUrl(url)).not.toContain(secret);
      expect(maskDatabaseUrl(url)).toContain('***');
      const problem = databaseUrlProblem(url.replace('postgres:', 'mysql:'));
      expect(JSON.stringify(problem)).not.toContain(secret);
      const err = databaseUrlError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' }), url) as Error & { zh?: string };
      expect(err.message + (err.zh ?? '')).not.toContain(secret);
    }
    expect(maskDatabaseUrl('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://postgres@127.0.0.1:5432/test');
    expect(maskDatabaseUrl('postgres://u:secret@host/db')).toBe('postgres://u:***@host/db');
  });

  it('takes the unix-socket forms pg takes, refuses what is not PostgreSQL\'s', () => {
    expect(databaseUrlProblem('postgres:///ledger?host=/run/postgresql')).toBeUndefined();
    expect(databaseUrlProblem('socket:///run/postgresql?db=ledger')).toBeUndefined();
    expect(databaseUrlProblem('postgres://u@127.0.0.1:5432/test')).toBeUndefined();
    expect(databaseUrlProblem('postgres:///ledger')).toBeUndefined();
    expect(databaseUrlProblem('http://127.0.0.1/ledger')).toMatchObject({ en: expect.stringContaining('is not a PostgreSQL URL') });
    expect(databaseUrlProblem('notaurl')).toMatchObject({ zh: expect.stringContaining('不是 PostgreSQL 地址') });
  });

  it('a connect timeout: connect_timeout of the URL in whole seconds (0 for ever), else 10 s; any other value refused, the password masked', () => {
    expect(DEFAULT_CONNECT_TIMEOUT_S).toBe(10);
    expect(connectTimeoutMs('postgres://u@h/db')).toBe(10_000);
    expect(connectTimeoutMs('postgres://u@h/db?connect_timeout=30')).toBe(30_000);
    expect(connectTimeoutMs('postgres://u@h/db?connect_timeout=0')).toBe(0);
    expect(connectTimeoutMs('socket:///run/postgresql?db=ledger&connect_timeout=3')).toBe(3_000);
    expect(databaseUrlProblem('postgres://u@h/db?connect_timeout=30')).toBeUndefined();
    for (const bad of ['soon', '1.5', '-1', '']) {
      const problem = databaseUrlProblem(`postgres://u:secret@h/db?connect_timeout=${bad}`);
      expect(problem, bad).toMatchObject({ en: expect.stringContaining('connect_timeout'), zh: expect.stringContaining('不是整数秒') });
      expect(JSON.stringify(problem), bad).not.toContain('secret');
    }
  });
  it('pg\'s connect timeout (a bare "timeout expired") is DATABASE_URL\'s, naming the host and the wait', () => {
    const e = databaseUrlError(new Error('timeout expired'), 'postgres://u:secret@db.example:5432/test?connect_timeout=7') as { code: string; message: string; zh: string };
    expect(e.code).toBe('DB_IO');
    expect(e.message).toContain('the server db.example:5432 did not answer within 7 s');
    expect(e.zh).toContain('数据库服务器 db.example:5432 在 7 秒内没有应答');
    expect(`${e.message}${e.zh}`).not.toContain('secret');
    // any other error without a code is not the connection's
    const other = new Error('something else');
    expect(databaseUrlError(other, 'postgres://u@h/db')).toBe(other);
  });
});
