/**
 * The ledger's pages in a real browser (Debian's chromium through playwright-core), on the
 * ledger's own app and port: the villager's phone page at phone size (login, balance,
 * history, claiming a task, reporting with a photo, the QR code refreshing itself and
 * accepted by the store's verifier; answers lost on a weak network, tapped again, file one
 * report with one photo), the passbook as printed, and the town's charts and stores'
 * alarms behind the staff login (login -> /town, sign out). No
 * script errors, no CSP violations. Screenshots go to test-results/.
 */
import sharp from 'sharp';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Page } from 'playwright-core';
import { holdRequests, loseAnswers } from '../../harness/browser.ts';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { verifyQrToken } from '../../edge/entry/credentials.ts';
import { STAFF_PASSWORD } from './gov-app.ts';
import { browserRig, SHOTS, watchPage, type BrowserRig } from './browser-rig.ts';
import { heicPhoto, tinyJpeg } from './photos.ts';
import { registerStore } from '../../cloud-sync/ledger/tables.ts';
import { recordAlarmList } from '../../cloud-sync/ledger/store-alarms.ts';


describe(`ledger pages in chromium (${ledgerDbKind})`, () => {
  let rig: BrowserRig;
  let task: string;
  const problems: string[] = [];
  // 400, 401 and 403 are refusals the tests provoke (a wrong PIN, a report without its photo), 409 a
  // form sent again with other content, ERR_FAILED an answer the test drops (loseAnswers)
  const watch = (page: Page) => {
    problems.length = 0;
    return watchPage(page, problems, /status of 40[0139] |net::ERR_FAILED/);
  };

  beforeAll(async () => {
    // 36 s tokens: the page fetches the next one after 6 s, so the test sees it refresh.
    rig = await browserRig(async (g) => {
      await g.villager(g.a, 'zhang');
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/zhang`, { name: '张三' })).statusCode).toBe(200);
      const r = (await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'zhang' })).json() as { id: string };
      expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${r.id}/approve`, {})).statusCode).toBe(200);
      task = ((await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '清扫村东巷道', item: 'ENV-SWEEP-LANE', max_claimants: 5 })).json() as { id: string }).id;
    }, { qrLifetimeS: 36 });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  it('a villager logs in on a phone, claims a task, reports it with a photo, and shows a refreshing QR code the store accepts', async () => {
    const context = await rig.phone();
    const page = watch(await context.newPage());
    await page.goto(`${rig.base}/m/?village=${rig.g.a}`);
    await page.waitForSelector('#login-form');
    expect(await page.inputValue('#village')).toBe(rig.g.a);
    await page.fill('#villager', 'zhang');
    await page.fill('#pin', '1357');
    // a double tap on 登录 is one attempt (two would count the wrong PIN twice towards the lock), and the button is ready again after the refusal
    const logins: string[] = [];
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/m/login')) logins.push(r.url()); });
    await page.dblclick('#login-form button[type=submit]');
    await expect.poll(() => page.textContent('#login-error')).toBe('村民编号或密码不正确 / wrong villager id or PIN');
    await expect.poll(() => page.isEnabled('#login-form button[type=submit]')).toBe(true);
    expect(logins).toHaveLength(1);
    expect((await rig.g.db.query<{ failures: number | string }>('SELECT failures FROM gov_login_failures WHERE login = $1', [`${rig.g.a}/zhang`])).map((f) => Number(f.failures))).toEqual([1]);
    // two more wrong: the third says how many tries are left, the ledger's words as they come
    const failures = async () => (await rig.g.db.query<{ failures: number | string }>('SELECT failures FROM gov_login_failures WHERE login = $1', [`${rig.g.a}/zhang`])).map((f) => Number(f.failures));
    await page.click('#login-form button[type=submit]');
    await expect.poll(failures).toEqual([2]);
    await expect.poll(() => page.isEnabled('#login-form button[type=submit]')).toBe(true);
    await page.click('#login-form button[type=submit]');
    await expect.poll(() => page.textContent('#login-error')).toBe('村民编号或密码不正确，还可再试 2 次 / wrong villager id or PIN; 2 tries left');
    await expect.poll(() => page.isEnabled('#login-form button[type=submit]')).toBe(true);
    await page.fill('#pin', '2468');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#main-view:not([hidden])');
    expect(await page.textContent('#who')).toBe('张三（zhang）');
    await expect.poll(() => page.textContent('#balance')).toBe('2');
    expect(await page.textContent('#history')).toContain('参加村民会议');

    // The QR code: an image, its token valid at the store's door.
    // (Functions, not strings: the page's CSP forbids eval. This file is type-checked without the DOM library.)
    await expect.poll(() => page.locator('#qr').evaluate((el: unknown) => (el as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    const first = await page.getAttribute('#qr', 'data-token');
    expect(verifyQrToken(first!, rig.g.qrPublic, { maxLifetimeS: 300, clockSkewS: 30 })).toMatchObject({ vid: 'zhang' });

    // Claim the task (a double tap sends one claim: the button waits for the answer), then report it done with a photo.
    const claimsSent: string[] = [];
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/claim')) claimsSent.push(r.url()); });
    await page.dblclick(`button[data-task="${task}"]`);
    await expect.poll(() => page.textContent(`button[data-task="${task}"]`)).toBe('已认领 Claimed');
    expect(claimsSent).toHaveLength(1);
    const claimId = `${task}.zhang`;
    const reportButton = `button[data-claim="${claimId}"]`;
    // Refused (the item needs a photo): the refusal shown, the button ready again.
    await page.click(reportButton);
    await expect.poll(() => page.textContent(`li:has(${reportButton}) .err`)).toBe('该事项需要照片凭证 / rule item ENV-SWEEP-LANE needs evidence (photo)');
    expect(await page.isEnabled(reportButton)).toBe(true);
    await page.setInputFiles(`li:has(${reportButton}) input[type=file]`, { name: 'lane.jpg', mimeType: 'image/jpeg', buffer: await tinyJpeg() });
    // A double tap on 上报完成 uploads one photo and sends one report: the button waits for the answer, and shows it.
    const reportsSent: string[] = [];
    page.on('request', (r) => { if (r.method() === 'POST' && /\/(evidence|report)$/.test(r.url())) reportsSent.push(r.url().replace(/.*\//, '')); });
    const requests = await holdRequests(page, '**/report');
    await page.dblclick(reportButton);
    await expect.poll(() => page.getAttribute(reportButton, 'aria-busy')).toBe('true');
    expect(await page.isDisabled(reportButton)).toBe(true);
    await requests.answer();
    await expect.poll(() => page.textContent('#claims')).toContain('待审核');
    expect(reportsSent).toEqual(['evidence', 'report']);
    const claim = (await rig.g.call(rig.g.va, 'GET', `/api/villages/${rig.g.a}/claims/${claimId}`)).json() as { status: string; evidence: string };
    expect(claim).toMatchObject({ status: 'reported', evidence: expect.stringMatching(/^photo:ev-/) });
    // A self-report (动态申报): refused without the photo its item needs, filed with one.
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-error')).toBe('该事项需要照片凭证 / rule item ENV-SWEEP-LANE needs evidence (photo)');
    await page.setInputFiles('#self-photo', { name: 'lane2.jpg', mimeType: 'image/jpeg', buffer: await tinyJpeg() });
    await page.fill('#self-note', '清扫了村口');
    const photos = async () => Number((await rig.g.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM gov_evidence WHERE village = $1', [rig.g.a]))[0]!.n);
    const photosBefore = await photos();
    // a double tap (the second while the photo still uploads): one upload, one report
    await page.locator('#self-form').evaluate((el: unknown) => {
      const f = el as { requestSubmit(): void };
      f.requestSubmit();
      f.requestSubmit();
    });
    await rig.addStaff('town-office');
    await expect.poll(() => page.textContent('#self-ok')).toBe('已提交，等待村里审核 / sent; the village will review it');
    const self = (await rig.g.call(rig.g.va, 'GET', `/api/villages/${rig.g.a}/claims?villager=zhang&status=reported`)).json() as { claims: { origin: string; note: string; evidence: string }[] };
    expect(self.claims.filter((c) => c.origin === 'self')).toEqual([expect.objectContaining({ note: '清扫了村口', evidence: expect.stringMatching(/^photo:ev-/) })]);
    expect(await photos()).toBe(photosBefore + 1);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-villager-phone.png'), fullPage: true });

    // The code refreshes on screen before it expires.
    await expect.poll(() => page.getAttribute('#qr', 'data-token'), { timeout: 25_000 }).not.toBe(first);
    const next = await page.getAttribute('#qr', 'data-token');
    expect(verifyQrToken(next!, rig.g.qrPublic, { maxLifetimeS: 300, clockSkewS: 30 }).tid).not.toBe(verifyQrToken(first!, rig.g.qrPublic, { maxLifetimeS: 300, clockSkewS: 30 }).tid);

    // The passbook, as printed.
    await page.goto(`${rig.base}/m/passbook`);
    await page.waitForSelector('#book:not([hidden])');
    expect(await page.textContent('#lines')).toContain('参加村民会议');
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('#print')).toBe(false);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-passbook-print.png'), fullPage: true });
    await page.emulateMedia({ media: 'screen' });

    // Logging out shows the login again.
    await page.goto(`${rig.base}/m/`);
    await page.waitForSelector('#logout:not([hidden])');
    await page.click('#logout');
    await page.waitForSelector('#login-view:not([hidden])');
    expect(await page.textContent('#login-error')).toBe('已退出 / signed out');
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);

  it('the phone page sends a photo as JPEG (at most 1600 px a side), and one the phone cannot read as it is, told why', async () => {
    await rig.g.villager(rig.g.a, 'li');
    const context = await rig.phone();
    const page = watch(await context.newPage());
    // What the page hands to fetch as the photo (a browser does not show a form's file in the request's post data).
    await page.addInitScript(`(() => {
      const send = window.fetch.bind(window);
      window.sentPhotos = [];
      window.fetch = async (url, init) => {
        const photo = init && init.body instanceof FormData ? init.body.get('photo') : null;
        if (photo) window.sentPhotos.push({ name: photo.name, type: photo.type, bytes: Array.from(new Uint8Array(await photo.arrayBuffer())) });
        return send(url, init);
      };
    })();`);
    type Sent = { name: string; type: string; bytes: number[] };
    const sentPhotos = async () => (await page.evaluate(() => (globalThis as unknown as { sentPhotos: Sent[] }).sentPhotos)).map((p) => ({ ...p, bytes: Buffer.from(p.bytes) }));
    await rig.villagerSignIn(page, 'li');
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    // A PNG larger than the ledger keeps: sent as a JPEG the ledger would keep at the same size.
    const png = await sharp({ create: { width: 3000, height: 1500, channels: 3, background: '#3a6' } }).png().toBuffer();
    await page.setInputFiles('#self-photo', { name: 'lane.png', mimeType: 'image/png', buffer: png });
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-ok')).toBe('已提交，等待村里审核 / sent; the village will review it');
    const [jpeg] = await sentPhotos();
    expect(jpeg).toMatchObject({ name: 'lane.jpg', type: 'image/jpeg' });
    expect(await sharp(jpeg!.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 1600, height: 800 });
    // HEIC, which this browser cannot decode: sent as it is, and the ledger's answer says what to do.
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    await page.setInputFiles('#self-photo', { name: 'IMG_0001.HEIC', mimeType: 'image/heic', buffer: heicPhoto() });
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-error')).toContain('HEIC');
    expect(await page.textContent('#self-error')).toContain('JPEG');
    const sent = await sentPhotos();
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ name: 'IMG_0001.HEIC', type: 'image/heic', bytes: heicPhoto() });
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);

  it('answers lost on a weak network: tapping again files one report with one photo, for a task claim and a self-report, and after a reload', async () => {
    await rig.g.villager(rig.g.a, 'wang');
    const sweep = ((await rig.g.call(rig.g.va, 'POST', `/api/villages/${rig.g.a}/tasks`, { title: '清扫村西巷道', item: 'ENV-SWEEP-LANE', max_claimants: 5 })).json() as { id: string }).id;
    const count = async (sql: string) => Number((await rig.g.db.query<{ n: number | string }>(sql, ['wang']))[0]!.n);
    const photos = () => count('SELECT COUNT(*) AS n FROM gov_evidence WHERE villager_id = $1');
    const reports = () => count("SELECT COUNT(*) AS n FROM gov_claims WHERE villager_id = $1 AND status = 'reported'");
    const context = await rig.phone();
    const page = watch(await context.newPage());
    await rig.villagerSignIn(page, 'wang');
    await page.click(`button[data-task="${sweep}"]`);
    const reportButton = `button[data-claim="${sweep}.wang"]`;
    await page.waitForSelector(reportButton);
    await page.setInputFiles(`li:has(${reportButton}) input[type=file]`, { name: 'west.jpg', mimeType: 'image/jpeg', buffer: await tinyJpeg() });
    // The photo reaches the ledger and its answer is lost: the page says so, the villager taps again.
    const upload = await loseAnswers(page, '**/evidence');
    await page.click(reportButton);
    await expect.poll(() => page.textContent(`li:has(${reportButton}) .err`)).toBe('连不上村账本，请检查网络后再试 / the ledger cannot be reached; check the network');
    await expect.poll(() => page.isEnabled(reportButton)).toBe(true);
    expect({ lost: upload.lost(), photos: await photos() }).toEqual({ lost: 1, photos: 1 });
    // Now the photo is answered (the one kept) and the report's answer is lost; a third tap.
    const report = await loseAnswers(page, '**/report');
    await page.click(reportButton);
    await expect.poll(() => report.lost()).toBe(1);
    await expect.poll(() => page.isEnabled(reportButton)).toBe(true);
    expect(await reports()).toBe(1);
    await page.click(reportButton);
    await expect.poll(() => page.textContent('#claims')).toContain('待审核');
    expect({ photos: await photos(), reports: await reports() }).toEqual({ photos: 1, reports: 1 });
    const claim = (await rig.g.call(rig.g.va, 'GET', `/api/villages/${rig.g.a}/claims/${sweep}.wang`)).json() as { status: string; evidence: string };
    expect(claim.evidence).toBe(`photo:${(await rig.g.db.query<{ id: string }>('SELECT id FROM gov_evidence WHERE villager_id = $1', ['wang']))[0]!.id}`);

    // A self-report with a photo: its answer lost, tapped again: one report, one more photo.
    await page.selectOption('#self-item', 'ENV-SWEEP-LANE');
    await page.setInputFiles('#self-photo', { name: 'gate.jpg', mimeType: 'image/jpeg', buffer: await tinyJpeg() });
    const self = await loseAnswers(page, '**/reports');
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-error')).toBe('连不上村账本，请检查网络后再试 / the ledger cannot be reached; check the network');
    expect(self.lost()).toBe(1);
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-ok')).toBe('已提交，等待村里审核 / sent; the village will review it');
    expect({ photos: await photos(), reports: await reports() }).toEqual({ photos: 2, reports: 2 });
    // Its answer lost, then the page reloaded and the same report sent again: still one report.
    await page.selectOption('#self-item', 'GOV-MEETING');
    await page.fill('#self-note', '参加了三月村民会议');
    await loseAnswers(page, '**/reports');
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-error')).toBe('连不上村账本，请检查网络后再试 / the ledger cannot be reached; check the network');
    expect(await reports()).toBe(3);
    await page.reload();
    await page.waitForSelector('#main-view:not([hidden])');
    await page.selectOption('#self-item', 'GOV-MEETING');
    await page.fill('#self-note', '参加了三月村民会议');
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => page.textContent('#self-ok')).toBe('已提交，等待村里审核 / sent; the village will review it');
    expect(await reports()).toBe(3);
    // The next form is a new one.
    await page.selectOption('#self-item', 'GOV-MEETING');
    await page.fill('#self-note', '参加了四月村民会议');
    await page.click('#self-form button[type=submit]');
    await expect.poll(() => reports()).toBe(4);
    await context.close();
    expect(problems).toEqual([]);
  }, 90_000);

  it('the town page draws its charts from local Chart.js, lists the stores’ alarms and opens a village’s passbook', async () => {
    await registerStore(rig.g.db, rig.g.a, 'shop-1', 'k', 'unused');
    const t = new Date().toISOString();
    await recordAlarmList(rig.g.db, rig.g.a, 'shop-1', { at: t, active: [{ id: 7, kind: 'scale_fault', subject: 'A1', severity: 'warning', detail: 'no reply from unit 11', raised_at: t, last_seen_at: t, seen: 3, acknowledged_at: t, acknowledged_by: 'wang', ack_note: '明早接线' }] }, new Date());
    const context = await rig.desk();
    const page = watch(await context.newPage());
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(rig.base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) outside.push(r.url());
    });
    // No session: the page sends the browser to the staff login, which comes back to it.
    await page.goto(`${rig.base}/town`);
    await page.waitForURL(/\/login\?next=%2Ftown$/);
    await page.waitForSelector('#login-view:not([hidden])');
    await page.fill('#username', 'town-office');
    await page.fill('#password', 'not the password');
    // a double click on 登录 is one attempt, not two wrong passwords towards the lock
    const logins: string[] = [];
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/staff/login')) logins.push(r.url()); });
    await page.dblclick('#login-form button[type=submit]');
    // scrypt at N=2^17 takes a while on a loaded machine
    await expect.poll(() => page.textContent('#login-error'), { timeout: 30_000 }).toBe('用户名或密码错误 / wrong user name or password');
    await expect.poll(() => page.isEnabled('#login-form button[type=submit]')).toBe(true);
    expect(logins).toHaveLength(1);
    expect((await rig.g.db.query<{ failed_logins: number | string }>('SELECT failed_logins FROM staff_accounts WHERE username = $1', ['town-office'])).map((a) => Number(a.failed_logins))).toEqual([1]);
    await page.fill('#password', STAFF_PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${rig.base}/town`);
    await page.waitForSelector('#main-view:not([hidden])');
    expect(await page.textContent('#who')).toBe('工作人员town-office（镇级 Town）');
    // The session is an HTTP-only cookie: nothing of it in the page's storage.
    expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).not.toContain('ledger_staff');
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length)).toBe(0);
    // The first roll-up starts its worker thread (on SQLite), which on a loaded machine takes a while.
    await expect.poll(() => page.textContent('#months'), { timeout: 60_000 }).toContain(rig.g.a);
    await expect.poll(() => page.textContent('#alarms')).toContain('秤故障（A1）');
    expect(await page.textContent('#alarms')).toContain('明早接线');
    // Chart.js has drawn each chart on its canvas.
    await expect.poll(() => page.evaluate(() => ['chart-months', 'chart-participation', 'chart-items', 'chart-sales'].every((id) => (globalThis as unknown as { Chart: { getChart(id: string): unknown } }).Chart.getChart(id) !== undefined))).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'ledger-town-rollup.png'), fullPage: true });
    await page.goto(`${rig.base}/passbook?village=${rig.g.a}&villager=zhang`);
    await page.waitForSelector('#book:not([hidden])');
    expect(await page.textContent('#name')).toBe('张三');
    // Signing out ends the session: the roll-up asks for the login again.
    await page.goto(`${rig.base}/town`);
    await page.waitForSelector('#logout:not([hidden])');
    await page.click('#logout');
    await page.waitForURL(/\/login\?next=%2Ftown$/);
    await page.goto(`${rig.base}/town`);
    await page.waitForURL(/\/login\?next=%2Ftown$/);
    expect(outside).toEqual([]);
    await context.close();
    expect(problems).toEqual([]);
  }, 120_000);
});
