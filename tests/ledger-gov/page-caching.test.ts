/**
 * How the ledger's pages are cached: a page (HTML) is asked for again on every visit (no-cache),
 * and names each of its scripts and its stylesheet by a URL carrying the file's content hash
 * (`/assets/village.js?v=…`), cached for a year. After an upgrade the page names the new hashes,
 * so the browser fetches the new scripts at once instead of running an hour-old one against the
 * new API. A script asked for under another version (a page from before the upgrade), or none,
 * is the current one, not cached without asking again.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { govApp, type GovApp } from './gov-app.ts';

const PAGES = ['/m/', '/m/passbook', '/passbook', '/town', '/login', '/setup', '/accounts', '/village'];
const YEAR = 'public, max-age=31536000, immutable';

describe('the pages and their scripts: versioned URLs', () => {
  let g: GovApp;
  beforeAll(async () => {
    g = await govApp();
  });
  afterAll(async () => {
    await g?.close();
  });

  it('every page is asked for again each visit and names its assets by their content hash; those URLs are cached for a year', async () => {
    let named = 0;
    for (const url of PAGES) {
      const page = await g.app.inject({ method: 'GET', url });
      expect({ url, status: page.statusCode, cache: page.headers['cache-control'] }).toEqual({ url, status: 200, cache: 'no-cache' });
      const refs = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
      expect(refs.length).toBeGreaterThan(1);
      for (const ref of refs) {
        const m = /^\/assets\/([\w.-]+)\?v=([0-9a-f]{16})$/.exec(ref);
        expect({ ref, versioned: Boolean(m) }).toEqual({ ref, versioned: true });
        const asset = await g.app.inject({ method: 'GET', url: ref });
        expect({ ref, status: asset.statusCode, cache: asset.headers['cache-control'] }).toEqual({ ref, status: 200, cache: YEAR });
        // the version is the hash of the bytes served under it
        expect(createHash('sha256').update(asset.rawPayload).digest('hex').slice(0, 16)).toBe(m![2]);
        named++;
      }
    }
    expect(named).toBeGreaterThan(30);
    // the files on disk stay plain (the versions are written into the page as it is served)
    expect(readFileSync(new URL('../../cloud-sync/ledger/web/static/village.html', import.meta.url), 'utf8')).toContain('src="/assets/village.js"');
  });

  it('a script asked for under another version or none is the current one, revalidated every time', async () => {
    const page = await g.app.inject({ method: 'GET', url: '/village' });
    const current = /src="(\/assets\/village-record\.js\?v=[0-9a-f]+)"/.exec(page.body)![1]!;
    const body = (await g.app.inject({ method: 'GET', url: current })).body;
    for (const url of ['/assets/village-record.js', '/assets/village-record.js?v=0123456789abcdef']) {
      const r = await g.app.inject({ method: 'GET', url });
      expect({ url, status: r.statusCode, cache: r.headers['cache-control'], same: r.body === body }).toEqual({ url, status: 200, cache: 'no-cache', same: true });
    }
  });
});
