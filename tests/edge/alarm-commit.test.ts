/**
 * The alarm board announces a change (its log line, the `raised` / `cleared` listeners: the live
 * page, MQTT, /metrics) only once the change is committed (edge/ops/alarms.ts): written inside a
 * caller's transaction, it is told after that transaction commits, and never when it rolls back.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeLedger, inTransaction, openLedger, type Db } from '../../edge/ledger/db.ts';
import { alarmById, type AlarmRow } from '../../edge/ledger/alarms.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { captureLogger } from '../drivers/helpers.ts';
import { doorRig } from './door-rig.ts';

let db: Db | undefined;
afterEach(() => {
  if (db) closeLedger(db);
  db = undefined;
});

function board(d: Db) {
  const { logger, lines } = captureLogger();
  const b = new AlarmBoard(() => d, logger);
  const told: string[] = [];
  // what a listener sees when told: the row as committed, outside any transaction
  const seen = (e: string) => (r: AlarmRow) => told.push(`${e} ${r.subject} ${d.inTransaction ? 'in-tx' : 'committed'} ${alarmById(d, r.id) ? 'stored' : 'absent'}`);
  b.on('raised', seen('raised'));
  b.on('cleared', seen('cleared'));
  const logged = () => lines.filter((l) => l.event === 'alarm_raised' || l.event === 'alarm_cleared').map((l) => `${String(l.event)} ${(l.alarm as { subject: string }).subject}`);
  return { b, told, logged };
}

const rollback = new Error('rolled back');

describe('the alarm board announces only what is committed', () => {
  it('an alarm raised or cleared inside a transaction that rolls back is never announced; one that commits is, after the commit', async () => {
    db = openLedger(':memory:');
    const { b, told, logged } = board(db);
    const d = db;
    expect(() => inTransaction(d, 'test', () => {
      b.raise('door_open', 'lost', 'never stored', 'critical', { strict: true });
      throw rollback;
    })).toThrow(/rolled back/);
    expect(b.isActive('door_open', 'lost')).toBe(false);
    inTransaction(d, 'test', () => {
      b.raise('door_open', 'kept', 'stored', 'critical', { strict: true });
    });
    await vi.waitFor(() => expect(told).toContain('raised kept committed stored'));
    expect(told).toEqual(['raised kept committed stored']); // the rolled-back one: not told, before or after
    expect(logged()).toEqual(['alarm_raised kept']);
    expect(b.raisedCount.get('door_open')).toBe(1);

    // a clear rolled back: the alarm is still active and nobody hears it cleared
    expect(() => inTransaction(d, 'test', () => {
      b.clear('door_open', 'kept', 'resolved', { strict: true });
      throw rollback;
    })).toThrow(/rolled back/);
    expect(b.isActive('door_open', 'kept')).toBe(true);
    inTransaction(d, 'test', () => b.raise('scale_fault', 'marker', 'after the rollback'));
    await vi.waitFor(() => expect(told).toContain('raised marker committed stored'));
    expect(told.filter((t) => t.startsWith('cleared'))).toEqual([]);
    inTransaction(d, 'test', () => b.clear('door_open', 'kept'));
    await vi.waitFor(() => expect(told).toContain('cleared kept committed stored'));
    expect(logged()).toEqual(['alarm_raised kept', 'alarm_raised marker', 'alarm_cleared kept']);
  });

  it('outside a transaction (its own commit) an alarm is announced at once, as before', () => {
    db = openLedger(':memory:');
    const { b, told } = board(db);
    b.raise('scale_fault', 'A1', 'no reply');
    b.clear('scale_fault', 'A1');
    expect(told).toEqual(['raised A1 committed stored', 'cleared A1 committed stored']);
  });

  it('the door override set from the admin page with a commit that fails: its alarm is never announced', async () => {
    const { rig, board: b, app, s, stop } = await doorRig({ logger: captureLogger().logger }); // the refused request's log kept, not printed
    try {
      const told: string[] = [];
      b.on('raised', (r) => told.push(r.subject));
      // every COMMIT after the next audit record fails (a deferred foreign key), as a disk error at commit would
      rig.db.exec(`CREATE TABLE commit_gate (v TEXT REFERENCES villagers(id) DEFERRABLE INITIALLY DEFERRED);
        CREATE TRIGGER commit_fails AFTER INSERT ON audit_log BEGIN INSERT INTO commit_gate VALUES ('nobody'); END;`);
      const failed = await app.inject({ method: 'POST', url: '/api/door/override', headers: s.post, payload: {} });
      expect(failed.statusCode, failed.body).toBeGreaterThanOrEqual(400);
      rig.db.exec('DROP TRIGGER commit_fails');
      // a later alarm, committed, is told: the failed one would have been told before it
      inTransaction(rig.db, 'test', () => b.raise('scale_fault', 'marker', 'after the failed commit'));
      await vi.waitFor(() => expect(told).toContain('marker'));
      expect(told).toEqual(['marker']);
    } finally {
      await stop();
    }
  });
});
