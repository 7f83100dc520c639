/**
 * Locks of villagers' logins are in their village's audit log (`villager.lock`, actor system),
 * stamped with the ledger's clock, with how many wrong answers, until when, and whether they were
 * counted in a flood of made-up ids or not, as staff locks are (staff-lock-audit.test.ts). An
 * unknown id's lock is in no log (that would list the ids tried); further refused attempts add none.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { MAX_UNKNOWN_VILLAGER_COUNTS } from '../../cloud-sync/ledger/governance/auth.ts';
import { GUESS_WINDOW_MS } from '../../cloud-sync/ledger/governance/guess-counts.ts';
import { govApp, type GovApp } from './gov-app.ts';

interface AuditEvent { subject: string; action: string; actor: string; detail: Record<string, unknown>; at: string }

describe(`villager locks in the audit log (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });

  it('a lock by wrong PINs, in a flood, after it or without one, is audited once with its count and source; an unknown id\'s is not', async () => {
    const t0 = Date.parse('2026-12-01T08:00:00Z');
    let at = t0;
    const app = await govApp({ clock: () => new Date(at) });
    g = app;
    for (const id of ['zhang', 'li', 'wang']) await app.villager(app.a, id);
    let net = 0;
    const wrong = async (villager: string, n: number) => {
      for (let k = 0; k < n; k++) await app.app.inject({ method: 'POST', url: '/api/villager/login', remoteAddress: `198.18.${Math.floor(++net / 250)}.${net % 250 + 1}`, payload: { village: app.a, villager, pin: '0000' } });
    };
    const events = async () => ((await app.call(app.town, 'GET', `/api/villages/${app.a}/audit?limit=1000`)).json() as { events: AuditEvent[] }).events;
    const locks = async () => (await events()).filter((e) => e.action === 'villager.lock');
    const iso = (ms: number) => new Date(ms).toISOString();

    // no flood: the fifth wrong PIN locks, and says so; the sixth (refused) adds nothing
    await wrong('zhang', 6);
    expect(await locks()).toEqual([{ subject: 'villager:zhang', action: 'villager.lock', actor: 'system', at: iso(t0), detail: { failures: 5, source: 'normal', locked_until: iso(t0 + GUESS_WINDOW_MS) }, seq: expect.any(Number) }]);
    await wrong('nobody-before', 6);

    // the flood: made-up ids, each counted once, their counts ending in a minute
    at += 60_000;
    const flooded = at;
    await app.db.run("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'no-villager:' || $2 || '/flood-' || k, 1, $3 FROM n",
      [MAX_UNKNOWN_VILLAGER_COUNTS, app.a, iso(at + 60_000)]);
    await wrong('li', 6);
    await wrong('wang', 3);
    await wrong('nobody-in-flood', 6);
    expect((await locks()).find((e) => e.subject === 'villager:li')).toMatchObject({ at: iso(flooded), detail: { failures: 5, source: 'flood', locked_until: iso(flooded + GUESS_WINDOW_MS) } });

    // the flood lapses: wang's two more wrong PINs spend the five, until the flood count's window ends
    at += 61_000;
    await wrong('wang', 2);
    expect((await locks()).find((e) => e.subject === 'villager:wang')).toMatchObject({ at: iso(at), detail: { failures: 5, source: 'flood', locked_until: iso(flooded + GUESS_WINDOW_MS) } });
    // every lock once, and no log names an unknown id
    await wrong('li', 2);
    expect((await locks()).map((e) => e.subject).sort()).toEqual(['villager:li', 'villager:wang', 'villager:zhang']);
    const all = JSON.stringify([await events(), (await app.call(app.town, 'GET', '/api/town/audit?limit=1000')).json()]);
    for (const id of ['nobody-before', 'nobody-in-flood', 'flood-1']) expect(all).not.toContain(id);
  }, 120_000);
});
