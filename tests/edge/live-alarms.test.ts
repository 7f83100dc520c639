/**
 * The store's open alarms on the live page: the feed follows the alarm board (raised,
 * acknowledged, cleared → `open_alarms`), the picture carries each with its acknowledgement
 * (null when alarms are off), and the page says who may acknowledge. Acknowledging goes
 * through the same route as /alarms (session, CSRF, audit); the browser side is in
 * live-ack.browser.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { LiveFeed, type LiveTopic } from '../../edge/http/live-feed.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import type { DaemonEvents } from '../../edge/events.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const log = pino({ level: 'silent' });

describe('the live feed follows the alarm board', () => {
  it('signals open_alarms on a raise, an acknowledgement and a clear, and lists the open ones with their acknowledgement', () => {
    const ledger = tempLedger();
    try {
      const board = new AlarmBoard(() => ledger.db, log);
      const feed = new LiveFeed({ events: new EventEmitter<DaemonEvents>(), board: () => board });
      const topics: LiveTopic[] = [];
      feed.on('change', (t) => topics.push(t));
      feed.start();
      const scale = board.raise('scale_fault', 'B1', 'no reply from unit 13');
      expect(topics).toEqual(['open_alarms']);
      expect(feed.openAlarms()).toMatchObject([{ id: scale.id, kind: 'scale_fault', subject: 'B1', severity: 'warning', detail: 'no reply from unit 13', acknowledged_at: null, zh: '秤故障（B1）', en: 'scale fault (B1)' }]);
      board.acknowledge(scale.id, 'wang', '明早换线');
      expect(topics).toEqual(['open_alarms', 'open_alarms']);
      expect(feed.openAlarms()).toMatchObject([{ id: scale.id, acknowledged_by: 'wang', ack_note: '明早换线' }]);
      expect(feed.openAlarms()![0]!.acknowledged_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      board.clear('scale_fault', 'B1');
      expect(topics).toEqual(['open_alarms', 'open_alarms', 'open_alarms']);
      expect(feed.openAlarms()).toEqual([]);
      // stopped, it no longer listens
      feed.stop();
      board.raise('camera_gone', 'camera', 'no frames');
      expect(topics).toHaveLength(3);
    } finally {
      ledger.cleanup();
    }
  });

  it('has no open alarms list without a board (alarms turned off)', () => {
    expect(new LiveFeed({ events: new EventEmitter<DaemonEvents>() }).openAlarms()).toBeNull();
  });
});

describe('the live page and its picture', () => {
  const ledger = tempLedger();
  const board = new AlarmBoard(() => ledger.db, log);
  const live = new LiveFeed({ events: new EventEmitter<DaemonEvents>(), board: () => board });
  const app = buildApp({
    store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, live,
    ops: { metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: () => ({ ready: true, checks: {} }) as never, alarms: (limit) => ({ active: board.active(), recent: board.recent(limit) }), acknowledge: (id, by, note) => board.acknowledge(id, by, note) },
  }, log);
  let s: Signed;
  beforeAll(async () => {
    s = await signedIn(app, ledger.db);
    live.start();
  });
  afterAll(async () => {
    live.stop();
    await app.close();
    ledger.cleanup();
  });

  it('carries each open alarm with its acknowledgement, acknowledged through the /alarms route (CSRF, audit)', async () => {
    const lock = board.raise('lock_not_confirmed', 'relock', 'relay did not confirm', 'critical');
    const now = async () => (await app.inject({ url: '/api/live/now', headers: { cookie: s.cookie } })).json();
    expect((await now()).open_alarms).toMatchObject([{ id: lock.id, severity: 'critical', acknowledged_by: null, zh: '门锁未确认（relock）' }]);
    const url = `/api/alarms/${lock.id}/acknowledge`;
    expect((await app.inject({ method: 'POST', url, headers: { cookie: s.cookie }, payload: { note: 'x' } })).statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url, headers: s.post, payload: { note: '厂家明早来修' } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await now()).open_alarms).toMatchObject([{ id: lock.id, acknowledged_by: 'wang', ack_note: '厂家明早来修' }]);
    expect(listAudit(ledger.db).filter((r) => r.action === 'alarm.acknowledge')).toMatchObject([{ actor: 'wang' }]);
  });

  it('says who may acknowledge, in the language asked for', async () => {
    const zh = await app.inject({ url: '/live', headers: { cookie: s.cookie } });
    expect(zh.statusCode).toBe(200);
    expect(zh.body).toContain('id="open-alarms"');
    expect(zh.body).toContain('门店维护员或村管理员');
    const en = await app.inject({ url: '/live?lang=en', headers: { cookie: s.cookie } });
    expect(en.body).toContain('A maintainer or a village admin');
  });
});
