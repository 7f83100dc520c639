/**
 * Villager logins of ids nobody has cannot grow gov_login_failures without end: every attempt
 * first sweeps the counts whose window has ended (no villager's sign-in needed), and at most
 * MAX_UNKNOWN_VILLAGER_COUNTS unknown ids are counted; beyond that an unknown id without a count
 * of its own is refused, 503 LOGIN_BUSY, while villagers (and ids already counted) go on as
 * before. Each attempt comes from an address of its own, so the per-address limit plays no part.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { MAX_UNKNOWN_VILLAGER_COUNTS } from '../../cloud-sync/ledger/governance/auth.ts';
import { govApp, type GovApp } from './gov-app.ts';

const LOCK_S = 15 * 60;

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
  const stored = async (app: GovApp) => Number((await app.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM gov_login_failures'))[0]!.n);
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
    // a villager without a count is never refused for room: a wrong PIN is counted, the right one signs in
    expect((await answer(app, app.a, 'zhang', '1111')).status).toBe(401);
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
