/**
 * A refused villager form (enrol, card, block) from a browser gets its page back, the
 * bilingual message beside the field and what was typed kept; an API client asking for JSON
 * gets the JSON error for the very same refusal; nothing is half-saved. And enrolment from a
 * picture the door camera takes now, through the same path as an upload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../../edge/http/app.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { addVillager, requireVillager, setVillagerStatus } from '../../edge/ledger/villagers.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { countTemplates } from '../../edge/ledger/face-templates.ts';
import type { FaceEnrolment } from '../../edge/entry/admin-faces.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { signedIn, TEST_AUTH, type Signed } from './admin-auth.ts';

const ledger = tempLedger();
/** Never reached in these tests: every upload here is refused before the engine sees it. */
const faces: FaceEnrolment = {
  enrol: async () => {
    throw new Error('the engine must not see a refused upload');
  },
  withdraw: async () => 0,
};
const app = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, faces }, pino({ level: 'silent' }));
let s: Signed;
beforeAll(async () => {
  addVillager(ledger.db, { id: 'V001', name: '王大妈', village: '前进村' });
  addVillager(ledger.db, { id: 'V009', name: '赵老汉', village: '前进村' });
  setVillagerStatus(ledger.db, 'V009', 'left');
  s = await signedIn(app, ledger.db);
});
afterAll(async () => {
  await app.close();
  ledger.cleanup();
});

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const form = (fields: Record<string, string>, accept = BROWSER) => ({ headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded', accept }, payload: new URLSearchParams({ _csrf: s.csrf, ...fields }).toString() });

/** A multipart upload as a browser sends it: the photo, the consent box and the guardian's name. */
function upload(photo: Buffer, fields: Record<string, string>, accept = BROWSER) {
  const boundary = '----form-refusal-test';
  const part = (name: string, value: string) => `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const body = Buffer.concat([
    Buffer.from(Object.entries({ _csrf: s.csrf, ...fields }).map(([k, v]) => part(k, v)).join('')),
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="photo"; filename="wang.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`),
    photo,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { headers: { cookie: s.cookie, 'content-type': `multipart/form-data; boundary=${boundary}`, accept }, payload: body };
}

const fieldError = (html: string, field: string): string | undefined => new RegExp(`<div class="field-error" role="alert" data-field="${field}">([^<]*)</div>`).exec(html)?.[1];

describe('refused villager forms', () => {
  it('an upload that is not a photo: the villager page again, the message beside the photo, consent and guardian kept; JSON for an API client', async () => {
    const notPhoto = Buffer.from('these are notes, not a photo');
    const page = await app.inject({ method: 'POST', url: '/api/villagers/V001/face', ...upload(notPhoto, { consent: 'true', guardian: '王小明' }) });
    expect(page.statusCode).toBe(415);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('王大妈（V001）');
    expect(fieldError(page.body, 'photo')).toMatch(/[\u4e00-\u9fff].* \/ .*[a-z]/);
    expect(page.body).toContain('id="guardian" name="guardian" maxlength="64" value="王小明"');
    expect(page.body).toMatch(/name="consent" value="true" required style="width:auto" checked/);
    expect(page.body).toContain('请重新选择照片');
    // a fresh CSRF token in the page: the form can be sent again as it is
    expect(page.body).toMatch(/name="_csrf" value="[^"]+"/);
    const api = await app.inject({ method: 'POST', url: '/api/villagers/V001/face', ...upload(notPhoto, { consent: 'true' }, 'application/json') });
    expect(api.statusCode).toBe(415);
    expect(api.json()).toMatchObject({ error: expect.any(String), message: expect.any(String), zh: expect.any(String) });
    expect(requireVillager(ledger.db, 'V001').faceConsentAt).toBeNull();
    expect(countTemplates(ledger.db, 'V001')).toBe(0);
  });

  it('no consent ticked: the message beside the consent box', async () => {
    const page = await app.inject({ method: 'POST', url: '/api/villagers/V001/face', ...upload(Buffer.from('x'), { guardian: '王小明' }) });
    expect(page.statusCode).toBe(400);
    expect(fieldError(page.body, 'consent')).toBeDefined();
    expect(page.body).toContain('value="王小明"');
  });

  it('a card for an unknown villager from the admin page: the admin page again, the message beside the villager field, both fields kept, no reload', async () => {
    const page = await app.inject({ method: 'POST', url: '/api/cards/issue', ...form({ villager: 'V404', card: 'PB-777777' }) });
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('门店管理');
    expect(fieldError(page.body, 'villager')).toMatch(/[\u4e00-\u9fff]/);
    // the wrong field is brought into view (the card forms are far down the page) and its message not repeated above the form
    expect(page.body).toContain('name="villager" required maxlength="64" value="V404" autofocus');
    expect(page.body).not.toContain('data-form="card"');
    expect(page.body).toContain('name="card" maxlength="64" pattern="[A-Za-z0-9\\-]+" value="PB-777777"');
    expect(page.body).not.toContain('http-equiv="refresh"');
    const api = await app.inject({ method: 'POST', url: '/api/cards/issue', ...form({ villager: 'V404', card: 'PB-777777' }, 'application/json') });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ error: 'UNKNOWN_VILLAGER', zh: expect.stringMatching(/[\u4e00-\u9fff]/) });
    expect(listAudit(ledger.db, { limit: 10 }).filter((a) => a.action === 'card.issue')).toEqual([]);
  });

  it('a malformed card number to revoke: the message beside it, the number kept', async () => {
    const page = await app.inject({ method: 'POST', url: '/api/cards/revoke', ...form({ card: 'no such card!' }) });
    expect(page.statusCode).toBe(400);
    expect(fieldError(page.body, 'card')).toBeDefined();
    expect(page.body).toContain('value="no such card!"');
  });

  it('blocking a villager who has left, from their page: their page again saying why; from the API: 409 JSON', async () => {
    const page = await app.inject({ method: 'POST', url: '/api/villagers/V009/status', ...form({ status: 'blocked', _page: 'villager' }) });
    expect(page.statusCode).toBe(409);
    expect(page.body).toContain('赵老汉（V009）');
    expect(page.body).toMatch(/id="form-error" data-form="status">村民 V009 已迁出/);
    const api = await app.inject({ method: 'POST', url: '/api/villagers/V009/status', headers: s.post, payload: { status: 'blocked' } });
    expect(api.statusCode).toBe(409);
    expect(api.json()).toMatchObject({ error: 'INVALID_ARGUMENT', fields: { status: { zh: expect.any(String) } } });
    expect(requireVillager(ledger.db, 'V009').status).toBe('left');
  });

  it('a block from the villager page goes back to that page', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/villagers/V001/status', ...form({ status: 'blocked', _page: 'villager' }) });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/villagers/V001');
    expect(requireVillager(ledger.db, 'V001').status).toBe('blocked');
  });
});

describe('enrolment from a picture the door camera takes now', () => {
  const frame = { width: 2, height: 2, data: new Uint8Array(12) } as unknown as RgbFrame;
  const calls: Array<{ id: string; name: string; consentBy: string }> = [];
  let pictures = 0;
  const camera: FaceEnrolment = {
    enrol: async (id, photo, consentBy) => {
      calls.push({ id, name: photo.name, consentBy });
      expect(photo.frame).toBe(frame);
      return { templates: 1, total: 1, alreadyEnrolled: false };
    },
    withdraw: async () => 0,
    doorFrame: async () => {
      pictures += 1;
      return frame;
    },
  };
  const withCamera = buildApp({ store: { id: 's1', village: 'v1', name: '前进村积分超市' }, health: new HealthBoard(), db: () => ledger.db, ledgerRules: { creditFloor: 0 }, auth: TEST_AUTH, faces: camera }, pino({ level: 'silent' }));
  afterAll(async () => {
    await withCamera.close();
  });

  it('takes the picture and enrols through the same path as an upload, consent and audit included; the page offers it only with a camera', async () => {
    const t = await signedIn(withCamera, ledger.db);
    const page = await withCamera.inject({ url: '/villagers/V001', headers: { cookie: t.cookie } });
    expect(page.body).toContain('id="face-snapshot"');
    expect((await app.inject({ url: '/villagers/V001', headers: { cookie: s.cookie } })).body).not.toContain('id="face-snapshot"');

    const res = await withCamera.inject({ method: 'POST', url: '/api/villagers/V001/face/snapshot', headers: t.post, payload: { consent: true, guardian: '王小明' } });
    expect(res.statusCode, res.body).toBe(201);
    expect(calls).toEqual([{ id: 'V001', name: 'door camera snapshot', consentBy: 'guardian:王小明' }]);
    expect(listAudit(ledger.db, { limit: 1 })[0]).toMatchObject({ action: 'face.enrol', target: 'V001', after: { consent_by: 'guardian:王小明', source: 'door camera' } });

    // no consent: the page again with the message beside the box, the guardian kept, no picture taken
    const before = pictures;
    const refused = await withCamera.inject({ method: 'POST', url: '/api/villagers/V001/face/snapshot', headers: { cookie: t.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER }, payload: new URLSearchParams({ _csrf: t.csrf, guardian: '王小明' }).toString() });
    expect(refused.statusCode).toBe(400);
    expect(fieldError(refused.body, 'consent')).toBeDefined();
    expect(refused.body).toContain('id="snapshot-guardian" name="guardian" maxlength="64" value="王小明"');
    // an unknown villager: refused before the camera is asked
    expect((await withCamera.inject({ method: 'POST', url: '/api/villagers/V404/face/snapshot', headers: t.post, payload: { consent: true } })).statusCode).toBe(404);
    expect(pictures).toBe(before);
  });

  it('without a door camera: 503, in both languages', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/villagers/V001/face/snapshot', headers: s.post, payload: { consent: true } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: 'FACE_UNAVAILABLE', zh: expect.stringMatching(/[\u4e00-\u9fff]/) });
  });
});
