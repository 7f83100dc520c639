/**
 * Villager logins of ids nobody has cannot grow gov_login_failures without end: every attempt
 * first sweeps the counts whose window has ended (no villager's sign-in needed), and at most
 * MAX_UNKNOWN_VILLAGER_COUNTS unknown ids are counted; beyond that an unknown id without a count
 * of its own is refused, 503 LOGIN_BUSY, and so is a villager's wrong PIN or code (the same
 * answer and scrypts, so the flood lists nobody), while the right one signs in and ids already
 * counted go on as before. Each attempt comes from an address of its own, so the per-address
 * limit plays no part.
 */
import type * as Crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { MAX_UNKNOWN_VILLAGER_COUNTS } from '../../cloud-sync/ledger/governance/auth.ts';
import { govApp, type GovApp } from './gov-app.ts';

const LOCK_S = 15 * 60;

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

describe(`villager logins of ids nobody has (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });
  let net = 0;
  const attempt = (app: GovApp, village: string, villager: string, pin: string) =>
    app.app.inject({ method: 'POST', url: '/api/villager/login', remoteAddress: `198.18.${Math.floor(++net / 250)}.${net % 250 + 1}`, payload: { village, villager, pin } });
  const answer = async (app: GovApp, village: string, villager: string, pin: string) => {
    const r = await attempt(app, village, villager, pin);
    return { status: r.statusCode, body: r.json() as Record<string, unknown> };
  };
  /** The counts kept (not the row that marks a flood on, villager-flood-audit.test.ts). */
  const stored = async (app: GovApp) => Number((await app.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM gov_login_failures WHERE login <> 'villager-flood'"))[0]!.n);
  /** Fills the room for unknown ids but one with made-up ids of `village`, each counted once, as their logins leave them (made here in one statement). */
  const flood = async (app: GovApp, village: string, n: number) => app.db.run(
    "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'no-villager:' || $2 || '/flood-' || k, 1, $3 FROM n",
    [n, village, new Date(Date.now() + LOCK_S * 1000).toISOString()]);
  /** An attempt's whole answer and the scrypts it ran. */
  const seen = async (app: GovApp, village: string, villager: string, secret: { pin: string } | { code: string }) => {
    scrypts.n = 0;
    const r = await app.app.inject({ method: 'POST', url: '/api/villager/login', remoteAddress: `198.18.${Math.floor(++net / 250)}.${net % 250 + 1}`, payload: { village, villager, ...secret } });
    return { status: r.statusCode, retry: r.headers['retry-after'], body: r.json() as Record<string, unknown>, scrypts: scrypts.n };
  };
  /** Ends every count's window now, as 15 minutes without an attempt would. */
  const ageAll = async (app: GovApp) => app.db.run('UPDATE gov_login_failures SET until_at = $1', [new Date(Date.now() - 1000).toISOString()]);

  it('ended counts go at the next attempt of anyone, an unknown id\'s as a villager\'s, without a sign-in', async () => {
    g = await govApp();
    await g.villager(g.a, 'zhang');
    for (const id of ['made-up-1', 'made-up-2', 'zhang']) expect((await answer(g, g.a, id, '0000')).status).toBe(401);
    // zhang in village b is an id nobody has there
    expect((await answer(g, g.b, 'zhang', '0000')).status).toBe(401);
    expect(await stored(g)).toBe(4);
    await ageAll(g);
    expect((await answer(g, g.a, 'made-up-3', '0000')).status).toBe(401);
    expect(await stored(g)).toBe(1);
  });

  it('during a flood a villager\'s wrong PIN or code answers as an id nobody has, at the same scrypt cost, past its lock too and after the flood; the right PIN or code still signs in, but not after five wrong ones in the flood until their window ends', async () => {
    g = await govApp();
    const app = g;
    for (const id of ['zhang', 'li', 'wang', 'zhao']) await app.villager(app.a, id);
    const codeOf = async (id: string) => {
      const issued = await app.call(app.va, 'POST', `/api/villages/${app.a}/villagers/${id}/login-codes`, {});
      expect(issued.statusCode).toBe(201);
      return (issued.json() as { code: string }).code;
    };
    const [code, zhaoCode] = [await codeOf('wang'), await codeOf('zhao')];
    await flood(app, app.a, MAX_UNKNOWN_VILLAGER_COUNTS);
    const wrongPins = async (id: string, n: number) => {
      const out = [];
      for (let k = 0; k < n; k++) out.push(await seen(app, app.a, id, { pin: '0000' }));
      return out;
    };
    // six wrong PINs each: a villager's answers and work are an unknown id's, the sixth (past the villager's lock) too
    const nobody = await wrongPins('nobody-new', 6);
    expect(await wrongPins('zhang', 6)).toEqual(nobody);
    expect(nobody[0]).toMatchObject({ status: 503, retry: String(LOCK_S), scrypts: 1, body: { error: 'LOGIN_BUSY', zh: expect.stringContaining('稍后再试') } });
    // zhang's were counted: the lock refuses the right PIN too, with the same answer, and asks nobody's secret
    expect(await seen(app, app.a, 'zhang', { pin: '2468' })).toEqual(nobody[0]);
    // a wrong code: three scrypts, whoever the id is
    const wrongCode = await seen(app, app.a, 'wang', { code: 'ZZZZ-ZZZZ' });
    expect(wrongCode).toMatchObject({ status: 503, scrypts: 3 });
    expect(await seen(app, app.a, 'nobody-else', { code: 'ZZZZ-ZZZZ' })).toEqual(wrongCode);
    // the right PIN or code of a villager not locked signs in during the flood, after a wrong one too
    expect((await seen(app, app.a, 'li', { pin: '1357' })).status).toBe(503);
    expect((await seen(app, app.a, 'li', { pin: '2468' })).status).toBe(200);
    expect((await seen(app, app.a, 'wang', { code })).status).toBe(200);
    // zhao, locked in the flood, gives the right code: refused alike, three scrypts, and not used up
    await wrongPins('zhao', 5);
    expect(await seen(app, app.a, 'zhao', { code: zhaoCode })).toEqual({ ...nobody[0], scrypts: 3 });

    // the flood's counts end: what was counted in it does not show, as an unknown id's was never kept
    await app.db.run("UPDATE gov_login_failures SET until_at = $1 WHERE login LIKE 'no-villager:%'", [new Date(Date.now() - 1000).toISOString()]);
    const after = await wrongPins('nobody-new', 6);
    expect(after.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 429]);
    expect(await wrongPins('zhang', 6)).toEqual(after);
    // but the guesses spent in it stay spent for their window: zhao's right code is answered as a
    // made-up id's wrong one, with its work, and not used up (villager-login-flood-lapse.test.ts)
    const nobodyCode = await seen(app, app.a, 'nobody-after', { code: 'ZZZZ-ZZZZ' });
    expect(nobodyCode).toMatchObject({ status: 401, scrypts: 3 });
    expect(await seen(app, app.a, 'zhao', { code: zhaoCode })).toEqual(nobodyCode);
    // once that window ends, zhao signs in with the code the flood did not use up
    await ageAll(app);
    expect((await seen(app, app.a, 'zhao', { code: zhaoCode })).status).toBe(200);
  }, 120_000);

  it(`at most ${MAX_UNKNOWN_VILLAGER_COUNTS} unknown ids are counted: then a new one is refused, 503, while villagers and ids already counted go on alike`, async () => {
    g = await govApp();
    const app = g;
    await app.villager(app.a, 'zhang');
    await app.villager(app.a, 'li');
    // before the flood: one wrong PIN each for a villager and an id nobody has, the same answer
    const first = await answer(app, app.a, 'li', '0000');
    expect(first).toMatchObject({ status: 401, body: { field: 'pin', zh: '村民编号或密码不正确' } });
    expect(await answer(app, app.a, 'ghost', '0000')).toEqual(first);
    const before = await stored(app);
    // the flood: made-up ids, each counted once, as their logins leave them (made here in one statement)
    await app.db.run("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'no-villager:' || $2 || '/flood-' || k, 1, $3 FROM n",
      [MAX_UNKNOWN_VILLAGER_COUNTS - 1, app.a, new Date(Date.now() + LOCK_S * 1000).toISOString()]);
    const full = before + MAX_UNKNOWN_VILLAGER_COUNTS - 1;
    expect(await stored(app)).toBe(full);

    // a new made-up id, in this village or another, is refused at once, in both languages, and stored nowhere
    for (const [village, id] of [[app.a, 'nobody-new'], [app.b, 'zhang']] as const) {
      const r = await attempt(app, village, id, '0000');
      expect({ status: r.statusCode, retry: r.headers['retry-after'], body: r.json() }).toMatchObject({ status: 503, retry: String(LOCK_S), body: { error: 'LOGIN_BUSY', field: 'villager', message: expect.stringContaining('try again later'), zh: expect.stringContaining('稍后再试') } });
    }
    expect(await stored(app)).toBe(full);
    // a villager without a count: a wrong PIN answers as the new made-up id (counted apart), the right one signs in
    expect((await answer(app, app.a, 'zhang', '1111')).status).toBe(503);
    expect((await answer(app, app.a, 'zhang', '2468')).status).toBe(200);
    // counts from before the flood go on, neither dropped nor refused: four more wrong PINs lock both alike
    const after: Record<string, number[]> = { li: [], ghost: [] };
    for (const id of ['li', 'ghost'] as const) for (let k = 0; k < 5; k++) after[id]!.push((await answer(app, app.a, id, '0000')).status);
    expect(after).toEqual({ li: [401, 401, 401, 401, 429], ghost: [401, 401, 401, 401, 429] });
    // once the flood's counts end, they go, and a made-up id answers as a wrong PIN again
    await ageAll(app);
    expect(await answer(app, app.a, 'nobody-new', '0000')).toEqual(first);
    expect(await stored(app)).toBe(1);
  }, 120_000);
});
