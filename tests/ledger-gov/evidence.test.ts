/** Evidence photos: sniffed from bytes, size and pixel limits, EXIF stripped, field-level refusals, who sees which photo. */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';
import { readablePhotoFormats } from '../../cloud-sync/ledger/governance/evidence.ts';
import { heicPhoto, jpegWithExif, pngClaiming, tinyJpeg } from './photos.ts';

describe(`evidence photos (${ledgerDbKind})`, () => {
  let g: GovApp;
  let zhang: string;
  let li: string;
  let url: string;
  beforeAll(async () => {
    g = await govApp();
    zhang = await g.villager(g.a, 'zhang');
    li = await g.villager(g.a, 'li');
    url = `/api/villages/${g.a}/evidence`;
  });
  afterAll(async () => {
    await g.close();
  });

  it('keeps an uploaded photo upright, re-encoded, without EXIF or GPS', async () => {
    const original = await jpegWithExif();
    expect(await sharp(original).metadata()).toMatchObject({ orientation: 6, exif: expect.any(Buffer) });
    expect(original.includes(Buffer.from('SECRET-MODEL-123'))).toBe(true);
    const res = await g.upload(zhang, url, original, { filename: 'IMG_0001.JPG' });
    expect(res.statusCode).toBe(201);
    const body = res.json() as { id: string; ref: string; width: number; height: number };
    expect(body.ref).toBe(`photo:${body.id}`);
    // 80×40 with orientation 6 (rotate 90°): stored as 40×80.
    expect(body).toMatchObject({ width: 40, height: 80 });
    const got = await g.call(zhang, 'GET', `${url}/${body.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-type']).toBe('image/jpeg');
    const meta = await sharp(got.rawPayload).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 40, height: 80 });
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(got.rawPayload.includes(Buffer.from('SECRET-MODEL-123'))).toBe(false);
    expect(got.rawPayload.includes(Buffer.from('VillageCam'))).toBe(false);
    // PNG and WebP are photos too.
    const png = await sharp({ create: { width: 20, height: 20, channels: 4, background: '#0a0' } }).png().toBuffer();
    expect((await g.upload(zhang, url, png, { filename: 'x.png', type: 'image/png' })).statusCode).toBe(201);
    const webp = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#00a' } }).webp().toBuffer();
    expect((await g.upload(zhang, url, webp, { filename: 'x.bin', type: 'application/octet-stream' })).statusCode).toBe(201);
  });

  it('refuses what is not a photo, judged by its bytes, on the field "photo"', async () => {
    const cases: [string, Buffer, string, string][] = [
      ['text named .jpg', Buffer.from('this is not a picture at all'), 'lane.jpg', 'image/jpeg'],
      ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'), 'x.svg', 'image/svg+xml'],
      ['GIF', await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).gif().toBuffer(), 'x.gif', 'image/gif'],
      ['a JPEG header with nothing after it', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'x.jpg', 'image/jpeg'],
      ['a PDF', Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj\n'), 'x.jpg', 'image/jpeg'],
    ];
    for (const [what, bytes, filename, type] of cases) {
      const r = await g.upload(zhang, url, bytes, { filename, type });
      expect({ what, status: r.statusCode, field: (r.json() as { field?: string }).field }).toEqual({ what, status: 400, field: 'photo' });
      expect(r.json()).toMatchObject({ error: 'INVALID_ARGUMENT', message: expect.stringContaining('not a photo'), zh: expect.stringContaining('不是照片') });
    }
    const empty = await g.upload(zhang, url, Buffer.alloc(0));
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ field: 'photo', zh: expect.stringContaining('空') });
    const wrongField = await g.upload(zhang, url, await tinyJpeg(), { field: 'picture' });
    expect(wrongField.statusCode).toBe(400);
    expect(wrongField.json()).toMatchObject({ field: 'picture', zh: expect.stringContaining('photo') });
    const json = await g.call(zhang, 'POST', url, { photo: 'base64...' });
    expect(json.statusCode).toBe(415);
    expect(json.json()).toMatchObject({ field: 'photo', zh: expect.stringContaining('multipart') });
    expect(await g.db.query('SELECT id FROM gov_evidence WHERE uploaded_by = $1', ['villager:nobody'])).toEqual([]);
  });

  it('says honestly which formats it reads: AVIF yes; an iPhone HEIC photo is refused by name, with what to do', async () => {
    const heic = heicPhoto();
    expect(heic.toString('latin1', 4, 12)).toBe('ftypheic');
    expect(await sharp(heic).metadata()).toMatchObject({ format: 'heif', compression: 'hevc', width: 64, height: 48 });
    const kept = async () => Number((await g.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM gov_evidence'))[0]!.n);
    const before = await kept();
    const r = await g.upload(zhang, url, heic, { filename: 'IMG_0001.HEIC', type: 'image/heic' });
    expect(await kept()).toBe(before);
    expect(r.statusCode).toBe(400);
    const body = r.json() as { error: string; field: string; message: string; zh: string };
    expect(body).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'photo' });
    expect(body.message).toMatch(/HEIC.*cannot be read/);
    expect(body.message).toContain('JPEG');
    expect(body.message).toContain('phone page');
    expect(body.zh).toContain('HEIC');
    expect(body.zh).toContain('JPEG');
    // What a refusal lists as readable is what this ledger's decoder reads: not HEIF/HEIC here.
    const text = await g.upload(zhang, url, Buffer.from('not a picture'), { filename: 'x.jpg' });
    expect((text.json() as { message: string }).message).toBe(`the file is not a photo (${readablePhotoFormats().join(', ')})`);
    expect(readablePhotoFormats()).toEqual(sharp.format.heif.input.fileSuffix?.includes('.heic') ? ['JPEG', 'PNG', 'WebP', 'AVIF', 'HEIC'] : ['JPEG', 'PNG', 'WebP', 'AVIF']);
    const avif = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#a00' } }).avif().toBuffer();
    expect((await g.upload(zhang, url, avif, { filename: 'x.avif', type: 'image/avif' })).statusCode).toBe(201);
  });

  it('refuses an oversize file and a decompression bomb before decoding it', async () => {
    const big = Buffer.concat([await tinyJpeg(), Buffer.alloc(8 * 1024 * 1024 + 1)]);
    const r = await g.upload(zhang, url, big);
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ field: 'photo', zh: expect.stringContaining('8 MB') });
    const bomb = await pngClaiming(30_000, 30_000);
    expect(bomb.length).toBeLessThan(1000);
    const b = await g.upload(zhang, url, bomb, { type: 'image/png' });
    expect(b.statusCode).toBe(400);
    expect(b.json()).toMatchObject({ field: 'photo', message: expect.stringContaining('30000×30000'), zh: expect.stringContaining('像素') });
  });

  it('a malformed upload or a body over the limit is the sender\'s fault: a bilingual 4xx naming the cause, never 500', async () => {
    const raw = (contentType: string, payload: string) => g.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${g.va}`, 'content-type': contentType }, payload });
    const tries = {
      'more text fields than allowed': await g.upload(zhang, url, await tinyJpeg(), { fields: { a: '1', b: '2', c: '3', d: '4', e: '5' } }),
      'a form cut short': await raw('multipart/form-data; boundary=XX', '--XX\r\ncontent-disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\nabc'),
      'no boundary': await raw('multipart/form-data', 'x'),
    };
    const got = Object.fromEntries(Object.entries(tries).map(([what, r]) => [what, { status: r.statusCode, field: (r.json() as { field?: string }).field, zh: typeof (r.json() as { zh?: unknown }).zh }]));
    expect(got).toEqual({
      'more text fields than allowed': { status: 413, field: 'photo', zh: 'string' },
      'a form cut short': { status: 400, field: 'photo', zh: 'string' },
      'no boundary': { status: 400, field: 'photo', zh: 'string' },
    });
    expect(tries['a form cut short'].json()).toMatchObject({ error: 'INVALID_ARGUMENT', zh: expect.stringContaining('不完整') });
    // A JSON body over the API's 256 KB: 413, said in both languages.
    const big = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: 'zhang', note: 'x'.repeat(300_000) });
    expect({ status: big.statusCode, body: big.json() }).toMatchObject({ status: 413, body: { error: 'INVALID_ARGUMENT', message: expect.stringContaining('256 KB'), zh: expect.stringContaining('太大') } });
  });

  it('a report names an uploaded photo: its own, in its village; others see what they may', async () => {
    const mine = (await g.upload(zhang, url, await tinyJpeg())).json() as { id: string; ref: string };
    const lis = (await g.upload(li, url, await tinyJpeg())).json() as { id: string; ref: string };
    const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '清扫西巷', item: 'ENV-SWEEP-LANE', max_claimants: 3 })).json() as { id: string };
    const claim = (await g.call(zhang, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)).json() as { id: string };
    for (const evidence of [lis.ref, 'photo:ev-doesnotexist']) {
      const r = await g.call(zhang, 'POST', `/api/villages/${g.a}/claims/${claim.id}/report`, { evidence });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ field: 'evidence', zh: expect.stringContaining('凭证照片') });
    }
    expect((await g.call(zhang, 'POST', `/api/villages/${g.a}/claims/${claim.id}/report`, { evidence: mine.ref })).json()).toMatchObject({ status: 'reported', evidence: mine.ref });
    // A self-report with a photo, too.
    expect((await g.call(li, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', evidence: lis.ref })).statusCode).toBe(201);
    // The village's own photo of no one: a villager may neither see it nor name it; the village names it in a record.
    const office = (await g.upload(g.va, url, await tinyJpeg())).json() as { id: string; ref: string };
    expect((await g.call(li, 'GET', `${url}/${office.id}`)).statusCode).toBe(404);
    const named = await g.call(li, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', evidence: office.ref });
    expect(named.statusCode).toBe(400);
    expect(named.json()).toMatchObject({ field: 'evidence', zh: expect.stringContaining('凭证照片') });
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'ENV-SWEEP-LANE', villager: 'li', evidence: office.ref })).statusCode).toBe(201);
    // Who sees which photo: the villager their own, the village and the town all of the village's.
    expect((await g.call(li, 'GET', `${url}/${mine.id}`)).statusCode).toBe(404);
    expect((await g.call(g.va, 'GET', `${url}/${mine.id}`)).statusCode).toBe(200);
    expect((await g.call(g.town, 'GET', `${url}/${mine.id}`)).statusCode).toBe(200);
    expect((await g.call(g.vb, 'GET', `/api/villages/${g.b}/evidence/${mine.id}`)).statusCode).toBe(404);
    // The village uploads for a villager of its own; a villager only for themself; the town not at all.
    const forLi = await g.upload(g.va, url, await tinyJpeg(), { fields: { villager: 'li' } });
    expect(forLi.statusCode).toBe(201);
    expect((await g.call(li, 'GET', `${url}/${(forLi.json() as { id: string }).id}`)).statusCode).toBe(200);
    expect((await g.upload(g.va, url, await tinyJpeg(), { fields: { villager: 'nobody' } })).statusCode).toBe(404);
    expect((await g.upload(zhang, url, await tinyJpeg(), { fields: { villager: 'li' } })).json()).toMatchObject({ field: 'villager' });
    expect((await g.upload(g.town, url, await tinyJpeg())).statusCode).toBe(403);
    expect((await g.upload(undefined, url, await tinyJpeg())).statusCode).toBe(401);
    // Kept for good: the database refuses to change or delete a photo.
    await expect(g.db.run('DELETE FROM gov_evidence WHERE id = $1', [mine.id])).rejects.toThrow();
    const audit = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit`)).json() as { events: { subject: string; action: string }[] };
    expect(audit.events.find((e) => e.subject === `evidence:${mine.id}`)).toMatchObject({ action: 'evidence.upload' });
  });
});
