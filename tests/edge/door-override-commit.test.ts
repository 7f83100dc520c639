/**
 * The door sensor override changes what the session reads only once its alarm and audit record
 * are committed (edge/session/door-override.ts, edge/http/door-override.ts): a transaction that
 * fails leaves the override, its alarm row and the audit log as they were, so the in-memory
 * override never drifts from the alarm that carries it across a restart.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../../edge/http/app.ts';
import type { AlarmBoard } from '../../edge/ops/alarms.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { DOOR_OVERRIDE_SUBJECT } from '../../edge/session/door-override.ts';
import { store } from '../session/rig.ts';
import { doorRig } from './door-rig.ts';
import { captureLogger } from '../drivers/helpers.ts';
import type { Signed } from './admin-auth.ts';


/** Every COMMIT after the next audit record fails (a deferred foreign key the record breaks), as a disk error at commit would. */
const COMMIT_FAILS = `CREATE TABLE commit_gate (v TEXT REFERENCES villagers(id) DEFERRABLE INITIALLY DEFERRED);
CREATE TRIGGER commit_fails AFTER INSERT ON audit_log BEGIN INSERT INTO commit_gate VALUES ('nobody'); END;`;
/** Clearing an alarm fails, as a full disk would. */
const CLEAR_FAILS = "CREATE TRIGGER clear_fails BEFORE UPDATE OF cleared_at ON alarms BEGIN SELECT RAISE(ABORT, 'disk full'); END";

describe('the door sensor override, its alarm and its audit record move together', () => {
  let board: AlarmBoard;
  let rig: ReturnType<typeof store>;
  let app: App;
  let s: Signed;
  const doorAudits = () => listAudit(rig.db).filter((a) => a.action.startsWith('door.')).map((a) => a.action);
  const overrideAlarm = () => board.isActive('door_open', DOOR_OVERRIDE_SUBJECT);
  let stop: () => Promise<void>;
  let lines: Array<Record<string, unknown>>;
  beforeEach(async () => {
    const c = captureLogger();
    lines = c.lines;
    ({ rig, board, app, s, stop } = await doorRig({ logger: c.logger }));
  });
  afterEach(async () => {
    await stop();
  });

  it('an override whose commit fails is not set: villagers still held, no alarm, no audit; set again once the ledger writes', async () => {
    rig.db.exec(COMMIT_FAILS);
    const failed = await app.inject({ method: 'POST', url: '/api/door/override', headers: s.post, payload: {} });
    expect(failed.statusCode, failed.body).toBeGreaterThanOrEqual(400);
    expect(rig.engine.doorSensor.view().holds).toBe(false);
    expect(rig.engine.isStoreBusy('B')).toBe(true);
    expect(overrideAlarm()).toBe(false);
    expect(doorAudits()).toEqual([]);
    rig.db.exec('DROP TRIGGER commit_fails');
    const set = await app.inject({ method: 'POST', url: '/api/door/override', headers: s.post, payload: {} });
    expect(set.json()).toMatchObject({ changed: true, door: { holds: true } });
    expect(overrideAlarm()).toBe(true);
    expect(doorAudits()).toEqual(['door.sensor_override']);
    expect(rig.engine.isStoreBusy('B')).toBe(false);
  });

  it('a withdrawal whose alarm cannot be cleared is not made: the override, its alarm and the audit log stay as they were, and hold after a restart', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/door/override', headers: s.post, payload: {} })).json()).toMatchObject({ changed: true });
    rig.db.exec(CLEAR_FAILS);
    const failed = await app.inject({ method: 'POST', url: '/api/door/override/withdraw', headers: s.post, payload: {} });
    expect(failed.statusCode, failed.body).toBeGreaterThanOrEqual(400);
    expect(rig.engine.doorSensor.view()).toMatchObject({ holds: true, by: 'wang' });
    expect(overrideAlarm()).toBe(true);
    expect(doorAudits()).toEqual(['door.sensor_override']);
    // what the store reads after a restart is what it read before it
    rig.engine.stop();
    const again = store({ db: rig.db, start: false, alarms: () => board });
    again.lock.doorState = 'open';
    again.engine.start();
    expect(again.engine.doorSensor.view().holds).toBe(true);
    again.engine.stop();
    rig.engine.start();
    rig.db.exec('DROP TRIGGER clear_fails');
    const off = await app.inject({ method: 'POST', url: '/api/door/override/withdraw', headers: s.post, payload: {} });
    expect(off.json()).toMatchObject({ changed: true, door: { holds: false } });
    expect(overrideAlarm()).toBe(false);
    expect(doorAudits()).toEqual(['door.sensor_override_withdraw', 'door.sensor_override']);
  });

  it('from the session itself (no transaction of the caller): a refused alarm write is thrown and changes nothing', () => {
    rig.db.exec("CREATE TRIGGER raise_fails BEFORE INSERT ON alarms BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    expect(() => rig.engine.doorSensor.set('maint')).toThrow(/disk full/);
    expect(rig.engine.doorSensor.view().holds).toBe(false);
    expect(overrideAlarm()).toBe(false); // not held in memory as raised either
    rig.db.exec('DROP TRIGGER raise_fails');
    expect(rig.engine.doorSensor.set('maint').ok).toBe(true);
    rig.db.exec(CLEAR_FAILS);
    expect(() => rig.engine.doorSensor.withdraw('maint')).toThrow(/disk full/);
    expect(rig.engine.doorSensor.view().holds).toBe(true);
    expect(overrideAlarm()).toBe(true);
  });

  it('an override the sensor ended whose alarm clear the ledger refused: logged in both languages, cleared once the ledger writes again, and a restart does not bring it back', async () => {
    expect(rig.engine.doorSensor.set('maint').ok).toBe(true);
    rig.db.exec(CLEAR_FAILS);
    rig.lock.door('closed'); // the sensor works again: closed, then open
    rig.lock.door('open');
    expect(rig.engine.doorSensor.view().holds).toBe(false);
    expect(overrideAlarm()).toBe(true); // its clear was refused
    expect(lines).toContainEqual(expect.objectContaining({ event: 'door_override_end_unstored', msg: expect.stringMatching(/门磁.*告警.* \/ .*sensor.*alarm/) }));
    // the session restarted while the ledger still refuses: the override it knows ended stays ended
    rig.engine.stop();
    rig.engine.start();
    expect(rig.engine.doorSensor.view().holds).toBe(false);
    rig.db.exec('DROP TRIGGER clear_fails');
    await vi.waitFor(() => expect(overrideAlarm()).toBe(false)); // retried until it lands
    expect(lines).toContainEqual(expect.objectContaining({ event: 'door_override_end_stored' }));
    // the daemon restarted: nothing brings the ended override back
    rig.engine.stop();
    const again = store({ db: rig.db, start: false, alarms: () => board });
    again.lock.doorState = 'open';
    again.engine.start();
    expect(again.engine.doorSensor.view().holds).toBe(false);
    expect(again.engine.isStoreBusy('B')).toBe(true); // the door its sensor reports open holds the next villager
    again.engine.stop();
    rig.engine.start();
  });
});
