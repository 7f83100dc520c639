/**
 * Acknowledging an alarm on the live page, in a real browser (Debian's chromium through
 * playwright-core): an open alarm raised after the page loaded arrives over the stream with a
 * note field and a button; the page says who may acknowledge and who is signed in; the button
 * posts to the same route as /alarms (session and CSRF token), audited; the acknowledged
 * alarm then shows by whom and when; a note being typed survives another alarm arriving. A
 * villager_id_taken, which only a maintainer can say is settled, has a clear form too: a double
 * tap clears it once (audited once) and it leaves the list; no other kind offers one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { launchChromium, pageProblems } from '../../harness/browser.ts';
import { pino } from 'pino';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { LiveFeed } from '../../edge/http/live-feed.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { alarmById } from '../../edge/ledger/alarms.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import type { DaemonEvents } from '../../edge/events.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const SHOTS = path.resolve(import.meta.dirname, '../../test-results');
const log = pino({ level: 'silent' });

const ledger = tempLedger();
const board = new AlarmBoard(() => ledger.db, log);
const live = new LiveFeed({ events: new EventEmitter<DaemonEvents>(), board: () => board });
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.9 },
  {
    dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, live, timeZone: 'Asia/Shanghai',
    ops: { metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: () => ({ ready: true, checks: {} }) as never, alarms: (limit) => ({ active: board.active(), recent: board.recent(limit) }), acknowledge: (id, by, note) => board.acknowledge(id, by, note), clear: (id, by, note) => board.clearByHand(id, by, note) },
  },
  log,
);
let browser: Browser;

beforeAll(async () => {
  await createAccount(ledger.db, 'wang');
  await server.start();
  live.start();
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  live.stop();
  await server.stop();
  ledger.cleanup();
});

describe('acknowledging on the live page, in chromium', () => {
  it('shows who may acknowledge, acknowledges with a note through the audited route, then shows by whom and when', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    const page = await context.newPage();
    const problems = pageProblems(page);
    await page.goto(`${server.address!}live`);
    await page.fill('#username', 'wang');
    await page.fill('#password', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/live'), page.click('button[type=submit]')]);
    await page.locator('#live-status[data-connected=true]').waitFor();
    expect(await page.locator('#open-alarms').innerText()).toBe('没有未解除的告警');
    await page.locator('#ack-who', { hasText: '你（' }).waitFor();
    expect(await page.locator('#ack-who').innerText()).toContain('门店维护员或村管理员');

    // raised after the page loaded: it comes over the stream
    const scale = board.raise('scale_fault', 'B1', 'no reply from unit 13');
    const item = page.locator(`#open-alarms li[data-alarm="${scale.id}"]`);
    await item.locator('button[data-action=acknowledge]').waitFor();
    expect(await item.getAttribute('data-acknowledged')).toBe('false');
    expect(await item.innerText()).toContain('秤故障（B1）');
    await item.locator('input').fill('秤线松了，明早接好');
    // another alarm arrives while the note is typed: the note stays
    const camera = board.raise('camera_gone', 'camera', 'no frames for 30 s');
    await page.locator(`#open-alarms li[data-alarm="${camera.id}"]`).waitFor();
    expect(await item.locator('input').inputValue()).toBe('秤线松了，明早接好');

    await item.locator('button[data-action=acknowledge]').click();
    await page.locator(`#open-alarms li[data-alarm="${scale.id}"][data-acknowledged=true]`).waitFor();
    expect(await item.innerText()).toMatch(/已确认：wang，\d{4}-\d{2}-\d{2} \d{2}:\d{2}，“秤线松了，明早接好”/);
    expect(alarmById(ledger.db, scale.id)).toMatchObject({ acknowledged_by: 'wang', ack_note: '秤线松了，明早接好' });
    expect(listAudit(ledger.db).filter((r) => r.action === 'alarm.acknowledge')).toMatchObject([{ actor: 'wang', after: { note: '秤线松了，明早接好' } }]);
    // the other one still waits for someone
    expect(await page.locator(`#open-alarms li[data-alarm="${camera.id}"]`).getAttribute('data-acknowledged')).toBe('false');
    await page.screenshot({ path: path.join(SHOTS, 'admin-live-ack-tablet.png'), fullPage: true });

    // cleared at the store: it leaves the list over the stream
    board.clear('scale_fault', 'B1');
    await page.locator(`#open-alarms li[data-alarm="${scale.id}"]`).waitFor({ state: 'detached' });
    // only the kinds a maintainer settles have a clear form
    expect(await page.locator('#open-alarms button[data-action=clear]').count()).toBe(0);

    // villager_id_taken: the village has corrected its records; cleared here by hand, a double tap sends one
    const taken = board.raise('villager_id_taken', 'v-0042', 'held by village houjia');
    const takenItem = page.locator(`#open-alarms li[data-alarm="${taken.id}"]`);
    const clearButton = takenItem.locator('button[data-action=clear]');
    await clearButton.waitFor();
    expect(await takenItem.locator('button[data-action=acknowledge]').count()).toBe(1);
    await takenItem.locator('input[data-note^="clear"]').fill('村委已更正后街村的编号');
    await clearButton.dblclick();
    await takenItem.waitFor({ state: 'detached' });
    await page.locator('#ack-status', { hasText: '已解除' }).waitFor();
    expect(alarmById(ledger.db, taken.id)).toMatchObject({ cleared_by: 'wang' });
    expect(listAudit(ledger.db).filter((r) => r.action === 'alarm.clear')).toMatchObject([{ actor: 'wang', after: { note: '村委已更正后街村的编号' } }]);
    expect(await page.locator(`#open-alarms li[data-alarm="${camera.id}"]`).count()).toBe(1);
    expect(problems).toEqual([]);
    await context.close();
  });
});
