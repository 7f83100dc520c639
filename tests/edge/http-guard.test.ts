/**
 * What stands in front of every route: the Host check against DNS rebinding, and /healthz
 * telling a supervisor about faults (503) apart from mere degradation (200).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp, hostName } from '../../edge/http/app.ts';
import { allowedHosts } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH } from './admin-auth.ts';

const ledger = tempLedger();
afterAll(() => ledger.cleanup());
const store = { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' };

function build(health = new HealthBoard(), hosts?: string[]) {
  return buildApp({ store, health, db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, ...(hosts ? { allowedHosts: hosts } : {}) }, pino({ level: 'silent' }));
}

describe('the Host header', () => {
  it('reads the name without the port, IPv6 in brackets, any case', () => {
    expect(hostName('Store.Local:8080')).toBe('store.local');
    expect(hostName('[::1]:8080')).toBe('::1');
    expect(hostName('127.0.0.1')).toBe('127.0.0.1');
    expect(hostName(undefined)).toBe('');
  });

  it('accepts loopback names and refuses a foreign one with a bilingual 421', async () => {
    const app = build();
    const get = as(await signedIn(app, ledger.db));
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'LOCALHOST']) {
      expect((await get(app, { url: '/api/villagers', headers: { host } })).statusCode, host).toBe(200);
    }
    const evil = await get(app, { url: '/api/villagers', headers: { host: 'attacker.example:8080' } });
    expect(evil.statusCode).toBe(421);
    expect(evil.json()).toMatchObject({ error: 'HOST_NOT_ALLOWED' });
    expect(evil.json().zh).toContain('不属于本门店');
    expect(evil.json().message).toContain('http.allowed_hosts');
    expect((await get(app, { url: '/', headers: { host: 'attacker.example' } })).statusCode).toBe(421);
    await app.close();
  });

  it('accepts configured names', async () => {
    const app = build(new HealthBoard(), allowedHosts({ host: '127.0.0.1', port: 0, allowed_hosts: ['Store.Village.Lan'] }));
    const get = as(await signedIn(app, ledger.db));
    expect((await get(app, { url: '/api/villagers', headers: { host: 'store.village.lan:8080' } })).statusCode).toBe(200);
    expect((await get(app, { url: '/api/villagers', headers: { host: 'other.lan' } })).statusCode).toBe(421);
    await app.close();
  });

  it('defaults to loopback and the listen address; on 0.0.0.0 to this machine\'s addresses', () => {
    expect(allowedHosts({ host: '192.168.1.20', port: 0, allowed_hosts: [] })).toEqual(['localhost', '127.0.0.1', '::1', '192.168.1.20']);
    const wild = allowedHosts({ host: '0.0.0.0', port: 0, allowed_hosts: [] });
    expect(wild).toContain('127.0.0.1');
    expect(wild).not.toContain('0.0.0.0');
  });
});

describe('/healthz', () => {
  it('is 200 when degraded, 503 with the fault listed when a ledger write failed, 200 again once cleared', async () => {
    let now = Date.UTC(2026, 10, 30, 8, 0, 0);
    const health = new HealthBoard(() => now);
    health.set('ledger', 'ok');
    health.set('camera', 'degraded', 'unplugged');
    health.setPhase('running');
    const app = build(health);
    const get = as(await signedIn(app, ledger.db));
    const degraded = await get(app, { url: '/healthz' });
    expect(degraded.statusCode).toBe(200);
    expect(degraded.json()).toMatchObject({ status: 'degraded', faults: [] });

    health.fault('session', 'DB_FULL', 'settling: the disk is full');
    now += 60_000;
    health.fault('session', 'DB_FULL', 'settling: the disk is full (again)');
    const fault = await get(app, { url: '/healthz' });
    expect(fault.statusCode).toBe(503);
    expect(fault.json()).toMatchObject({ status: 'fault', faults: [{ source: 'session', code: 'DB_FULL', detail: 'settling: the disk is full (again)', since: '2026-11-30T08:00:00.000Z' }] });
    const page = await get(app, { url: '/' });
    expect(page.body).toContain('故障（需处理）');
    expect(page.body).toContain('data-fault="session"');

    health.clearFault('session');
    expect((await get(app, { url: '/healthz' })).statusCode).toBe(200);
    await app.close();
  });
});
