/**
 * Pending face templates on the admin page (edge/http/pending-routes.ts, pending-section.ts):
 * the villager page shows each with its thumbnail and confirm / reject forms; the thumbnail
 * only to a signed-in maintainer; a POST without the CSRF token is refused; confirm makes a
 * learned template the door reloads, reject deletes it; both audited under the maintainer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import sharp from 'sharp';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { allowLearning, countLearned } from '../../edge/ledger/face-learning.ts';
import { countPending, insertPending } from '../../edge/ledger/face-pending.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { DoorFaces } from '../../edge/entry/admin-faces.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { addTemplates, loadOrCreateTemplateKey, sealBytes, sealDescriptor } from '../../edge/entry/templates.ts';
import type { FaceAnalyser } from '../../edge/entry/enrol.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const config = resolveEntryConfig({});
const key = loadOrCreateTemplateKey(path.resolve(ledger.dir, config.key_file));
function unit(base: number, toward: number, dist: number): Float32Array {
  const d = new Float32Array(128);
  const angle = 2 * Math.asin(dist / 2);
  d[base] = Math.cos(angle);
  d[toward] = Math.sin(angle);
  return d;
}
const analyser: FaceAnalyser = { analyse: () => Promise.reject(new Error('not used')) };
const reloaded: string[] = [];
const faces = new DoorFaces({ db: () => ledger.db, config, dataDir: ledger.dir, engine: () => analyser, reload: async (id) => void reloaded.push(id) });
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, faces, timeZone: 'Asia/Shanghai' }, pino({ level: 'silent' }));
let s: Signed;
let thumb: Buffer;

async function keepPending(villagerId: string, d: Float32Array): Promise<number> {
  const now = Date.now();
  return insertPending(ledger.db, villagerId, sealDescriptor(key, villagerId, d), sealBytes(key, villagerId, 'thumbnail', thumb),
    { distance: 0.33, enrolledDistance: 0.33, margin: 0.9, credential: 'card' }, new Date(now).toISOString(), new Date(now + 86400_000).toISOString());
}

beforeAll(async () => {
  thumb = await sharp({ create: { width: 112, height: 112, channels: 3, background: { r: 200, g: 150, b: 120 } } }).jpeg().toBuffer();
  addVillager(ledger.db, { id: 'W001', name: '王大妈', village: '前进村' });
  setFaceConsent(ledger.db, 'W001', 'self');
  addTemplates(ledger.db, key, 'W001', [{ descriptor: unit(0, 1, 0), quality: 0.3, source: 'w.jpg' }], new Date().toISOString());
  allowLearning(ledger.db, 'W001', 'self', 'test', new Date().toISOString());
  s = await signedIn(app, ledger.db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

describe('pending face templates on the admin page', () => {
  it('the villager page shows the thumbnail and the confirm / reject forms; the API lists them', async () => {
    const id = await keepPending('W001', unit(0, 1, 0.33));
    const page = (await as(s)(app, '/villagers/W001')).body;
    expect(page).toContain(`data-pending="${id}"`);
    expect(page).toContain(`src="/villagers/W001/face/pending/${id}/thumbnail.jpg"`);
    expect(page).toContain(`action="/api/villagers/W001/face/pending/${id}/confirm"`);
    expect(page).toMatch(/name="_csrf" value="[^"]+"/);
    const list = (await as(s)(app, '/api/villagers/W001/face/pending')).json();
    expect(list).toMatchObject({ items: [{ id, villager_id: 'W001', distance: 0.33, credential: 'card', thumbnail: true }], next: null });
    const img = await as(s)(app, `/villagers/W001/face/pending/${id}/thumbnail.jpg`);
    expect(img.statusCode).toBe(200);
    expect(img.headers['content-type']).toBe('image/jpeg');
    expect(img.headers['cache-control']).toBe('no-store');
    expect(img.rawPayload.equals(thumb)).toBe(true);
    // not without a session
    expect((await app.inject({ method: 'GET', url: `/villagers/W001/face/pending/${id}/thumbnail.jpg` })).statusCode).not.toBe(200);
  });

  it('refuses a confirmation without the CSRF token, and one of an unknown pending template (bilingual)', async () => {
    const id = (await as(s)(app, '/api/villagers/W001/face/pending')).json().items[0].id as number;
    const noCsrf = await app.inject({ method: 'POST', url: `/api/villagers/W001/face/pending/${id}/confirm`, headers: { cookie: s.cookie }, payload: {} });
    expect(noCsrf.statusCode).toBe(403);
    const unknown = await app.inject({ method: 'POST', url: '/api/villagers/W001/face/pending/9999/confirm', headers: s.post, payload: {} });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'NOT_FOUND', message: expect.stringContaining('9999'), zh: expect.stringContaining('9999') });
    expect(countLearned(ledger.db, 'W001')).toBe(0);
  });

  it('confirm: a learned template, the door reloads the villager, audited under the maintainer', async () => {
    const id = (await as(s)(app, '/api/villagers/W001/face/pending')).json().items[0].id as number;
    const res = await app.inject({ method: 'POST', url: `/api/villagers/W001/face/pending/${id}/confirm`, headers: s.post, payload: {} });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ pending: id, replaced: null });
    expect(countLearned(ledger.db, 'W001')).toBe(1);
    expect(reloaded.at(-1)).toBe('W001');
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ action: 'face.learn.confirm', actor: 'wang', target: 'W001', before: { pending: id } });
    // a frame the villager now already has cannot be confirmed again (409, both languages)
    const again = await keepPending('W001', unit(0, 1, 0.33));
    const dup = await app.inject({ method: 'POST', url: `/api/villagers/W001/face/pending/${again}/confirm`, headers: s.post, payload: {} });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ error: 'FACE_LEARNING_REFUSED', zh: expect.stringContaining('请拒绝') });
  });

  it('reject from the page\'s form: redirected back to the villager page, deleted, audited', async () => {
    const id = (await as(s)(app, '/api/villagers/W001/face/pending')).json().items[0].id as number;
    const res = await app.inject({ method: 'POST', url: `/api/villagers/W001/face/pending/${id}/reject`, headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: `_csrf=${encodeURIComponent(s.csrf)}` });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/villagers/W001');
    expect(countPending(ledger.db, new Date().toISOString(), 'W001')).toBe(0);
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ action: 'face.learn.reject', actor: 'wang', target: 'W001' });
    expect((await as(s)(app, '/villagers/W001')).body).not.toContain('data-pending=');
  });
});
