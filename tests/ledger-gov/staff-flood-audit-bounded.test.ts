/**
 * A flood of made-up names held at the mark (each name that expires replaced by the next
 * attempt's) is one flood in the town's log, not an end and a start for every name that expires:
 * it is logged over only once its names are down to FLOOD_ENDS_BELOW. Its start and end are said
 * in the ledger's log too, once each, in both languages, as a villager flood's are
 * (villager-flood-audit.test.ts); before, only the audit log had them.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../edge/log.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { FLOOD_ENDS_BELOW, MAX_UNKNOWN_NAME_COUNTS } from '../../cloud-sync/ledger/staff/login-counts.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe(`a flood held at the mark, in the town's log and the ledger's (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });

  it('one start while it lasts, one end once it is down below the lower mark, each logged once in both languages', async () => {
    const t0 = Date.parse('2026-12-01T08:00:00Z');
    let at = t0;
    const lines: Record<string, unknown>[] = [];
    const out = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
    const app = await govApp({ clock: () => new Date(at), log: createLogger({ level: 'info', pretty: false }, out) });
    const logged = () => lines.filter((l) => typeof l.event === 'string' && String(l.event).startsWith('staff.login-flood'));
    g = app;
    let net = 0;
    const login = (username: string) =>
      app.app.inject({ method: 'POST', url: '/staff/login', remoteAddress: `198.18.${Math.floor(++net / 250)}.${net % 250 + 1}`, payload: { username, password: 'wrong password 123' } });
    const floods = async () => ((await app.call(app.town, 'GET', '/api/town/audit?limit=1000')).json() as { events: { subject: string; action: string }[] }).events
      .filter((e) => e.subject === 'staff-login-flood').map((e) => e.action);
    const iso = (ms: number) => new Date(ms).toISOString();

    // the names at the mark: the first 8 end a second apart, the rest in an hour
    await app.db.run("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1) INSERT INTO gov_login_failures (login, failures, until_at) SELECT 'staff-name:held-' || k, 1, $2 FROM n",
      [MAX_UNKNOWN_NAME_COUNTS - 8, iso(t0 + 3_600_000)]);
    for (let k = 0; k < 8; k++) await app.db.run('INSERT INTO gov_login_failures (login, failures, until_at) VALUES ($1, 1, $2)', [`staff-name:ending-${k}`, iso(t0 + 1_000 * (k + 1))]);
    await login('first-of-flood');
    expect(await floods()).toEqual(['staff.login-flood-start']);
    expect(logged().map((l) => l.event)).toEqual(['staff.login-flood-start']);
    for (let k = 0; k < 8; k++) {
      at = t0 + 1_000 * (k + 1);
      await login(`new-${k}-a`); // finds one ended: room for it
      await login(`new-${k}-b`); // full again
    }
    expect(await floods()).toEqual(['staff.login-flood-start']);

    // an hour on, all the held names have ended: the flood is over, once
    at = t0 + 3_600_000 + 1_000;
    await login('after-a');
    await login('after-b');
    expect(await floods()).toEqual(['staff.login-flood-end', 'staff.login-flood-start']);
    expect(logged().map((l) => l.event)).toEqual(['staff.login-flood-start', 'staff.login-flood-end']);
    // in both languages, at warn, naming no name
    for (const l of logged()) expect(l).toMatchObject({ level: 40, unknown_names_kept_at_most: MAX_UNKNOWN_NAME_COUNTS, msg: expect.stringMatching(/^staff login flood .+ \/ .*[\u4e00-\u9fff]/) });
    expect(JSON.stringify(logged())).not.toMatch(/held-|ending-|new-|first-of-flood|after-/);
    expect(FLOOD_ENDS_BELOW).toBeLessThan(MAX_UNKNOWN_NAME_COUNTS - 8);
  }, 120_000);
});
