/**
 * Acknowledging alarms: a maintainer's acknowledgement (who, when, a note) is audited, stays on
 * the alarm until its condition clears, and is taken back by a new occurrence or a worse one;
 * the MQTT message to the village carries it; the admin page and the API do it, with refusals.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { alarmById, type AlarmRow } from '../../edge/ledger/alarms.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { alarmsMessage } from '../../cloud-sync/agent/ops.ts';
import { opsCheckers } from '../../cloud-sync/protocol/ops.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const log = pino({ level: 'silent' });

describe('the alarm board: acknowledgement', () => {
  let db: Db | undefined;
  afterEach(() => {
    if (db) closeLedger(db);
    db = undefined;
  });

  function board(d: Db) {
    let t = Date.parse('2026-12-01T02:00:00Z');
    const b = new AlarmBoard(() => d, log, () => new Date((t += 1000)));
    const told: Array<[string, AlarmRow]> = [];
    for (const e of ['raised', 'acknowledged', 'cleared'] as const) b.on(e, (r) => told.push([e, r]));
    return { b, told };
  }

  it('stays acknowledged while the condition is seen again, until it clears; a new occurrence after that is not acknowledged', () => {
    db = openLedger(':memory:');
    const { b, told } = board(db);
    const a = b.raise('scale_fault', 'A1', 'no reply');
    const ack = b.acknowledge(a.id, 'wang', '已通知电工');
    expect(ack).toMatchObject({ acknowledged: true, alarm: { acknowledged_by: 'wang', ack_note: '已通知电工' } });
    expect(ack.alarm.acknowledged_at).toMatch(/^2026-12-01T02:00:0\dZ|^2026-12-01T02:00:0\d\.\d+Z$/);
    // the same condition seen again by the watcher: still acknowledged, not told again
    b.raise('scale_fault', 'A1', 'still no reply');
    expect(b.active()).toMatchObject([{ id: a.id, seen: 2, acknowledged_by: 'wang', detail: 'still no reply' }]);
    // a second acknowledgement does not overwrite the first, and is not audited
    expect(b.acknowledge(a.id, 'li', 'me too')).toMatchObject({ acknowledged: false, auditId: null, alarm: { acknowledged_by: 'wang' } });
    expect(listAudit(db).filter((r) => r.action === 'alarm.acknowledge')).toMatchObject([{ actor: 'wang', target: `scale_fault A1 #${a.id}`, before: { acknowledged_at: null }, after: { note: '已通知电工' } }]);

    b.clear('scale_fault', 'A1');
    expect(() => b.acknowledge(a.id, 'wang', null)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', details: expect.objectContaining({ status: 409 }) }));
    expect(() => b.acknowledge(9999, 'wang', null)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    const again = b.raise('scale_fault', 'A1', 'no reply again');
    expect(again.id).not.toBe(a.id);
    expect(again.acknowledged_at).toBeNull();
    expect(alarmById(db, a.id)).toMatchObject({ acknowledged_by: 'wang', cleared_by: 'resolved' });
    expect(told.map(([e]) => e)).toEqual(['raised', 'acknowledged', 'cleared', 'raised']);
  });

  it('a new occurrence (a failed run) or a worse one (warning → critical) takes the acknowledgement back and is told again', () => {
    db = openLedger(':memory:');
    const { b, told } = board(db);
    const job = b.raise('job_failed', 'backup', 'disk full', 'warning', { occurrence: true });
    b.acknowledge(job.id, 'wang', null);
    const rerun = b.raise('job_failed', 'backup', 'disk full again', 'warning', { occurrence: true });
    expect(rerun).toMatchObject({ id: job.id, acknowledged_at: null, acknowledged_by: null, seen: 2 });
    expect(alarmById(db, job.id)!.acknowledged_at).toBeNull();

    const disk = b.raise('disk_low', '/data', '900 MiB free');
    b.acknowledge(disk.id, 'wang', '明天清理');
    b.raise('disk_low', '/data', '800 MiB free'); // same condition
    expect(alarmById(db, disk.id)!.acknowledged_by).toBe('wang');
    b.raise('disk_low', '/data', '200 MiB free', 'critical'); // worse
    expect(alarmById(db, disk.id)).toMatchObject({ acknowledged_by: null, severity: 'critical' });
    expect(told.filter(([e]) => e === 'raised').map(([, r]) => r.detail)).toEqual(['disk full', 'disk full again', '900 MiB free', '200 MiB free']);
    expect(b.raisedCount.get('disk_low')).toBe(2);
  });

  it('the retained MQTT list carries the acknowledgement, and passes the protocol schema', () => {
    db = openLedger(':memory:');
    const { b } = board(db);
    const a = b.raise('camera_gone', 'camera', 'no frames for 30 s');
    b.raise('outbox_growing', 'outbox', '1200 rows wait');
    b.acknowledge(a.id, 'wang', '摄像头线松了');
    const msg = alarmsMessage('2026-12-01T02:10:00.000Z', b.active());
    expect(opsCheckers.alarms.Check(msg)).toBe(true);
    expect(msg.active.find((x) => x.kind === 'camera_gone')).toMatchObject({ acknowledged_by: 'wang', ack_note: '摄像头线松了' });
    const open = msg.active.find((x) => x.kind === 'outbox_growing')!;
    expect('acknowledged_at' in open || 'cleared_at' in open).toBe(false);
  });
});

describe('acknowledging from the admin page and the API', () => {
  const ledger = tempLedger();
  const board = new AlarmBoard(() => ledger.db, log);
  const app = buildApp({
    store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH,
    ops: { metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: () => ({ ready: true, checks: {} }) as never, alarms: (limit) => ({ active: board.active(), recent: board.recent(limit) }), acknowledge: (id, by, note) => board.acknowledge(id, by, note) },
  }, log);
  let s: Signed;
  beforeAll(async () => {
    s = await signedIn(app, ledger.db);
  });
  afterAll(async () => {
    await app.close();
    ledger.cleanup();
  });

  it('acknowledges by JSON and by the /alarms form; refuses without a login or CSRF, an unknown or cleared alarm, a note too long', async () => {
    const lock = board.raise('lock_not_confirmed', 'relock', 'relay did not confirm', 'critical');
    const scale = board.raise('scale_fault', 'B1', 'implausible reading');
    const url = `/api/alarms/${lock.id}/acknowledge`;
    expect((await app.inject({ method: 'POST', url, payload: {} })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url, headers: { cookie: s.cookie }, payload: {} })).statusCode).toBe(403);
    const long = await app.inject({ method: 'POST', url, headers: s.post, payload: { note: 'x'.repeat(501) } });
    expect(long.statusCode).toBe(400);
    expect(Object.keys(long.json().fields)).toEqual(['note']);

    const ok = await app.inject({ method: 'POST', url, headers: s.post, payload: { note: '  门锁厂家\t明早来修\r\n  ' } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ acknowledged: true, alarm: { id: lock.id, acknowledged_by: 'wang', ack_note: '门锁厂家 明早来修' } });
    expect(typeof ok.json().audit_id).toBe('number');
    const again = await app.inject({ method: 'POST', url, headers: s.post, payload: {} });
    expect(again.json()).toMatchObject({ acknowledged: false, audit_id: null });

    // the page lists both, the acknowledged one with who and the note, the other with a form
    const page = await app.inject({ url: '/alarms', headers: { cookie: s.cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('门锁厂家 明早来修');
    expect(page.body).toContain(`action="/api/alarms/${scale.id}/acknowledge"`);
    // ?lang= is accepted here as on every page and remembered for the pages that have English
    const en = await app.inject({ url: '/alarms?lang=en', headers: { cookie: s.cookie } });
    expect(en.statusCode).toBe(200);
    expect(String(en.headers['set-cookie'] ?? '')).toContain('lang=en');
    expect(page.body).not.toContain(`action="/api/alarms/${lock.id}/acknowledge"`);
    expect(page.body).not.toContain('http-equiv="refresh"');
    const form = await app.inject({ method: 'POST', url: `/api/alarms/${scale.id}/acknowledge`, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf, note: '' }).toString() });
    expect(form.statusCode).toBe(303);
    expect(form.headers.location).toBe('/alarms');
    expect(alarmById(ledger.db, scale.id)).toMatchObject({ acknowledged_by: 'wang', ack_note: null });

    const api = await app.inject({ url: '/api/alarms', headers: { cookie: s.cookie } });
    expect(api.json().active.map((a: AlarmRow) => a.acknowledged_by)).toEqual(['wang', 'wang']);
    // the admin page (it reloads itself) shows them as acknowledged, and links to /alarms
    const admin = await app.inject({ url: '/', headers: { cookie: s.cookie } });
    expect(admin.body).toContain('id="alarms-link"');
    expect(admin.body).toMatch(/2 条未解除，其中 0 条未确认/);

    // a note with control characters is refused, naming the field (nothing acknowledged, nothing audited)
    const ctl = await app.inject({ method: 'POST', url: `/api/alarms/${scale.id}/acknowledge`, headers: s.post, payload: { note: '已通知\u0000电工' } });
    expect(ctl.statusCode).toBe(400);
    expect(ctl.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { note: { zh: expect.stringContaining('控制字符') } } });
    expect(ctl.json().zh).toMatch(/^备注不能包含控制字符/);

    board.clear('scale_fault', 'B1');
    const cleared = await app.inject({ method: 'POST', url: `/api/alarms/${scale.id}/acknowledge`, headers: s.post, payload: {} });
    expect(cleared.statusCode).toBe(409);
    expect(cleared.json()).toMatchObject({ error: 'ALARM_CLEARED', zh: expect.stringContaining('已经解除') });
    // from the page, a cleared alarm is told on a page with the way back, not as JSON
    const clearedForm = await app.inject({ method: 'POST', url: `/api/alarms/${scale.id}/acknowledge`, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf }).toString() });
    expect(clearedForm.statusCode).toBe(409);
    expect(clearedForm.headers['content-type']).toContain('text/html');
    expect(clearedForm.body).toContain('已经解除');
    expect(clearedForm.body).toContain('href="/alarms"');
    const unknown = await app.inject({ method: 'POST', url: '/api/alarms/9999/acknowledge', headers: s.post, payload: {} });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().zh).toContain('9999');
    expect(listAudit(ledger.db).filter((r) => r.action === 'alarm.acknowledge').map((r) => r.actor)).toEqual(['wang', 'wang']);
  });
});
