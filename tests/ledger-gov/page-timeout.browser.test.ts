/**
 * A request the network holds and never answers, on the ledger's pages in a real browser
 * (Debian's chromium through playwright-core): the page gives it up after its deadline
 * (errors.js LedgerErrors.fetch), says 请求超时，请检查网络后重试 / The request timed out; check the
 * network and try again, and the button works again. The deadline is shortened for the test
 * (`window.LedgerRequestTimeouts`, set before the send), so the test waits for the timeout, not
 * half a minute; the request after it goes with the pages' own. Covered: the staff login (a plain
 * form, its request held before the ledger, harness `holdRequests`); the village office's 发布任务
 * and the villager's photo upload, forms with a request id, whose first send reached the ledger and
 * did its work while the answer was held (harness `holdAnswers`): pressed again after the
 * timeout, they send the same id and the ledger, answering it again, made one task, one photo.
 * Before the deadline, each button stayed busy for ever. No script errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { holdAnswers, holdRequests } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { STAFF_PASSWORD } from './gov-app.ts';
import { browserRig, watchPage, type BrowserRig } from './browser-rig.ts';
import { tinyJpeg } from './photos.ts';

const TIMED_OUT = '请求超时，请检查网络后重试 / The request timed out; check the network and try again';
/** Waiting for a page's own timeout (a second or two) on a loaded machine. */
const PATIENCE = { timeout: 30_000 };

type Deadlines = { json?: number; upload?: number };
/** Sets the page's deadlines for the next sends (ms); `undefined`, the pages' own. */
const deadlines = (page: Page, set: Deadlines | undefined) =>
  page.evaluate((d) => {
    const w = globalThis as unknown as { LedgerRequestTimeouts?: Deadlines };
    if (d) w.LedgerRequestTimeouts = d;
    else delete w.LedgerRequestTimeouts;
  }, set);

describe(`a request never answered times out on the ledger's pages (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  const problems: string[] = [];
  // the 401 of a visit without a session is the way to the login
  const watch = (page: Page) => watchPage(page, problems, /status of 401 /);

  beforeAll(async () => {
    rig = await browserRig(async (g) => {
      await g.staff('clerk-a', g.a);
      await g.villager(g.a, 'zhang');
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('the staff login held before the ledger: the page says it timed out, and signing in again works', async () => {
    problems.length = 0;
    const context = await rig.phone();
    const page = watch(await context.newPage());
    await page.goto(`${rig.base}/login?next=%2Ftown`);
    await page.waitForSelector('#login-view:not([hidden])');
    await page.fill('#username', 'clerk-a');
    await page.fill('#password', STAFF_PASSWORD);
    const held = await holdRequests(page, '**/staff/login');
    await deadlines(page, { json: 1000, upload: 60_000 });
    const button = '#login-form button[type=submit]';
    await page.click(button);
    await expect.poll(() => page.textContent('#login-error'), PATIENCE).toBe(TIMED_OUT);
    await expect.poll(() => page.isEnabled(button)).toBe(true);
    // the network is back: the same button signs in
    await held.answer();
    await deadlines(page, undefined);
    await page.fill('#password', STAFF_PASSWORD);
    await page.click(button);
    await page.waitForURL(`${rig.base}/town`, PATIENCE);
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);

  it('发布任务 whose answer never comes: timed out, pressed again with the same request id, one task', async () => {
    problems.length = 0;
    const context = await rig.desk();
    const page = watch(await context.newPage());
    await rig.staffSignIn(page, 'clerk-a', '/village');
    const sent: string[] = [];
    page.on('request', (r) => void (r.method() === 'POST' && r.url().endsWith(`/api/villages/${rig.g.a}/tasks`) && sent.push((JSON.parse(r.postData() ?? '{}') as { request: string }).request)));
    await page.fill('#task-title', '七月村民会议');
    await page.selectOption('#task-item', 'GOV-MEETING');
    await page.fill('#task-max_claimants', '5');
    const held = await holdAnswers(page, '**/tasks');
    await deadlines(page, { json: 1000, upload: 60_000 });
    const publish = '#task-form button[type=submit]';
    await page.click(publish);
    await expect.poll(() => page.textContent('#task-error'), PATIENCE).toBe(TIMED_OUT);
    await expect.poll(() => page.isEnabled(publish)).toBe(true);
    const titled = async () => (await rig.g.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM gov_tasks WHERE village = $1 AND title = $2', [rig.g.a, '七月村民会议'])).map((r) => Number(r.n));
    // the ledger did publish it; only the answer was held
    expect({ applied: held.applied(), tasks: await titled() }).toEqual({ applied: 1, tasks: [1] });
    await deadlines(page, undefined);
    await page.click(publish);
    await expect.poll(() => page.textContent('#task-ok'), PATIENCE).toBe('已发布任务「七月村民会议」，2 分 / published');
    expect(await titled()).toEqual([1]);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toBe(sent[0]);
    held.release();
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);

  it('a photo whose upload is never answered: timed out at the upload deadline, tapped again, one photo and one report', async () => {
    problems.length = 0;
    const count = async (sql: string) => Number((await rig.g.db.query<{ n: number | string }>(sql, ['zhang']))[0]!.n);
    const photos = () => count('SELECT COUNT(*) AS n FROM gov_evidence WHERE villager_id = $1');
    const reports = () => count("SELECT COUNT(*) AS n FROM gov_claims WHERE villager_id = $1 AND status = 'reported'");
    const context = await rig.phone();
    const page = watch(await context.newPage());
    await rig.villagerSignIn(page, 'zhang');
    const uploads: string[] = [];
    page.on('request', (r) => void (r.method() === 'POST' && r.url().endsWith('/evidence') && uploads.push(/name="request"\r\n\r\n([0-9a-f]+)/.exec(r.postDataBuffer()?.toString('latin1') ?? '')?.[1] ?? '')));
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    await page.setInputFiles('#self-photo', { name: 'lane.jpg', mimeType: 'image/jpeg', buffer: await tinyJpeg() });
    const held = await holdAnswers(page, '**/evidence');
    // the upload's deadline, not the JSON one, is what gives it up
    await deadlines(page, { json: 60_000, upload: 1000 });
    const send = '#self-form button[type=submit]';
    await page.click(send);
    await expect.poll(() => page.textContent('#self-error'), PATIENCE).toBe(TIMED_OUT);
    await expect.poll(() => page.isEnabled(send)).toBe(true);
    expect({ applied: held.applied(), photos: await photos(), reports: await reports() }).toEqual({ applied: 1, photos: 1, reports: 0 });
    await deadlines(page, undefined);
    await page.click(send);
    await expect.poll(() => page.textContent('#self-ok'), PATIENCE).toBe('已提交，等待村里审核 / sent; the village will review it');
    expect({ photos: await photos(), reports: await reports() }).toEqual({ photos: 1, reports: 1 });
    expect(uploads).toHaveLength(2);
    expect(uploads[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(uploads[1]).toBe(uploads[0]);
    held.release();
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);
});
