/**
 * A flood of made-up villager ids that lapses and comes back gives no villager more guesses: the
 * wrong PINs counted in the flood and those after it add up within their window, and once five
 * are spent the right PIN signs nobody in, answered as a made-up id's wrong one is at the same
 * step (so the pause neither adds guesses nor tells which villagers exist). Each attempt comes
 * from an address of its own, so the per-address limit plays no part; windows end by moving the
 * stored ends back, as 15 minutes without an attempt would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { MAX_UNKNOWN_VILLAGER_COUNTS } from '../../cloud-sync/ledger/governance/auth.ts';
import { govApp, type GovApp } from './gov-app.ts';

const RIGHT = '2468';
const WRONG_PIN = '0000';

describe(`villager guess counts over a flood that lapses and comes back (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });
  let net = 0;
  const start = async () => {
    g = await govApp();
    for (const id of ['zhang', 'li']) await g.villager(g.a, id);
    return g;
  };
  const seen = async (app: GovApp, villager: string, pin: string) => {
    const r = await app.app.inject({ method: 'POST', url: '/api/villager/login', remoteAddress: `198.18.${Math.floor(++net / 250)}.${net % 250 + 1}`, payload: { village: app.a, villager, pin } });
    const body = r.json() as Record<string, unknown>;
    return { status: r.statusCode, retry: r.headers['retry-after'], body: typeof body.token === 'string' ? 'signed in' : body };
  };
  const wrong = async (app: GovApp, villager: string, n: number) => {
    const out = [];
    for (let k = 0; k < n; k++) out.push(await seen(app, villager, WRONG_PIN));
    return out;
  };
  /** The flood: made-up ids of village a, each counted once (made here in one statement). */
  const flood = async (app: GovApp) => {
    // a flood that comes back: its ended rows (not yet purged) make way
    await app.db.run("DELETE FROM gov_login_failures WHERE login LIKE 'no-villager:%/flood-%'");
    await app.db.run(
      "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'no-villager:' || $2 || '/flood-' || k, 1, $3 FROM n",
      [MAX_UNKNOWN_VILLAGER_COUNTS, app.a, new Date(Date.now() + 15 * 60_000).toISOString()]);
  };
  /** The flood's counts end (only theirs). */
  const lapse = (app: GovApp) => app.db.run("UPDATE gov_login_failures SET until_at = $1 WHERE login LIKE 'no-villager:%/flood-%'", [new Date(Date.now() - 1000).toISOString()]);
  /** Every window ends. */
  const windowsEnd = (app: GovApp) => app.db.run('UPDATE gov_login_failures SET until_at = $1', [new Date(Date.now() - 1000).toISOString()]);

  it('five wrong PINs in a flood spend the villager\'s guesses: after a pause the right PIN is refused as a made-up id\'s wrong one, when the flood comes back too, until the window ends', async () => {
    const app = await start();
    await flood(app);
    const held = await wrong(app, 'zhang', 5);
    expect(held.map((a) => a.status)).toEqual(Array(5).fill(503));
    expect(await wrong(app, 'nobody-new', 5)).toEqual(held);
    await lapse(app);
    // the flood is over: a made-up id starts from nothing; the villager's right PIN is no guess more
    const nobody = await seen(app, 'nobody-new', WRONG_PIN);
    expect(nobody.status).toBe(401);
    expect(await seen(app, 'zhang', RIGHT)).toEqual(nobody);
    // the flood comes back: nothing more either, and the lock comes at the same step for both
    await flood(app);
    const more = await wrong(app, 'nobody-new', 5);
    expect(more.map((a) => a.status)).toEqual([401, 401, 401, 401, 429]);
    expect([await seen(app, 'zhang', RIGHT), ...await wrong(app, 'zhang', 4)]).toEqual(more);
    // its window over, the villager signs in again
    await windowsEnd(app);
    expect((await seen(app, 'zhang', RIGHT)).status).toBe(200);
  }, 120_000);

  it('wrong PINs in the flood and after it count together, neither forgotten: three and two spend the five, and the lock comes where a made-up id\'s does', async () => {
    const app = await start();
    await flood(app);
    expect((await wrong(app, 'li', 3)).map((a) => a.status)).toEqual([503, 503, 503]);
    await wrong(app, 'nobody-new', 3);
    await lapse(app);
    const nobody = await wrong(app, 'nobody-new', 6);
    expect(nobody.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 429]);
    const li = [...await wrong(app, 'li', 2), await seen(app, 'li', RIGHT), ...await wrong(app, 'li', 3)];
    expect(li).toEqual(nobody);
    await windowsEnd(app);
    expect((await seen(app, 'li', RIGHT)).status).toBe(200);
  }, 120_000);

  it('a count from before the flood is kept through it and after: two before, two in it, one after, then the right PIN is refused', async () => {
    const app = await start();
    expect((await wrong(app, 'li', 2)).map((a) => a.status)).toEqual([401, 401]);
    await flood(app);
    expect((await wrong(app, 'li', 2)).map((a) => a.status)).toEqual([401, 401]);
    await lapse(app);
    expect((await wrong(app, 'li', 1)).map((a) => a.status)).toEqual([401]);
    expect((await seen(app, 'li', RIGHT)).status).toBe(429);
  }, 120_000);
});
