/**
 * Clearing an alarm by hand: `villager_id_taken` says what only the village ledger can settle
 * (the id held by another village), so the store never sees its condition go away unless the
 * villager leaves. A maintainer who has settled it with the village clears it on /alarms, by
 * the API or by the CLI (audited, who and their note); the same conflict reported for a new row
 * raises it again. An alarm the store watches itself (a scale, the disk) is not cleared by hand:
 * it clears when its condition does, and is acknowledged meanwhile.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { AlarmBoard, villagerIdTakenAlarm } from '../../edge/ops/alarms.ts';
import { alarmById, type AlarmRow } from '../../edge/ledger/alarms.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { markOutboxAckedSeqs } from '../../edge/ledger/outbox.ts';
import { foreignVillagerIds } from '../../cloud-sync/agent/rows.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const log = pino({ level: 'silent' });

describe('the alarm board: clearing by hand', () => {
  let db: Db | undefined;
  afterEach(() => {
    if (db) closeLedger(db);
    db = undefined;
  });

  it('clears villager_id_taken by hand (audited, told), once; the conflict reported again raises a new alarm', () => {
    db = openLedger(':memory:');
    const b = new AlarmBoard(() => db!, log);
    const told: Array<[string, AlarmRow]> = [];
    for (const e of ['raised', 'acknowledged', 'cleared'] as const) b.on(e, (r) => told.push([e, r]));
    villagerIdTakenAlarm(b)(['wei']);
    const a = b.active()[0]!;
    const r = b.clearByHand(a.id, 'wang', '村里已更正邻村的编号');
    expect(r).toMatchObject({ cleared: true, alarm: { id: a.id, cleared_by: 'wang' } });
    expect(typeof r.auditId).toBe('number');
    expect(b.active()).toEqual([]);
    expect(alarmById(db, a.id)).toMatchObject({ cleared_by: 'wang' });
    // a double tap: nothing more done, nothing more audited
    expect(b.clearByHand(a.id, 'li', null)).toMatchObject({ cleared: false, auditId: null, alarm: { cleared_by: 'wang' } });
    expect(listAudit(db).filter((x) => x.action === 'alarm.clear')).toMatchObject([{ actor: 'wang', target: `villager_id_taken villager wei #${a.id}`, before: { cleared_at: null }, after: { cleared_by: 'wang', note: '村里已更正邻村的编号' } }]);
    villagerIdTakenAlarm(b)(['wei']);
    expect(b.active()).toMatchObject([{ kind: 'villager_id_taken', subject: 'villager wei', acknowledged_at: null }]);
    expect(b.active()[0]!.id).not.toBe(a.id);
    expect(told.map(([e]) => e)).toEqual(['raised', 'cleared', 'raised']);
  });

  it('stamps its audit records with the board\'s clock, not the system\'s: an acknowledgement and a clearing by hand', () => {
    db = openLedger(':memory:');
    // a clock years from the system's, stepped by the test
    let now = new Date('2031-05-05T01:00:00.000Z');
    const b = new AlarmBoard(() => db!, log, () => now);
    villagerIdTakenAlarm(b)(['wei']);
    const a = b.active()[0]!;
    now = new Date('2031-05-05T01:10:00.000Z');
    b.acknowledge(a.id, 'li', '在查');
    now = new Date('2031-05-05T01:20:00.000Z');
    b.clearByHand(a.id, 'wang', '村里已更正');
    const audit = listAudit(db).filter((x) => x.action.startsWith('alarm.'));
    expect(audit.map((x) => [x.action, x.at])).toEqual([['alarm.clear', '2031-05-05T01:20:00.000Z'], ['alarm.acknowledge', '2031-05-05T01:10:00.000Z']]);
    // the same time as the alarm's own
    expect(alarmById(db, a.id)).toMatchObject({ acknowledged_at: '2031-05-05T01:10:00.000Z', cleared_at: '2031-05-05T01:20:00.000Z' });
  });

  it('refuses an alarm the store watches itself (409, both languages) and an unknown one (404)', () => {
    db = openLedger(':memory:');
    const b = new AlarmBoard(() => db!, log);
    const scale = b.raise('scale_fault', 'A1', 'no reply');
    expect(() => b.clearByHand(scale.id, 'wang', null)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', zh: expect.stringContaining('自动解除'), details: expect.objectContaining({ status: 409, error: 'ALARM_NOT_CLEARABLE' }) }));
    expect(() => b.clearByHand(9999, 'wang', null)).toThrow(expect.objectContaining({ code: 'NOT_FOUND', zh: expect.stringContaining('9999') }));
    expect(b.active()).toMatchObject([{ id: scale.id, cleared_at: null }]);
    expect(listAudit(db).filter((x) => x.action === 'alarm.clear')).toEqual([]);
  });
});

describe('the same conflict named again', () => {
  let db: Db | undefined;
  afterEach(() => {
    if (db) closeLedger(db);
    db = undefined;
  });

  it("an ack names a row's villager only while that row waits for its ack: an ack published again does not bring back a cleared alarm", () => {
    db = openLedger(':memory:');
    addVillager(db, { id: 'wei', name: '魏八', village: 'v' });
    const seq = (db.prepare('SELECT MAX(seq) AS s FROM outbox').get() as { s: number }).s;
    expect(foreignVillagerIds(db, 's1', [`s1:${seq}`, 'other-store:1'])).toEqual([{ seq, id: 'wei' }]);
    markOutboxAckedSeqs(db, [seq], new Date().toISOString());
    expect(foreignVillagerIds(db, 's1', [`s1:${seq}`])).toEqual([]);
  });

  it('a new row named takes back an acknowledgement, as a new occurrence', () => {
    db = openLedger(':memory:');
    const b = new AlarmBoard(() => db!, log);
    villagerIdTakenAlarm(b)(['wei']);
    const a = b.active()[0]!;
    b.acknowledge(a.id, 'wang', '已报村委');
    villagerIdTakenAlarm(b)(['wei']);
    expect(b.active()).toMatchObject([{ id: a.id, acknowledged_at: null, seen: 2 }]);
  });
});

describe('clearing from the /alarms page and the API', () => {
  const ledger = tempLedger();
  const board = new AlarmBoard(() => ledger.db, log);
  const app = buildApp({
    store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH,
    ops: {
      metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: () => ({ ready: true, checks: {} }) as never,
      alarms: (limit) => ({ active: board.active(), recent: board.recent(limit) }), acknowledge: (id, by, note) => board.acknowledge(id, by, note), clear: (id, by, note) => board.clearByHand(id, by, note),
    },
  }, log);
  let s: Signed;
  beforeAll(async () => {
    s = await signedIn(app, ledger.db);
  });
  afterAll(async () => {
    await app.close();
    ledger.cleanup();
  });

  it('offers a clear form for villager_id_taken only; clears by JSON and by the form; refuses without a login or CSRF, and a scale fault', async () => {
    villagerIdTakenAlarm(board)(['wei', 'zhou']);
    const [wei, zhou] = board.active();
    const scale = board.raise('scale_fault', 'B1', 'implausible reading');
    const page = await app.inject({ url: '/alarms', headers: { cookie: s.cookie } });
    expect(page.body).toContain(`action="/api/alarms/${wei!.id}/clear"`);
    expect(page.body).not.toContain(`action="/api/alarms/${scale.id}/clear"`);
    const en = await app.inject({ url: '/alarms?lang=en', headers: { cookie: s.cookie } });
    expect(en.body).toContain('data-action="clear"');

    const url = `/api/alarms/${wei!.id}/clear`;
    expect((await app.inject({ method: 'POST', url, payload: {} })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url, headers: { cookie: s.cookie }, payload: {} })).statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url, headers: s.post, payload: { note: ' 村委已核实 ' } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ cleared: true, alarm: { id: wei!.id, cleared_by: 'wang' } });
    expect(typeof ok.json().audit_id).toBe('number');
    expect((await app.inject({ method: 'POST', url, headers: s.post, payload: {} })).json()).toMatchObject({ cleared: false, audit_id: null });

    const form = await app.inject({ method: 'POST', url: `/api/alarms/${zhou!.id}/clear`, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf, note: '' }).toString() });
    expect(form.statusCode).toBe(303);
    expect(form.headers.location).toBe('/alarms');

    const refused = await app.inject({ method: 'POST', url: `/api/alarms/${scale.id}/clear`, headers: s.post, payload: {} });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'ALARM_NOT_CLEARABLE', zh: expect.stringContaining('自动解除') });
    const refusedForm = await app.inject({ method: 'POST', url: `/api/alarms/${scale.id}/clear`, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie }, payload: new URLSearchParams({ _csrf: s.csrf }).toString() });
    expect(refusedForm.statusCode).toBe(409);
    expect(refusedForm.headers['content-type']).toContain('text/html');
    expect(refusedForm.body).toContain('href="/alarms"');
    expect((await app.inject({ method: 'POST', url: '/api/alarms/9999/clear', headers: s.post, payload: {} })).statusCode).toBe(404);

    expect(board.active().map((a) => a.kind)).toEqual(['scale_fault']);
    // the admin page's audit section names the action; /alarms names who cleared it
    expect((await app.inject({ url: '/', headers: { cookie: s.cookie } })).body).toContain('手动解除告警');
    expect((await app.inject({ url: '/alarms', headers: { cookie: s.cookie } })).body).toContain('（wang）');
    expect(listAudit(ledger.db).filter((r) => r.action === 'alarm.clear').map((r) => `${r.actor} ${r.target}`)).toEqual([`wang villager_id_taken villager zhou #${zhou!.id}`, `wang villager_id_taken villager wei #${wei!.id}`]);
  });
});
