/**
 * The ledger's pages in chromium: one ledger app (gov-app.ts) listening on a port, one browser,
 * and the ways in that the browser tests take — a staff member's password at /login, a staff
 * session's cookie, a villager's PIN at /m/. A test file makes one rig in beforeAll and closes it
 * in afterAll.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../harness/browser.ts';
import { addStaff } from '../../cloud-sync/ledger/staff/accounts.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { govApp, STAFF_PASSWORD, type GovApp, type StaffSession } from './gov-app.ts';

/** The PIN gov-app.ts gives every villager it makes. */
export const VILLAGER_PIN = '2468';
/** A phone as the staff pages' tests hold it (390×844, touch), in Chinese. */
export const PHONE_390 = { width: 390, height: 844 };

/** The folder screenshots go to (test-results/); the rig makes it. */
export const SHOTS = path.resolve(import.meta.dirname, '../../test-results');

/**
 * Collects `page`'s uncaught script errors and its console errors into `into` (`pageerror: …`,
 * `console: …`), except console errors that match `expected` — the refusals a test provokes,
 * which each test names (e.g. `/status of 40[01] /`). Returns the page.
 */
export function watchPage(page: Page, into: string[], expected?: RegExp): Page {
  page.on('pageerror', (e) => into.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected?.test(m.text())) into.push(`console: ${m.text()}`);
  });
  return page;
}

/** Whether what is drawn at the centre of `selector` (scrolled into view) is that element: a tap there meets it. */
export async function tappable(page: Page, selector: string): Promise<boolean> {
  const el = page.locator(selector);
  await el.scrollIntoViewIfNeeded();
  return el.evaluate((b) => {
    const r = (b as unknown as { getBoundingClientRect(): { left: number; top: number; width: number; height: number } }).getBoundingClientRect();
    return (globalThis as unknown as { document: { elementFromPoint(x: number, y: number): unknown } }).document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === b;
  });
}

export interface BrowserRig {
  g: GovApp;
  /** The app's address, `http://127.0.0.1:port`. */
  base: string;
  browser: Browser;
  /** A desktop browser's context (the village office's screen), in Chinese. */
  desk(): Promise<BrowserContext>;
  /** A phone's context (PHONE_390, mobile, touch), in Chinese. */
  phone(): Promise<BrowserContext>;
  /** Gives `context` the staff session's cookie, as a browser that signed in keeps it; returns the context. */
  asStaff(context: BrowserContext, session: StaffSession): Promise<BrowserContext>;
  /** Adds a staff account (`village` absent: the town's) with STAFF_PASSWORD, named `name` (default `工作人员<username>`). */
  addStaff(username: string, village?: string, name?: string): Promise<void>;
  /** Signs `username` in at /login and waits for `next` (a staff page) to show its main view. */
  staffSignIn(page: Page, username: string, next?: string): Promise<void>;
  /** Fills the login form `page` shows (sent there by a staff page) and waits for `next` to show its main view. */
  loginForm(page: Page, username: string, next?: string, password?: string): Promise<void>;
  /** Signs villager `id` of `village` (default the rig's village a) in on the phone page, and waits for its main view. */
  villagerSignIn(page: Page, id: string, village?: string): Promise<void>;
  /** A call to the village a's API as the village, expected to succeed; its JSON. */
  api<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T>;
  /** The bytes (content-length) of each request the app receives from now on whose path is `path`, as the server sees them. */
  bodiesTo(method: string, path: string): number[];
  close(): Promise<void>;
}

/** Starts the app (made with `opts`; `setup` runs on it before it listens) and the browser. */
export async function browserRig(setup?: (g: GovApp) => Promise<void>, opts?: Parameters<typeof govApp>[0]): Promise<BrowserRig> {
  const g = await govApp(opts);
  let hash: string | undefined;
  try {
    await setup?.(g);
    const base = await g.app.listen({ host: '127.0.0.1', port: 0 });
    const browser = await launchChromium();
    mkdirSync(SHOTS, { recursive: true });
    const loginForm = async (page: Page, username: string, next = '/village', password = STAFF_PASSWORD) => {
      await page.waitForSelector('#login-view:not([hidden])');
      await page.fill('#username', username);
      await page.fill('#password', password);
      await page.click('#login-form button[type=submit]');
      // scrypt on a loaded machine takes a while
      await page.waitForURL((u) => u.pathname === next, { timeout: 30_000 });
      await page.waitForSelector('#main-view:not([hidden])');
    };
    return {
      g, base, browser,
      desk: () => browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' }),
      phone: () => browser.newContext({ viewport: PHONE_390, isMobile: true, hasTouch: true, locale: 'zh-CN' }),
      async asStaff(context, session) {
        await context.addCookies([{ name: 'ledger_staff', value: session.cookie, url: base }]);
        return context;
      },
      async addStaff(username, village, name) {
        hash ??= await hashPassword(STAFF_PASSWORD, 2 ** 14);
        await addStaff(g.db, { username, display_name: name ?? `工作人员${username}`, role: village ? 'village' : 'town', village: village ?? null, password_hash: hash }, 'test', new Date());
      },
      async staffSignIn(page, username, next = '/village') {
        await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
        await loginForm(page, username, next);
      },
      loginForm,
      async villagerSignIn(page, id, village = g.a) {
        await page.goto(`${base}/m/?village=${village}`);
        await page.fill('#villager', id);
        await page.fill('#pin', VILLAGER_PIN);
        await page.click('#login-form button[type=submit]');
        await page.waitForSelector('#main-view:not([hidden])');
      },
      async api<T>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) {
        const r = await g.call(g.va, method, `/api/villages/${g.a}${url}`, body);
        expect(r.statusCode, r.body).toBeLessThan(300);
        return r.json() as T;
      },
      bodiesTo(method, path) {
        const sizes: number[] = [];
        g.app.server.on('request', (req: { method?: string; url?: string; headers: Record<string, string | string[] | undefined> }) => {
          if (req.method === method && req.url?.split('?')[0] === path) sizes.push(Number(req.headers['content-length'] ?? -1));
        });
        return sizes;
      },
      async close() {
        await browser.close();
        await g.close();
      },
    };
  } catch (err) {
    await g.close();
    throw err;
  }
}
