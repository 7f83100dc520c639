/**
 * holdRequests in a real browser: requests held while the test looks at the page, then let
 * through by answer(), every time without an error escaping the test. Continuing a held request
 * by hand raced playwright's own continue when the page's last route was removed, and the loser
 * failed with "Route is already handled!" as an unhandled rejection (CI of stop 33, twice).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { holdRequests, launchChromium } from '../../harness/browser.ts';

declare function fetch(url: string): Promise<{ text(): Promise<string> }>;

let server: Server;
let browser: Browser;
let base = '';
const escaped: unknown[] = [];
const note = (e: unknown) => escaped.push(e);

beforeAll(async () => {
  server = createServer((req, res) => res.end(`answered ${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  process.on('unhandledRejection', note);
});

afterAll(async () => {
  process.off('unhandledRejection', note);
  await browser?.close();
  await new Promise((resolve) => server.close(resolve));
});

it('holds requests until answered, then lets each through once, with nothing escaping', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  for (let round = 0; round < 15; round++) {
    const held = await holdRequests(page, '**/held-*');
    let settled = false;
    const replies = page
      .evaluate(() => Promise.all(['/held-1', '/held-2', '/held-3'].map((u) => fetch(u).then((r) => r.text()))))
      .finally(() => (settled = true));
    // Nothing comes back while held: a request outside the glob still does, so the page is alive.
    expect(await page.evaluate(() => fetch('/free').then((r) => r.text()))).toBe('answered /free');
    expect(settled).toBe(false);
    await held.answer();
    expect(await replies).toEqual(['answered /held-1', 'answered /held-2', 'answered /held-3']);
  }
  // A last request after all that is not held: answer() took the route away.
  expect(await page.evaluate(() => fetch('/held-9').then((r) => r.text()))).toBe('answered /held-9');
  await page.close();
  expect(escaped.map(String)).toEqual([]);
});
