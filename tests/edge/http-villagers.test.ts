/**
 * Villagers from the admin page (fastify.inject): search with a cursor, history with reasons,
 * face enrolment from an uploaded photo through the real enrolment path (consent, quality,
 * collision check; the analyser is a stand-in that returns a chosen descriptor), withdrawal;
 * uploads refused when too big (50 MB), not an image, or a decompression bomb; nothing
 * half-saved by a refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { countTemplates } from '../../edge/ledger/face-templates.ts';
import { forgetLearned, insertLearned } from '../../edge/ledger/face-learning.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { DoorFaces } from '../../edge/entry/admin-faces.ts';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import type { FaceAnalyser } from '../../edge/entry/enrol.ts';
import type { FrameAnalysis } from '../../models/face-engine.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { as, signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
const rules = { creditFloor: 0 };
const config = resolveEntryConfig({});

/** A unit descriptor pointing along axis `i` (distance between two axes: √2, far apart). */
const axis = (i: number): Float32Array => {
  const d = new Float32Array(128);
  d[i] = 1;
  return d;
};
/** What the next photo "shows": the descriptor the stand-in analyser reports, or no face. */
let nextFace: Float32Array | null = axis(0);
const analyser: FaceAnalyser = {
  async analyse(frame): Promise<FrameAnalysis> {
    const times = {} as FrameAnalysis['times'];
    if (!nextFace) return { width: frame.width, height: frame.height, faceCount: 0, nearFaces: 0, faces: [], times };
    const face = { descriptor: nextFace, quality: { sharpness: 0.5 }, rejected: null } as unknown as FrameAnalysis['faces'][number];
    return { width: frame.width, height: frame.height, faceCount: 1, nearFaces: 1, faces: [face], times };
  },
};
const reloaded: string[] = [];
const faces = new DoorFaces({ db: () => ledger.db, config, dataDir: ledger.dir, engine: () => analyser, reload: async (id) => void reloaded.push(id) });
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: rules, auth: TEST_AUTH, faces, timeZone: 'Asia/Shanghai' }, pino({ level: 'silent' }));
let s: Signed;
const PHOTO = readFileSync(path.resolve(import.meta.dirname, '../../node_modules/@vladmandic/face-api/demo/sample2.jpg'));

beforeAll(async () => {
  for (let i = 1; i <= 7; i++) addVillager(ledger.db, { id: `V00${i}`, name: i === 7 ? '100%_王' : `村民${i}号`, village: '前进村' });
  addVillager(ledger.db, { id: 'W001', name: '王大妈', village: '前进村' });
  applyEntry(ledger.db, { id: 'e1', villagerId: 'W001', kind: 'award', points: 30, reason: '打扫村道', origin: 'cli' }, rules);
  applyEntry(ledger.db, { id: 'e2', villagerId: 'W001', kind: 'penalty', points: -5, reason: '建筑材料乱堆占道', origin: 'cli' }, rules);
  applyEntry(ledger.db, { id: 'e3', villagerId: 'W001', kind: 'award', points: 10, reason: '说法评理', origin: 'cli' }, rules);
  s = await signedIn(app, ledger.db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

/** A multipart/form-data body with the CSRF token, the fields and one file. */
function multipart(fields: Record<string, string>, file?: { name: string; type: string; data: Buffer }): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----storeTestBoundary7MA4YWxkTrZu0gW';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries({ _csrf: s.csrf, ...fields })) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`), file.data, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { cookie: s.cookie, 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
const upload = (id: string, fields: Record<string, string>, file?: { name: string; type: string; data: Buffer }) => app.inject({ method: 'POST', url: `/api/villagers/${id}/face`, ...multipart(fields, file) });
const jpeg = (data: Buffer = PHOTO) => ({ name: 'face.jpg', type: 'image/jpeg', data });

describe('villagers', () => {
  it('searches by name or id, a page at a time; % and _ are letters', async () => {
    const first = (await as(s)(app, '/api/villagers/search?q=村民&limit=4')).json();
    expect(first.items.map((v: { id: string }) => v.id)).toEqual(['V001', 'V002', 'V003', 'V004']);
    expect(first.next).toBe('V004');
    const second = (await as(s)(app, `/api/villagers/search?q=村民&limit=4&after=${first.next}`)).json();
    expect(second).toMatchObject({ items: [{ id: 'V005' }, { id: 'V006' }], next: null });
    expect((await as(s)(app, '/api/villagers/search?q=100%25_')).json().items.map((v: { id: string }) => v.id)).toEqual(['V007']);
    expect((await as(s)(app, '/api/villagers/search?q=%25')).json().items.map((v: { id: string }) => v.id)).toEqual(['V007']);
    expect((await as(s)(app, '/api/villagers/search?q=w00')).json().items[0]).toMatchObject({ id: 'W001', name: '王大妈', balance: 35, face_consent_at: null, face_templates: 0 });
    const page = await as(s)(app, '/villagers?q=王大妈');
    expect(page.body).toContain('href="/villagers/W001"');
  });

  it('shows balance and history with reasons, newest first, with a cursor', async () => {
    const h = (await as(s)(app, '/api/villagers/W001/history?limit=2')).json();
    expect(h.villager).toMatchObject({ id: 'W001', balance: 35 });
    expect(h.items.map((e: { reason: string }) => e.reason)).toEqual(['说法评理', '建筑材料乱堆占道']);
    expect(h.items[0].at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const older = (await as(s)(app, `/api/villagers/W001/history?limit=2&before=${h.next}`)).json();
    expect(older).toMatchObject({ items: [{ reason: '打扫村道', points: 30 }], next: null });
    const page = (await as(s)(app, '/villagers/W001')).body;
    expect(page).toContain('建筑材料乱堆占道');
    expect(page).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    expect((await as(s)(app, '/api/villagers/NOPE/history')).statusCode).toBe(404);
  });

  it('enrols a face from a photo with consent; the door learns it; audited', async () => {
    nextFace = axis(0);
    const noConsent = await upload('W001', {}, jpeg());
    expect(noConsent.statusCode).toBe(400);
    expect(noConsent.json().fields.consent).toEqual({ message: "the villager's consent (or a guardian's, for a child under 14) is needed: ask them, then tick the box", zh: '须经村民本人（14 岁以下由监护人）同意刷脸：请先询问，再勾选此项' });
    const res = await upload('W001', { consent: 'true' }, jpeg());
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ villager: { id: 'W001', face_consent_by: 'self' }, templates: 2, already_enrolled: false });
    expect(countTemplates(ledger.db, 'W001')).toBe(2);
    expect(reloaded).toEqual(['W001']);
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ action: 'face.enrol', target: 'W001', after: { templates: 2, consent_by: 'self' } });
  });

  it('the same photo sent again (a form sent twice): success, nothing stored again, "already enrolled" in the reply and on the page', async () => {
    nextFace = axis(0);
    const again = await upload('W001', { consent: 'true' }, jpeg());
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ villager: { id: 'W001', face_templates: 2 }, templates: 0, already_enrolled: true });
    expect(countTemplates(ledger.db, 'W001')).toBe(2);
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ action: 'face.enrol', target: 'W001', after: { templates: 2, already_enrolled: true } });
    // the browser's form: back to the villager's page, which says so
    const form = multipart({ consent: 'true' }, jpeg());
    const sent = await app.inject({ method: 'POST', url: '/api/villagers/W001/face', payload: form.payload, headers: { ...form.headers, accept: 'text/html' } });
    expect(sent.statusCode).toBe(303);
    expect(sent.headers.location).toBe('/villagers/W001?enrolled=already');
    const page = (await as(s)(app, '/villagers/W001?enrolled=already')).body;
    expect(page).toMatch(/<p class="ok" role="status" id="face-notice">已录入：[^<]*<br>Already enrolled: /);
    expect((await as(s)(app, '/villagers/W001')).body).not.toContain('face-notice');
  });

  it('refuses a face too close to another villager, a photo without a face; consent not left behind', async () => {
    nextFace = axis(0);
    const clash = await upload('V001', { consent: 'true', guardian: '村民1号的妈妈' }, jpeg());
    expect(clash.statusCode).toBe(409);
    expect(clash.json()).toMatchObject({ error: 'FACE_COLLISION', zh: expect.stringContaining('W001') });
    nextFace = null;
    const none = await upload('V001', { consent: 'true' }, jpeg());
    expect(none.statusCode).toBe(422);
    expect(none.json()).toMatchObject({ error: 'FACE_REJECTED', zh: expect.stringContaining('没有找到人脸') });
    expect(getVillager(ledger.db, 'V001')!.faceConsentAt).toBeNull();
    expect(countTemplates(ledger.db, 'V001')).toBe(0);
  });

  it('refuses a 50 MB upload, a file that is not an image and a decompression bomb, storing nothing', async () => {
    nextFace = axis(1);
    const big = Buffer.alloc(50 * 1024 * 1024, 0);
    PHOTO.copy(big);
    const tooBig = await upload('V002', { consent: 'true' }, jpeg(big));
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json()).toMatchObject({ error: 'TOO_LARGE', zh: expect.any(String) });
    const text = await upload('V002', { consent: 'true' }, { name: 'face.jpg', type: 'image/jpeg', data: Buffer.from('#!/bin/sh\necho not a photo\n') });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ error: 'UNSUPPORTED_IMAGE', fields: { photo: { zh: expect.stringContaining('不是照片') } } });
    // 12,000 × 12,000 of one colour: a few hundred KB of PNG, 432 MB once decoded
    const bomb = await sharp({ create: { width: 12_000, height: 12_000, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png({ compressionLevel: 9 }).toBuffer();
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const refused = await upload('V002', { consent: 'true' }, { name: 'face.png', type: 'image/png', data: bomb });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ error: 'IMAGE_TOO_LARGE', fields: { photo: { zh: expect.stringContaining('像素') } } });
    const broken = await upload('V002', { consent: 'true' }, jpeg(PHOTO.subarray(0, 2000)));
    expect(broken.statusCode).toBe(422);
    expect(broken.json()).toMatchObject({ error: 'IMAGE_INVALID' });
    const noFile = await upload('V002', { consent: 'true' });
    expect(noFile.statusCode).toBe(400);
    expect(getVillager(ledger.db, 'V002')!.faceConsentAt).toBeNull();
    expect(countTemplates(ledger.db, 'V002')).toBe(0);
    const noCsrf = await app.inject({ method: 'POST', url: '/api/villagers/V002/face', ...multipart({ consent: 'true', _csrf: 'forged' }, jpeg()) });
    expect(noCsrf.statusCode).toBe(403);
  }, 60_000);

  it('issues a card from the villager page with a printable QR slip of its number, once', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/cards/issue', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(s.csrf)}&villager=W001` });
    expect(res.statusCode).toBe(201);
    const cardNo = /<p id="card-no"><strong>([^<]+)<\/strong>/.exec(res.body)![1]!;
    expect(cardNo).toMatch(/^PB-/);
    expect(res.body).toMatch(/<div id="card-qr"><svg[^>]*>[\s\S]*<path/);
    expect(res.body).not.toContain('<script');
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ action: 'card.issue', target: 'W001' });
    expect(JSON.stringify(listAudit(ledger.db, { limit: 1 })[0])).not.toContain(cardNo);
  });

  it('counts the templates learned at the door on the villager page and in the API', async () => {
    // a learned row (its bytes do not matter here: the page only counts)
    insertLearned(ledger.db, 'W001', { nonce: Buffer.alloc(12), ciphertext: Buffer.alloc(512), tag: Buffer.alloc(16), quality: null, source: 'door' }, null, { distance: 0.15, margin: 0.4 });
    expect((await as(s)(app, '/api/villagers/W001/history')).json().villager).toMatchObject({ face_templates: 3, face_templates_learned: 1 });
    expect((await as(s)(app, '/villagers/W001')).body).toContain('3 个人脸模板（1 个为门口学习）');
    expect((await as(s)(app, '/villagers/W001?lang=en')).body).toContain('3 face templates（1 learned at the door）');
    expect(forgetLearned(ledger.db, 'W001', 'test')).toBe(1);
    expect((await as(s)(app, '/api/villagers/search?q=W001')).json().items[0]).toMatchObject({ face_templates: 2, face_templates_learned: 0 });
  });

  it('withdraws consent only when confirmed with the villager: templates and kept enrolment photos deleted, the door forgets, shown as withdrawn', async () => {
    // photos kept by `faces enroll` with entry.store_photos (data_dir/<photo_dir>/<villager>/)
    const kept = (id: string): string => path.join(ledger.dir, config.photo_dir, id);
    for (const id of ['W001', 'V001']) {
      mkdirSync(kept(id), { recursive: true });
      writeFileSync(path.join(kept(id), '2026-12-01T08-00-00-000Z-a.jpg'), 'jpeg');
    }
    // never by one tap: the page's box 我已确认本人要求撤回 must be ticked, the API must say confirm
    const page = (await as(s)(app, '/villagers/W001')).body;
    expect(/<form[^>]*id="face-withdraw"[\s\S]*?<\/form>/.exec(page)![0]).toMatch(/<input type="checkbox" name="confirm" value="true" required/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const unconfirmed = await app.inject({ method: 'POST', url: '/api/villagers/W001/face/withdraw', headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: new URLSearchParams({ _csrf: csrf }).toString() });
    expect(unconfirmed.statusCode).toBe(400);
    expect(unconfirmed.headers['content-type']).toContain('text/html');
    expect(unconfirmed.body).toMatch(/data-field="confirm">请先勾选“我已确认本人要求撤回”[^<]*\/ confirm first that the villager asks to withdraw/);
    expect(unconfirmed.body).toContain('id="face-withdraw"');
    const noConfirm = await app.inject({ method: 'POST', url: '/api/villagers/W001/face/withdraw', headers: s.post, payload: {} });
    expect(noConfirm.statusCode).toBe(400);
    expect(noConfirm.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { confirm: { zh: expect.stringContaining('我已确认本人要求撤回') } } });
    expect(countTemplates(ledger.db, 'W001')).toBe(2);
    expect(existsSync(kept('W001'))).toBe(true);
    expect(getVillager(ledger.db, 'W001')!.faceConsentAt).not.toBeNull();

    const res = await app.inject({ method: 'POST', url: '/api/villagers/W001/face/withdraw', headers: s.post, payload: { confirm: true } });
    expect(res.statusCode).toBe(200);
    expect(existsSync(kept('W001'))).toBe(false);
    expect(readdirSync(kept('V001'))).toHaveLength(1);
    expect(res.json()).toMatchObject({ removed: 2, villager: { face_consent_at: null, face_templates: 0 } });
    expect(countTemplates(ledger.db, 'W001')).toBe(0);
    expect(reloaded.at(-1)).toBe('W001');
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ action: 'face.withdraw', before: { templates: 2 }, after: { templates: 0 } });
    expect((await as(s)(app, '/villagers/W001')).body).toContain('data-consent="false"');
  });
});
