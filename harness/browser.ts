/**
 * The real browser of the browser tests: Debian's chromium driven by playwright-core, started
 * with the flags it needs headless as root and kept off the network (no component updates, no
 * sync, no first-run pages).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Starts chromium, or fails saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (scripts/ensure-system-packages.sh does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** A phone's screen (375×667) as the ledger's phone-width tests use it. */
export const PHONE = { width: 375, height: 667 };

/** A phone's browser: its viewport, touch, and the zooming out of a page wider than the screen. */
export function phoneContext(browser: Browser, viewport: { width: number; height: number } = PHONE): Promise<BrowserContext> {
  return browser.newContext({ viewport, isMobile: true, hasTouch: true, locale: 'zh-CN' });
}

/** How wide the page is drawn and the layout the browser gave it: wider than the screen, a phone zooms out. */
export function pageWidth(page: Page): Promise<{ page: number; layout: number }> {
  return page.evaluate(() => {
    const w = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
    return { page: w.document.documentElement.scrollWidth, layout: w.innerWidth };
  });
}

/** What went wrong in the page (uncaught errors, console errors with where): a test expects it empty. */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${m.text()} ${m.location().url}`);
  });
  return problems;
}

/**
 * Holds the page's requests to `url` (a glob) unanswered until `answer()`: the test looks at the
 * page while they run (a button busy, its place kept), then lets them through and holds no more.
 *
 * A held request is let through with `route.fallback()`, not `route.continue()`. `unroute` of the
 * page's last route makes the browser side continue every route still in flight by itself; a
 * handler whose `continue()` came second then failed with "Route is already handled!", outside
 * any test (CI, stop 33). `fallback()` leaves the continuing to playwright's last handler, which
 * expects that race and ignores it.
 */
export async function holdRequests(page: Page, url: string): Promise<{ answer(): Promise<void> }> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const hold = async (route: Route) => {
    await held;
    await route.fallback();
  };
  await page.route(url, hold);
  return {
    answer: async () => {
      release();
      await page.unroute(url, hold);
    },
  };
}

/**
 * Lets the page's next `times` requests to `url` (a glob) reach the server and do their work, then
 * drops their answers: the page sees a network error, as a phone on a weak village network does
 * when its request got through and the answer did not. Later requests go through as usual.
 * `lost()` says how many answers were dropped so far.
 */
export async function loseAnswers(page: Page, url: string, times = 1): Promise<{ lost(): number }> {
  let left = times;
  let lost = 0;
  const drop = async (route: Route) => {
    if (left <= 0) return route.fallback();
    left--;
    await route.fetch();
    lost++;
    await route.abort('failed');
  };
  await page.route(url, drop);
  return { lost: () => lost };
}

/**
 * Lets the page's next `times` requests to `url` (a glob) reach the server and do their work, and
 * holds their answers, never given to the page: a request that got through and whose answer a
 * network (a weak uplink, a proxy keeping the connection) holds, until the page gives up by itself.
 * `applied()` says how many reached the server so far. Later requests go through as usual.
 * `release()` ends the holding (at the test's end): a held answer the page gave up on goes nowhere.
 */
export async function holdAnswers(page: Page, url: string, times = 1): Promise<{ applied(): number; release(): void }> {
  let left = times;
  let applied = 0;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const hold = async (route: Route) => {
    if (left <= 0) return route.fallback();
    left--;
    await route.fetch();
    applied++;
    await held;
    // the page aborted it long since: nothing is there to answer
    await route.abort('failed').catch(() => undefined);
  };
  await page.route(url, hold);
  return { applied: () => applied, release };
}
