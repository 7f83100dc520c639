/**
 * Locks of staff accounts are in the audit log of the account's village, stamped with the
 * ledger's clock: how many wrong passwords, until when, and whether they were counted in a
 * flood of made-up names or not. A made-up name's lock is in no log (that would list the names
 * tried); a flood is, once when it starts and once when it is found over, in the town's log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { LOCK_MS, MAX_UNKNOWN_NAME_COUNTS } from '../../cloud-sync/ledger/staff/login-counts.ts';
import { govApp, STAFF_PASSWORD, type GovApp } from './gov-app.ts';

interface AuditEvent { subject: string; action: string; actor: string; detail: Record<string, unknown>; at: string }

describe(`staff locks in the audit log (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });

  it('a lock by wrong passwords, in a flood or not, is audited with its count and source; a made-up name\'s is not; the flood itself once at each end', async () => {
    const t0 = Date.parse('2026-12-01T08:00:00Z');
    let at = t0;
    const app = await govApp({ clock: () => new Date(at) });
    g = app;
    for (const name of ['clerk', 'guessed', 'typo']) await app.staff(name, app.a);
    let net = 0;
    const login = (username: string, password = 'wrong password 123') =>
      app.app.inject({ method: 'POST', url: '/staff/login', remoteAddress: `198.18.${Math.floor(++net / 250)}.${net % 250 + 1}`, payload: { username, password } });
    const wrong = async (username: string, n: number) => {
      for (let k = 0; k < n; k++) await login(username);
    };
    const events = async (url: string) => ((await app.call(app.town, 'GET', `${url}?limit=1000`)).json() as { events: AuditEvent[] }).events;
    const locks = async () => (await events(`/api/villages/${app.a}/audit`)).filter((e) => e.action === 'staff.lock');
    const iso = (ms: number) => new Date(ms).toISOString();

    // not in a flood: the fifth wrong password locks, and says so
    await wrong('clerk', 5);
    expect(await locks()).toEqual([{ subject: 'staff:clerk', action: 'staff.lock', actor: 'system', at: iso(t0), detail: { failures: 5, source: 'normal', locked_until: iso(t0 + LOCK_MS) }, seq: expect.any(Number) }]);
    // a made-up name locked alike is in no log
    await wrong('nobody-before', 6);

    // the flood: made-up names, each counted once, their counts ending in a minute (made here in one statement)
    at += 60_000;
    await app.db.run("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'staff-name:flood-' || k, 1, $2 FROM n",
      [MAX_UNKNOWN_NAME_COUNTS, iso(at + 60_000)]);
    const floodAt = at;
    await wrong('guessed', 5);
    await wrong('typo', 3);
    await wrong('nobody-in-flood', 6);
    expect((await locks()).find((e) => e.subject === 'staff:guessed')).toMatchObject({ at: iso(at), detail: { failures: 5, source: 'flood', locked_until: iso(at + LOCK_MS) } });

    // the flood lapses; the next attempt finds it over. typo's two more wrong passwords spend its five
    at += 61_000;
    const over = at;
    await wrong('typo', 2);
    expect((await locks()).find((e) => e.subject === 'staff:typo')).toMatchObject({ at: iso(over), detail: { failures: 5, source: 'flood', locked_until: iso(over + LOCK_MS) } });
    expect((await login('typo', STAFF_PASSWORD)).statusCode).toBe(401);

    const town = await events('/api/town/audit');
    const floods = town.filter((e) => e.subject === 'staff-login-flood').map((e) => ({ action: e.action, at: e.at }));
    expect(floods).toEqual([{ action: 'staff.login-flood-end', at: iso(over) }, { action: 'staff.login-flood-start', at: iso(t0 + 60_000) }]);
    // no log names a made-up name, or holds anything of the flood's names
    const all = JSON.stringify([town, await events(`/api/villages/${app.a}/audit`), await events(`/api/villages/${app.b}/audit`)]);
    for (const name of ['nobody-before', 'nobody-in-flood', 'flood-1']) expect(all).not.toContain(name);
    // every lock audited once: the account's further refused attempts add none
    await wrong('guessed', 2);
    expect((await locks()).map((e) => e.subject).sort()).toEqual(['staff:clerk', 'staff:guessed', 'staff:typo']);
    // the accounts page shows the lock the flood set, though the login's answers do not, and the town lifts it
    const listed = ((await app.call(app.town, 'GET', '/api/staff')).json() as { accounts: { username: string; locked: boolean; locked_until: string | null }[] }).accounts;
    expect(listed.find((a) => a.username === 'guessed')).toMatchObject({ locked: true, locked_until: iso(floodAt + LOCK_MS) });
    expect((await app.call(app.town, 'POST', '/api/staff/guessed/unlock')).statusCode).toBe(200);
    expect((await login('guessed', STAFF_PASSWORD)).statusCode).toBe(200);
  }, 120_000);
});
