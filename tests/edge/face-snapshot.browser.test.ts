/**
 * Enrolling a face at the door camera from the villager's page, in a real browser (Debian's
 * chromium through playwright-core): the real face engine and DoorFaces, with a door camera
 * whose picture is a portrait cut from face-api's sample2.jpg at run time.
 * - A form without consent is refused by the browser's own check; posted anyway (a browser
 *   that does not check), the server refuses it: the page comes back with the message in both
 *   languages beside the consent box, the guardian typed still there, no picture taken and
 *   nothing enrolled.
 * - With consent: the picture is taken once, the face enrolled, consent shown, audited.
 * Screenshots of both at tablet and desktop sizes under test-results/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../../harness/browser.ts';
import { pino } from 'pino';
import { HttpServer } from '../../edge/http/server.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { FaceEngine } from '../../models/face-engine.ts';
import { decodeImage } from '../../models/image.ts';
import type { RgbFrame } from '../../models/frame.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { DoorFaces } from '../../edge/entry/admin-faces.ts';
import { addVillager, requireVillager } from '../../edge/ledger/villagers.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { countTemplates } from '../../edge/ledger/face-templates.ts';
import { portraits } from '../../harness/portraits.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { createAccount, TEST_PASSWORD } from './admin-auth.ts';

const SHOTS = path.resolve(import.meta.dirname, '../../test-results');

const ledger = tempLedger();
const config = resolveEntryConfig({});
const engine = new FaceEngine({ detectorInputSize: 416, detectorMinScore: config.detector_min_score, liveness: false });
let picture: RgbFrame | undefined;
let pictures = 0;
const faces = new DoorFaces({
  db: () => ledger.db,
  config,
  dataDir: ledger.dir,
  engine: () => engine,
  reload: async () => undefined,
  doorFrame: async () => {
    pictures += 1;
    if (!picture) throw new Error('the door camera has no picture yet');
    return picture;
  },
});
const server = new HttpServer(
  { host: '127.0.0.1', port: 0, allowed_hosts: [], max_event_loop_utilization: 0.95 },
  { dataDir: ledger.dir, store: { id: 'qianjin-01', village: 'qianjin', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, faces, timeZone: 'Asia/Shanghai' },
  pino({ level: 'silent' }),
);
let browser: Browser;

async function shoot(page: Page, name: string): Promise<void> {
  for (const [size, viewport] of [['tablet', { width: 1280, height: 800 }], ['desktop', { width: 1920, height: 1080 }]] as const) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: path.join(SHOTS, `admin-${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Clicks a form's button and waits for the page it leads to (the same URL after a 303 back). */
async function submit(page: Page, button: string): Promise<void> {
  const loaded = page.waitForEvent('load');
  await page.click(button);
  await loaded;
}

beforeAll(async () => {
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  await createAccount(ledger.db);
  await engine.start();
  const [portrait] = await portraits(engine, [2]);
  picture = await decodeImage(portrait!.jpeg);
  await server.start();
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server.stop();
  engine.stop();
  ledger.cleanup();
});

describe('enrol a face at the door camera, in chromium', () => {
  it('refused without consent (the page back, the message beside the box); enrolled with it', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      // the refused form answers 400 on purpose; anything else is a problem
      const refused = /status of 400/.test(m.text()) && m.location().url.endsWith('/api/villagers/V001/face/snapshot');
      if (m.type() === 'error' && !refused) problems.push(`${m.text()} ${m.location().url}`);
    });

    await page.goto(new URL('/login', server.address!).href);
    await page.fill('#username', 'wang');
    await page.fill('#password', TEST_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.click('button[type=submit]')]);
    await page.goto(new URL('/villagers/V001', server.address!).href);
    await page.locator('#face-snapshot').waitFor();
    expect(await page.locator('#face-state').getAttribute('data-consent')).toBe('false');

    // without consent the browser itself does not send the form …
    await page.fill('#snapshot-guardian', '王小明');
    const consent = page.locator('#face-snapshot input[name=consent]');
    expect(await consent.evaluate((el) => (el as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing)).toBe(true);
    // … and a browser that does not check gets the page back from the server
    await page.locator('#face-snapshot').evaluate((f) => void ((f as unknown as { noValidate: boolean }).noValidate = true));
    await submit(page, '#face-snapshot button[data-action=snapshot]');
    expect(new URL(page.url()).pathname).toBe('/api/villagers/V001/face/snapshot');
    const message = await page.locator('#face-snapshot .field-error[data-field=consent]').innerText();
    expect(message).toMatch(/[\u4e00-\u9fff].* \/ .*[a-z]/);
    expect(message).toBe('须经村民本人（14 岁以下由监护人）同意刷脸：请先询问，再勾选此项 / the villager\'s consent (or a guardian\'s, for a child under 14) is needed: ask them, then tick the box');
    expect(await page.inputValue('#snapshot-guardian')).toBe('王小明');
    expect(await page.isChecked('#face-snapshot input[name=consent]')).toBe(false);
    expect(await page.locator('h1').count()).toBeGreaterThan(0);
    await shoot(page, 'face-snapshot-refused');
    expect(pictures).toBe(0);
    expect(countTemplates(ledger.db, 'V001')).toBe(0);
    expect(requireVillager(ledger.db, 'V001').faceConsentAt).toBeNull();

    // with consent (hers, no guardian): one picture, enrolled, shown and audited
    await page.fill('#snapshot-guardian', '');
    await page.check('#face-snapshot input[name=consent]');
    await submit(page, '#face-snapshot button[data-action=snapshot]');
    expect(new URL(page.url()).pathname).toBe('/villagers/V001');
    await page.locator('#face-state[data-consent=true]').waitFor();
    expect(await page.locator('#face-snapshot .field-error').count()).toBe(0);
    await shoot(page, 'face-snapshot-enrolled');
    expect(pictures).toBe(1);
    expect(countTemplates(ledger.db, 'V001')).toBeGreaterThan(0);
    expect(requireVillager(ledger.db, 'V001').faceConsentAt).not.toBeNull();
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ actor: 'wang', action: 'face.enrol', target: 'V001', after: { consent_by: 'self', source: 'door camera' } });
    expect(problems).toEqual([]);
    await context.close();
  }, 180_000);
});
