/**
 * A flood of made-up user names that lapses and comes back gives no name more guesses: an
 * account's wrong passwords counted in the flood and those after it add up within their window,
 * and once five are spent its right password signs nobody in, answered as a made-up name's wrong
 * one is at the same step (so the pause neither adds guesses nor tells which names exist). Each
 * attempt comes from an address of its own, so the per-address limit plays no part; the clock is
 * the ledger's, moved by the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { LOCK_MS, MAX_UNKNOWN_NAME_COUNTS } from '../../cloud-sync/ledger/staff/login-counts.ts';
import { govApp, STAFF_PASSWORD, type GovApp } from './gov-app.ts';

describe(`staff guess counts over a flood that lapses and comes back (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });
  let at = Date.parse('2026-12-01T08:00:00Z');
  let net = 0;
  const start = async () => {
    at = Date.parse('2026-12-01T08:00:00Z');
    g = await govApp({ clock: () => new Date(at) });
    for (const name of ['guessed', 'typo']) await g.staff(name, g.a);
    return g;
  };
  /** An attempt's status and answer (a lock's end made a word: it differs by the attempt's time). */
  const seen = async (app: GovApp, username: string, password: string) => {
    net++;
    const r = await app.app.inject({ method: 'POST', url: '/staff/login', remoteAddress: `198.18.${Math.floor(net / 250)}.${net % 250 + 1}`, payload: { username, password } });
    const body = r.json() as Record<string, unknown>;
    if (typeof body.locked_until === 'string') {
      body.message = String(body.message).replace(body.locked_until, 'a time');
      body.locked_until = 'a time';
    }
    return { status: r.statusCode, body: body.csrf ? 'signed in' : body };
  };
  const wrong = async (app: GovApp, username: string, n: number) => {
    const out = [];
    for (let k = 0; k < n; k++) out.push(await seen(app, username, 'wrong password 123'));
    return out;
  };
  /** The flood: made-up names, each counted once, their counts ending in a minute (made here in one statement). */
  const flood = (app: GovApp) => app.db.run("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'staff-name:flood-' || k, 1, $2 FROM n",
    [MAX_UNKNOWN_NAME_COUNTS, new Date(at + 60_000).toISOString()]);
  const lapse = () => { at += 61_000; };

  it('five wrong passwords in a flood spend the account\'s guesses: after a pause its right password is refused as a made-up name\'s wrong one, when the flood comes back too, until the window ends', async () => {
    const app = await start();
    await flood(app);
    const held = await wrong(app, 'guessed', 5);
    expect(held.map((a) => a.status)).toEqual(Array(5).fill(503));
    expect(await wrong(app, 'nobody-new', 5)).toEqual(held);
    lapse();
    // the flood is over: a made-up name starts from nothing; the account's right password is no guess more
    const nobody = await seen(app, 'nobody-new', 'wrong password 123');
    expect(nobody.status).toBe(401);
    expect(await seen(app, 'guessed', STAFF_PASSWORD)).toEqual(nobody);
    // the flood comes back: nothing more either, and the lock comes at the same step for both
    await flood(app);
    const more = [await seen(app, 'nobody-new', 'wrong password 123'), ...await wrong(app, 'nobody-new', 4)];
    expect(more.map((a) => a.status)).toEqual([401, 401, 401, 401, 423]);
    expect([await seen(app, 'guessed', STAFF_PASSWORD), ...await wrong(app, 'guessed', 4)]).toEqual(more);
    // its window over, the account signs in again
    at += LOCK_MS + 1000;
    expect((await seen(app, 'guessed', STAFF_PASSWORD)).status).toBe(200);
  }, 120_000);

  it('wrong passwords in the flood and after it count together, neither forgotten: three and two spend the five, and the lock comes where a made-up name\'s does', async () => {
    const app = await start();
    await flood(app);
    expect((await wrong(app, 'typo', 3)).map((a) => a.status)).toEqual([503, 503, 503]);
    await wrong(app, 'nobody-new', 3);
    lapse();
    const nobody = await wrong(app, 'nobody-new', 6);
    expect(nobody.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 423]);
    const typo = [...await wrong(app, 'typo', 2), await seen(app, 'typo', STAFF_PASSWORD), ...await wrong(app, 'typo', 3)];
    expect(typo).toEqual(nobody);
    at += LOCK_MS + 1000;
    expect((await seen(app, 'typo', STAFF_PASSWORD)).status).toBe(200);
  }, 120_000);

  it('a count from before the flood is kept through it and after: two before, three in it, then the right password is refused', async () => {
    const app = await start();
    expect((await wrong(app, 'typo', 2)).map((a) => a.status)).toEqual([401, 401]);
    await flood(app);
    expect((await wrong(app, 'typo', 2)).map((a) => a.status)).toEqual([401, 401]);
    lapse();
    expect((await wrong(app, 'typo', 1)).map((a) => a.status)).toEqual([401]);
    expect((await seen(app, 'typo', STAFF_PASSWORD)).status).toBe(423);
  }, 120_000);
});
