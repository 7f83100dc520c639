/**
 * Refused forms of the admin page's accounts and of /alarms, in a real browser (Debian's chromium
 * through playwright-core): a village admin's mistyped repeat password (400) and a user name
 * already taken (409), a note pasted with a control character (400), each come back as the
 * page again with the bilingual message beside the field and what was typed kept (never a
 * password), not as a JSON page; the form sent again from that page does the work (a tab in the
 * note kept as a space).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import { launchChromium, pageProblems } from '../../harness/browser.ts';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { LiveFeed } from '../../edge/http/live-feed.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { alarmById } from '../../edge/ledger/alarms.ts';
import { getAdminAccount } from '../../edge/ledger/admin-accounts.ts';
import type { DaemonEvents } from '../../edge/events.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const log = pino({ level: 'silent' });
const ledger = tempLedger();
const board = new AlarmBoard(() => ledger.db, log);
const live = new LiveFeed({ events: new EventEmitter<DaemonEvents>(), board: () => board });
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.95 },
  {
    dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, live,
    ops: { metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: () => ({ ready: true, checks: {} }) as never, alarms: (limit) => ({ active: board.active(), recent: board.recent(limit) }), acknowledge: (id, by, note) => board.acknowledge(id, by, note), clear: (id, by, note) => board.clearByHand(id, by, note) },
  },
  log,
);
let browser: Browser;

beforeAll(async () => {
  await createAccount(ledger.db, 'wang');
  await createAccount(ledger.db, 'cun', 'village_admin');
  await server.start();
  live.start();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  live.stop();
  await server.stop();
  ledger.cleanup();
});

async function signedInPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale: 'zh-CN', hasTouch: true });
  const page = await context.newPage();
  const problems = pageProblems(page);
  await page.goto(`${server.address!}login`);
  await page.fill('#username', 'cun');
  await page.fill('#password', TEST_PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
  return { page, problems };
}

/** Sends a form by its button; the status of the page it leads to. */
async function send(page: Page, button: string): Promise<number> {
  const [answer] = await Promise.all([page.waitForNavigation(), page.click(button)]);
  return answer!.status();
}

/** The browser's own log line for a page answered 4xx is expected here; nothing else. */
const unexpected = (problems: string[]): string[] => problems.filter((p) => !/status of 40[09]/.test(p));

describe('refused forms come back as their page, in chromium', () => {
  it('adding an account: a mistyped repeat and a name taken are said beside the field, the rest kept', { timeout: 90_000 }, async () => {
    const { page, problems } = await signedInPage();
    const form = page.locator('#account-add');
    await form.locator('[name=username]').fill('xiaowang');
    await form.locator('[name=display_name]').fill('小王');
    await form.locator('[name=role]').selectOption('village_admin');
    await form.locator('[name=password]').fill('abcdefghijk1');
    await form.locator('[name=password_confirm]').fill('abcdefghijk2');
    expect(await send(page, '#account-add button[type=submit]')).toBe(400);
    const repeat = page.locator('#account-add [data-field=password_confirm]');
    await repeat.waitFor();
    expect(await repeat.innerText()).toBe('两次输入的密码不一致 / the two passwords differ');
    expect(await form.locator('[name=username]').inputValue()).toBe('xiaowang');
    expect(await form.locator('[name=display_name]').inputValue()).toBe('小王');
    expect(await form.locator('[name=role]').inputValue()).toBe('village_admin');
    // a password is never written back into a page
    expect(await form.locator('[name=password]').inputValue()).toBe('');
    expect(await page.content()).not.toContain('abcdefghijk');
    expect(getAdminAccount(ledger.db, 'xiaowang')).toBeUndefined();

    // a name already taken, sent from the refused page (its token is good)
    await form.locator('[name=username]').fill('wang');
    await form.locator('[name=password]').fill('abcdefghijk1');
    await form.locator('[name=password_confirm]').fill('abcdefghijk1');
    expect(await send(page, '#account-add button[type=submit]')).toBe(409);
    const name = page.locator('#account-add [data-field=username]');
    await name.waitFor();
    expect(await name.innerText()).toBe('管理账号 wang 已存在 / admin account wang already exists');
    expect(await form.locator('[name=username]').inputValue()).toBe('wang');
    expect(await form.locator('[name=display_name]').inputValue()).toBe('小王');
    expect(await page.locator('#account-add [data-field=password_confirm]').count()).toBe(0);

    // corrected: added, back on the admin page
    await form.locator('[name=username]').fill('xiaowang');
    await form.locator('[name=password]').fill('abcdefghijk1');
    await form.locator('[name=password_confirm]').fill('abcdefghijk1');
    await Promise.all([page.waitForURL((u) => u.pathname === '/' && u.hash === '#accounts'), page.click('#account-add button[type=submit]')]);
    expect(getAdminAccount(ledger.db, 'xiaowang')).toMatchObject({ displayName: '小王', role: 'village_admin' });
    expect(unexpected(problems)).toEqual([]);
    await page.context().close();
  });

  it('/alarms: a note with a pasted control character is said beside the note, the note kept; sent again with a tab instead, acknowledged with a space', { timeout: 90_000 }, async () => {
    const alarm = board.raise('disk_low', 'data', 'free 3 %');
    const { page, problems } = await signedInPage();
    await page.goto(`${server.address!}alarms`);
    const note = page.locator(`tr[data-alarm="${alarm.id}"] form[action$="/acknowledge"] input[name=note]`);
    await note.fill('已清理磁盘\u0008周五');
    expect(await send(page, `tr[data-alarm="${alarm.id}"] button[data-action=acknowledge]`)).toBe(400);
    const why = page.locator(`tr[data-alarm="${alarm.id}"] [data-field=note]`);
    await why.waitFor();
    expect(await why.innerText()).toContain('备注不能包含控制字符');
    expect(await why.innerText()).toContain('must not contain control characters');
    expect(await note.inputValue()).toBe('已清理磁盘\u0008周五');
    expect(alarmById(ledger.db, alarm.id)).toMatchObject({ acknowledged_at: null });

    // a tab pasted from a chat message is a space, as a line break is
    await note.fill('已清理磁盘\t周五');
    await Promise.all([page.waitForURL((u) => u.pathname === '/alarms'), page.click(`tr[data-alarm="${alarm.id}"] button[data-action=acknowledge]`)]);
    expect(alarmById(ledger.db, alarm.id)).toMatchObject({ acknowledged_by: 'cun', ack_note: '已清理磁盘 周五' });
    expect(unexpected(problems)).toEqual([]);
    await page.context().close();
  });
});
