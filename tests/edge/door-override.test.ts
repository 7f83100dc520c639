/**
 * The door sensor override from the admin page (edge/http/door-override.ts) on a running session
 * engine: the door sensor stuck open holds every villager; a signed-in maintainer says "the door
 * is closed, its sensor is faulty" (CSRF, audited), the store lets villagers in again, and a
 * critical alarm shows on the admin page while it holds, its row linking to /door.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../edge/http/app.ts';
import type { AlarmBoard } from '../../edge/ops/alarms.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { DOOR_OVERRIDE_SUBJECT } from '../../edge/session/door-override.ts';
import type { store } from '../session/rig.ts';
import { doorRig } from './door-rig.ts';
import type { Signed } from './admin-auth.ts';

const form = (s: Signed, fields: Record<string, string> = {}) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf, ...fields }).toString() });

describe('the door sensor override on the admin page', () => {
  let board: AlarmBoard;
  let rig: ReturnType<typeof store>;
  let app: App;
  let s: Signed;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ rig, board, app, s, stop } = await doorRig());
  });
  afterAll(async () => {
    await stop();
  });

  it('needs a login and the CSRF token; refuses while the sensor reports closed (409, both languages)', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/door/override', payload: {} })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/door/override', headers: { cookie: s.cookie }, payload: {} })).statusCode).toBe(403);
    rig.lock.doorState = 'closed';
    const refused = await app.inject({ method: 'POST', url: '/api/door/override', headers: s.post, payload: {} });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'DOOR_SENSOR_NOT_OPEN', zh: expect.stringContaining('门磁') });
    const page = await app.inject({ method: 'POST', url: '/api/door/override', ...form(s) });
    expect(page.statusCode).toBe(409);
    expect(page.body).toContain('href="/door"');
    rig.lock.doorState = 'open';
    expect(listAudit(rig.db).filter((a) => a.action.startsWith('door.'))).toEqual([]);
  });

  it('set by the /door form: villagers let in again, audited, a critical alarm linked from the admin page; withdrawn by JSON', async () => {
    expect(rig.engine.isStoreBusy('B')).toBe(true);
    const before = await app.inject({ url: '/door?lang=en', headers: { cookie: s.cookie } });
    expect(before.body).toContain('data-sensor="open"');
    expect(before.body).toContain('action="/api/door/override"');
    const set = await app.inject({ method: 'POST', url: '/api/door/override', ...form(s) });
    expect(set.statusCode, set.body).toBe(303);
    expect(set.headers.location).toBe('/door');
    expect(rig.engine.isStoreBusy('B')).toBe(false);
    expect(board.active()).toMatchObject([{ kind: 'door_open', subject: DOOR_OVERRIDE_SUBJECT, severity: 'critical' }]);
    const admin = await app.inject({ url: '/', headers: { cookie: s.cookie } });
    expect(admin.body).toContain('data-action="door-override"');
    const page = await app.inject({ url: '/door', headers: { cookie: s.cookie } });
    expect(page.body).toContain('data-holds="true"');
    expect(page.body).toContain('action="/api/door/override/withdraw"');
    expect((await app.inject({ url: '/api/door', headers: { cookie: s.cookie } })).json()).toMatchObject({ holds: true, by: 'wang', sensor: 'open' });
    // a second press: nothing more done, nothing more audited
    expect((await app.inject({ method: 'POST', url: '/api/door/override', headers: s.post, payload: {} })).json()).toMatchObject({ changed: false, audit_id: null });

    const off = await app.inject({ method: 'POST', url: '/api/door/override/withdraw', headers: s.post, payload: {} });
    expect(off.json()).toMatchObject({ changed: true, door: { holds: false } });
    expect(typeof off.json().audit_id).toBe('number');
    expect(board.active()).toEqual([]);
    expect(rig.engine.isStoreBusy('B')).toBe(true); // the sensor is believed again: the door "stands open"
    expect(listAudit(rig.db).filter((a) => a.action.startsWith('door.')).map((a) => `${a.actor} ${a.action}`)).toEqual(['wang door.sensor_override_withdraw', 'wang door.sensor_override']);
  });
});
