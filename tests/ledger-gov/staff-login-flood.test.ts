/**
 * Staff logins during a flood of made-up user names (MAX_UNKNOWN_NAME_COUNTS counted): an
 * account's right password still signs in, so the village office keeps working; its wrong
 * password answers as a name nobody has (503 LOGIN_BUSY, after the same scrypt), so the flood
 * lists no names; five wrong ones lock the account for the flood, answered alike even to the
 * right password, and after the flood as a made-up name's wrong one. Each attempt comes from an address of its own, so the per-address limit
 * plays no part.
 */
import type * as Crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { LOCK_MS, MAX_UNKNOWN_NAME_COUNTS } from '../../cloud-sync/ledger/staff/login-counts.ts';
import { govApp, STAFF_PASSWORD, type GovApp } from './gov-app.ts';

/** node:crypto's scrypt, counted: the work of an attempt, whatever the machine's load. */
const scrypts = vi.hoisted(() => ({ n: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const orig = await importOriginal<typeof Crypto>();
  const scrypt = ((...args: unknown[]) => {
    scrypts.n++;
    return (orig.scrypt as (...a: unknown[]) => void)(...args);
  }) as typeof orig.scrypt;
  return { ...orig, default: { ...orig, scrypt }, scrypt };
});

describe(`staff logins during a flood of made-up names (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });
  let net = 0;
  /** An attempt's whole answer and the scrypts it ran. */
  const seen = async (app: GovApp, username: string, password: string) => {
    scrypts.n = 0;
    const r = await app.app.inject({ method: 'POST', url: '/staff/login', remoteAddress: `198.19.${Math.floor(++net / 250)}.${net % 250 + 1}`, payload: { username, password } });
    const body = r.json() as Record<string, unknown>;
    // a lock's end is a time, not the same twice
    if (typeof body.locked_until === 'string') {
      body.message = String(body.message).replace(body.locked_until, 'a time');
      body.locked_until = 'a time';
    }
    return { status: r.statusCode, retry: r.headers['retry-after'], body, scrypts: scrypts.n };
  };
  const wrong = async (app: GovApp, username: string, n: number) => {
    const out = [];
    for (let k = 0; k < n; k++) out.push(await seen(app, username, 'wrong password 123'));
    return out;
  };
  const stored = async (app: GovApp) => Number((await app.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM gov_login_failures WHERE login LIKE 'staff-name:%'"))[0]!.n);

  it('an account\'s right password signs in; a wrong one answers as a name nobody has, at the same scrypt cost; five lock it for the flood, alike; after the flood its answers start afresh as an unknown name\'s do', async () => {
    g = await govApp();
    const app = g;
    for (const name of ['clerk', 'typo', 'guessed']) await app.staff(name, app.a);
    // the stand-in hash a name nobody has is checked against is made once, at the first such login
    expect((await seen(app, 'made-up-before', 'wrong password 123')).status).toBe(401);
    // the flood: made-up names, each counted once, as their logins leave them (made here in one statement)
    await app.db.run("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'staff-name:flood-' || k, 1, $2 FROM n",
      [MAX_UNKNOWN_NAME_COUNTS - 1, new Date(Date.now() + LOCK_MS).toISOString()]);

    // the office keeps working: the right password signs in, after a wrong one too
    expect((await seen(app, 'clerk', STAFF_PASSWORD)).status).toBe(200);
    expect((await seen(app, 'typo', 'wrong password 123')).status).toBe(503);
    expect((await seen(app, 'typo', STAFF_PASSWORD)).status).toBe(200);

    // six wrong passwords each: an account's answers and work are a made-up name's, the sixth (past the account's lock) too
    const nobody = await wrong(app, 'nobody-new', 6);
    expect(nobody[0]).toMatchObject({ status: 503, retry: String(LOCK_MS / 1000), scrypts: 1, body: { error: 'LOGIN_BUSY', field: 'username', message: expect.stringContaining('try again later'), zh: expect.stringContaining('稍后再试') } });
    expect(await wrong(app, 'guessed', 6)).toEqual(nobody);
    // the guesser is held: locked for the flood, the right password is refused alike and signs nobody in
    expect(await seen(app, 'guessed', STAFF_PASSWORD)).toEqual(nobody[0]);
    // nothing of the made-up name is kept
    expect(await stored(app)).toBe(MAX_UNKNOWN_NAME_COUNTS);

    // the flood's counts end: what was counted in it does not show, as a made-up name's was never kept
    await app.db.run("UPDATE gov_login_failures SET until_at = $1 WHERE login LIKE 'staff-name:flood-%'", [new Date(Date.now() - 1000).toISOString()]);
    const after = await wrong(app, 'nobody-new', 6);
    expect(after.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 423]);
    expect(await wrong(app, 'clerk', 6)).toEqual(after);
    // but the guesses spent in it stay spent for their window: the right password is answered as a wrong one (staff-login-flood-lapse.test.ts)
    expect(await seen(app, 'guessed', STAFF_PASSWORD)).toEqual(after[0]);
  }, 120_000);
});
