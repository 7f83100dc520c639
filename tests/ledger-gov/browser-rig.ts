/**
 * The ledger's pages in chromium: one ledger app (gov-app.ts) listening on a port, one browser,
 * and the two ways in that every browser test takes — a staff member's password at /login, a
 * villager's PIN at /m/. A test file makes one rig in beforeAll and closes it in afterAll.
 */
import { expect } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../harness/browser.ts';
import { addStaff } from '../../cloud-sync/ledger/staff/accounts.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { govApp, STAFF_PASSWORD, type GovApp } from './gov-app.ts';

/** The PIN gov-app.ts gives every villager it makes. */
export const VILLAGER_PIN = '2468';

export interface BrowserRig {
  g: GovApp;
  /** The app's address, `http://127.0.0.1:port`. */
  base: string;
  browser: Browser;
  /** A desktop browser's context (the village office's screen), in Chinese. */
  desk(): Promise<BrowserContext>;
  /** Adds a staff account (`village` absent: the town's) with STAFF_PASSWORD. */
  addStaff(username: string, village?: string): Promise<void>;
  /** Signs `username` in at /login and waits for `next` (a staff page) to show its main view. */
  staffSignIn(page: Page, username: string, next?: string): Promise<void>;
  /** Signs villager `id` of `village` (default the rig's village a) in on the phone page, and waits for its main view. */
  villagerSignIn(page: Page, id: string, village?: string): Promise<void>;
  /** A call to the village a's API as the village, expected to succeed; its JSON. */
  api<T = Record<string, unknown>>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T>;
  /** The bytes (content-length) of each request the app receives from now on whose path is `path`, as the server sees them. */
  bodiesTo(method: string, path: string): number[];
  close(): Promise<void>;
}

/** Starts the app (`setup` runs on it before it listens) and the browser. */
export async function browserRig(setup?: (g: GovApp) => Promise<void>): Promise<BrowserRig> {
  const g = await govApp();
  let hash: string | undefined;
  try {
    await setup?.(g);
    const base = await g.app.listen({ host: '127.0.0.1', port: 0 });
    const browser = await launchChromium();
    return {
      g, base, browser,
      desk: () => browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' }),
      async addStaff(username, village) {
        hash ??= await hashPassword(STAFF_PASSWORD, 2 ** 14);
        await addStaff(g.db, { username, display_name: `工作人员${username}`, role: village ? 'village' : 'town', village: village ?? null, password_hash: hash }, 'test', new Date());
      },
      async staffSignIn(page, username, next = '/village') {
        await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
        await page.waitForSelector('#login-view:not([hidden])');
        await page.fill('#username', username);
        await page.fill('#password', STAFF_PASSWORD);
        await page.click('#login-form button[type=submit]');
        await page.waitForURL((u) => u.pathname === next, { timeout: 30_000 });
        await page.waitForSelector('#main-view:not([hidden])');
      },
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
