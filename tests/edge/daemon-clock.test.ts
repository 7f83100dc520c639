/**
 * The daemon hands its clock to the admin page: an admin action's audit record is stamped with
 * the daemon's (here simulated) time, as the rest of its ledger is, not the machine's. So does
 * its alarm board: an alarm raised, acknowledged and its audit record carry the daemon's time.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validateConfig } from '../../edge/config/load.ts';
import { StoreDaemon } from '../../edge/main.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { clearAlarm, raiseAlarm, recentAlarms } from '../../edge/ledger/alarms.ts';
import { tempDir } from '../ledger/helpers.ts';
import { createAccount, politeFetch, signInHttp } from './admin-auth.ts';

describe('the daemon\'s clock on the admin page', () => {
  it('an admin action\'s audit record carries the daemon\'s time, not the system\'s', async () => {
    const t = tempDir('daemon-clock-');
    const simulated = Date.parse('2031-03-04T05:06:07.000Z');
    const config = validateConfig({ data_dir: t.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false }, sync: { enabled: false } });
    const daemon = new StoreDaemon(config, pino({ level: 'silent' }), { clock: () => new Date(simulated) });
    try {
      await daemon.start();
      const base = daemon.httpAddress!;
      await createAccount(daemon.db, 'cun', 'village_admin');
      addVillager(daemon.db, { id: 'V001', name: '王大妈', village: 'demo-village' });
      const s = await signInHttp(base, 'cun');
      const res = await politeFetch(new URL('/api/villagers/V001/status', base), { method: 'POST', headers: { ...s.post, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ status: 'blocked' }) });
      expect(res.status, await res.clone().text()).toBe(200);
      const row = listAudit(daemon.db, { limit: 100 }).find((r) => r.action.startsWith('villager.') && r.target === 'V001');
      expect(row?.at).toBe(new Date(simulated).toISOString());
      const alarm = daemon.alarms!.raise('job_failed', 'clock test', 'raised on the daemon\'s clock / 按守护进程时钟告警');
      expect(alarm.raised_at).toBe(new Date(simulated).toISOString());
      const ack = daemon.alarms!.acknowledge(alarm.id, 'cun', null);
      expect(ack.alarm.acknowledged_at).toBe(new Date(simulated).toISOString());
      expect(listAudit(daemon.db, { limit: 100 }).find((r) => r.action === 'alarm.acknowledge')?.at).toBe(new Date(simulated).toISOString());
    } finally {
      await daemon.stop();
      t.cleanup();
    }
  }, 120_000);

  it('the retention job counts alarms.keep_days on the daemon\'s clock, on which the alarms were cleared, not the system\'s', async () => {
    const t = tempDir('daemon-clock-retention-');
    // years ahead of the system's clock: measured from the system's, nothing would be old enough
    const simulated = Date.parse('2031-03-04T05:06:07.000Z');
    const daysBefore = (d: number): string => new Date(simulated - d * 86_400_000).toISOString();
    const config = validateConfig({ data_dir: t.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false }, sync: { enabled: false }, alarms: { keep_days: 180 } });
    const daemon = new StoreDaemon(config, pino({ level: 'silent' }), { clock: () => new Date(simulated) });
    try {
      await daemon.start();
      raiseAlarm(daemon.db, { kind: 'scale_fault', subject: 'A1', severity: 'warning', detail: 'cleared 200 days ago' }, daysBefore(201));
      clearAlarm(daemon.db, 'scale_fault', 'A1', daysBefore(200), 'resolved');
      raiseAlarm(daemon.db, { kind: 'scale_fault', subject: 'A1', severity: 'warning', detail: 'cleared 10 days ago' }, daysBefore(11));
      clearAlarm(daemon.db, 'scale_fault', 'A1', daysBefore(10), 'resolved');
      expect(await daemon.jobs!.run('retention')).toBe('ok');
      expect(recentAlarms(daemon.db, 10).map((a) => a.detail)).toEqual(['cleared 10 days ago']);
    } finally {
      await daemon.stop();
      t.cleanup();
    }
  }, 120_000);
});
