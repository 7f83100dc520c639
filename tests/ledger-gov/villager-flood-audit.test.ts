/**
 * A flood of made-up villager ids is in the town's audit log (`villager.login-flood-start`, then
 * `villager.login-flood-end`, subject `villager-login-flood`, actor system, the ledger's clock)
 * and in the ledger's log in both languages, once when the first attempt finds the ids full and
 * once when one finds them down below VILLAGER_FLOOD_ENDS_BELOW, as a staff flood is
 * (staff-flood-audit-bounded.test.ts): a flood held at the mark (each id that expires replaced by
 * the next attempt's) is one flood, and further guesses, a villager's too, add no line.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../edge/log.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { MAX_UNKNOWN_VILLAGER_COUNTS, VILLAGER_FLOOD_ENDS_BELOW } from '../../cloud-sync/ledger/governance/auth.ts';
import { GUESS_WINDOW_MS } from '../../cloud-sync/ledger/governance/guess-counts.ts';
import { govApp, type GovApp } from './gov-app.ts';

interface AuditEvent { subject: string; action: string; actor: string; detail: Record<string, unknown>; at: string }

describe(`a villager login flood in the town's log and the ledger's (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });

  it('one start while it lasts, held at the mark or not, one end once the ids are below the lower mark (not at it), each logged once in both languages', async () => {
    const t0 = Date.parse('2026-12-01T08:00:00Z');
    let at = t0;
    const lines: Record<string, unknown>[] = [];
    const out = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
    const app = await govApp({ clock: () => new Date(at), log: createLogger({ level: 'info', pretty: false }, out) });
    g = app;
    await app.villager(app.a, 'zhang');
    let net = 0;
    const login = async (villager: string) => (await app.app.inject({ method: 'POST', url: '/api/villager/login', remoteAddress: `198.18.${Math.floor(++net / 250)}.${net % 250 + 1}`, payload: { village: app.a, villager, pin: '0000' } })).statusCode;
    const floods = async () => ((await app.call(app.town, 'GET', '/api/town/audit?limit=1000')).json() as { events: AuditEvent[] }).events
      .filter((e) => e.subject === 'villager-login-flood');
    const logged = () => lines.filter((l) => typeof l.event === 'string' && String(l.event).startsWith('villager.login-flood')).map((l) => l.event);
    const iso = (ms: number) => new Date(ms).toISOString();
    const made = (prefix: string, n: number, until: number) => app.db.run(
      "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'no-villager:' || $2 || '/' || $3 || k, 1, $4 FROM n",
      [n, app.a, prefix, iso(until)]);

    // made-up ids, each counted once, as their logins leave them: `held` last an hour, `edge` 20 s,
    // `soon` 10 s, and 8 end a second apart; together the mark, and `held` with 8 more the lower one
    const held = VILLAGER_FLOOD_ENDS_BELOW - 8;
    await made('held-', held, t0 + 3_600_000);
    await made('edge-', 1, t0 + 20_000);
    await made('soon-', MAX_UNKNOWN_VILLAGER_COUNTS - held - 1 - 8, t0 + 10_000);
    for (let k = 0; k < 8; k++) await made(`ending-${k}-`, 1, t0 + 1_000 * (k + 1));

    expect(await login('first-of-flood')).toBe(503);
    expect((await floods()).map((e) => e.action)).toEqual(['villager.login-flood-start']);
    expect(logged()).toEqual(['villager.login-flood-start']);
    // held at the mark: each id that ends makes room for one, the next is refused; a villager's guesses too add nothing
    for (let k = 0; k < 8; k++) {
      at = t0 + 1_000 * (k + 1);
      expect(await login(`new-${k}-a`)).toBe(401);
      expect(await login(`new-${k}-b`)).toBe(503);
    }
    expect(await login('zhang')).toBe(503);
    expect(await login('first-of-flood')).toBe(503);
    // `soon` ended: the ids are down to the lower mark and one over, then (`edge` ended) at it: not below, still the one flood
    at = t0 + 15_000;
    expect(await login('zhang')).toBe(401);
    at = t0 + 25_000;
    expect(await login('zhang')).toBe(401);
    expect((await floods()).map((e) => e.action)).toEqual(['villager.login-flood-start']);
    expect(logged()).toEqual(['villager.login-flood-start']);

    // the 8 taken in the flood end: below the lower mark, the flood is over, once
    at = t0 + 8_000 + GUESS_WINDOW_MS + 1_000;
    expect(await login('zhang')).toBe(401);
    expect(await login('after-flood')).toBe(401);
    expect(await floods()).toEqual([
      { subject: 'villager-login-flood', action: 'villager.login-flood-end', actor: 'system', at: iso(at), detail: { unknown_ids_kept_at_most: MAX_UNKNOWN_VILLAGER_COUNTS }, seq: expect.any(Number) },
      { subject: 'villager-login-flood', action: 'villager.login-flood-start', actor: 'system', at: iso(t0), detail: { unknown_ids_kept_at_most: MAX_UNKNOWN_VILLAGER_COUNTS }, seq: expect.any(Number) },
    ]);
    expect(logged()).toEqual(['villager.login-flood-start', 'villager.login-flood-end']);
    // in both languages, at warn, naming no id
    const said = lines.filter((l) => typeof l.event === 'string' && String(l.event).startsWith('villager.login-flood'));
    for (const l of said) expect(l).toMatchObject({ level: 40, unknown_ids_kept_at_most: MAX_UNKNOWN_VILLAGER_COUNTS, msg: expect.stringMatching(/^villager login flood .+ \/ .*[\u4e00-\u9fff]/) });
    expect(JSON.stringify(said)).not.toMatch(/held-|soon-|new-|first-of-flood|zhang/);
    // the staff flood is its own: none was logged
    expect(((await app.call(app.town, 'GET', '/api/town/audit?limit=1000')).json() as { events: AuditEvent[] }).events.filter((e) => e.subject === 'staff-login-flood')).toEqual([]);
    expect(VILLAGER_FLOOD_ENDS_BELOW).toBe(Math.floor(MAX_UNKNOWN_VILLAGER_COUNTS * 0.9));
  }, 120_000);
});
