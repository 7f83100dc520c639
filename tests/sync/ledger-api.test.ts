/** The village ledger's API: token auth, a village sees only its own data, awards move balances. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../edge/log.ts';
import { buildLedgerApi } from '../../cloud-sync/ledger/api.ts';
import { LedgerService } from '../../cloud-sync/ledger/service.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb, uid } from '../../harness/sync/rig.ts';
import type { SqlDb } from '../../cloud-sync/ledger/sql.ts';

describe(`ledger API (${ledgerDbKind})`, () => {
  let app: FastifyInstance;
  let db: SqlDb;
  let drop: () => Promise<void>;
  const a = uid('va');
  const b = uid('vb');
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  beforeAll(async () => {
    ({ db, drop } = await tempLedgerDb());
    // Not started: the API works without a broker; publications report `published: false`.
    const service = new LedgerService({ db, key: privateEd25519('k1', newKeyPair().privatePem), log: silentLogger(), mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'unused' } });
    app = buildLedgerApi({ db, service, log: silentLogger(), tokens: [{ token: 'town-secret', role: 'town' }, { token: 'a-secret', role: 'village', village: a }, { token: 'b-secret', role: 'village', village: b }] });
    for (const v of [a, b]) expect((await app.inject({ method: 'POST', url: '/api/villages', headers: auth('town-secret'), payload: { id: v, name: '村' } })).statusCode).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await drop();
  });

  it('refuses requests without a valid token', async () => {
    expect((await app.inject({ method: 'GET', url: `/api/villages/${a}/sync` })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: `/api/villages/${a}/sync`, headers: auth('nope') })).statusCode).toBe(401);
  });

  it('a village registers villagers, awards and penalises, and reads balances; another village is invisible to it', async () => {
    expect((await app.inject({ method: 'PUT', url: `/api/villages/${a}/villagers/qian`, headers: auth('a-secret'), payload: { name: '钱八' } })).statusCode).toBe(200);
    const aw = await app.inject({ method: 'POST', url: `/api/villages/${a}/entries`, headers: auth('a-secret'), payload: { id: 'aw-q1', villager: 'qian', kind: 'award', points: 30, reason: '义务劳动' } });
    expect(aw.statusCode).toBe(201);
    expect(aw.json()).toMatchObject({ balance: 30, duplicate: false, published: false });
    const again = await app.inject({ method: 'POST', url: `/api/villages/${a}/entries`, headers: auth('a-secret'), payload: { id: 'aw-q1', villager: 'qian', kind: 'award', points: 30, reason: '义务劳动' } });
    expect(again.json()).toMatchObject({ balance: 30, duplicate: true });
    await app.inject({ method: 'POST', url: `/api/villages/${a}/entries`, headers: auth('a-secret'), payload: { id: 'pe-q1', villager: 'qian', kind: 'penalty', points: -5, reason: '乱扔垃圾' } });
    expect((await app.inject({ method: 'GET', url: `/api/villages/${a}/villagers/qian`, headers: auth('a-secret') })).json()).toMatchObject({ balance: 25, village: a });
    expect((await app.inject({ method: 'GET', url: `/api/villages/${b}/villagers/qian`, headers: auth('town-secret') })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/api/villages/${b}/sync`, headers: auth('a-secret') })).statusCode).toBe(404);
    expect((await app.inject({ method: 'PUT', url: `/api/villages/${b}/villagers/x`, headers: auth('a-secret'), payload: { name: 'x' } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/api/villages', headers: auth('a-secret'), payload: { id: 'c', name: 'c' } })).statusCode).toBe(403);
    const sync = (await app.inject({ method: 'GET', url: `/api/villages/${a}/sync`, headers: auth('town-secret') })).json();
    expect(sync).toMatchObject({ village_seq: 3, connected: false, refused: expect.any(Object), counters: expect.objectContaining({ unapplied: 0 }) });
    // a village's token sees its village, not the ledger-wide refusals and counters (every village's together)
    const villageView = (await app.inject({ method: 'GET', url: `/api/villages/${a}/sync`, headers: auth('a-secret') })).json();
    expect(villageView).toMatchObject({ village_seq: 3, connected: false });
    expect(Object.keys(villageView).sort()).toEqual(['connected', 'last_error', 'stores', 'village_seq']);
    // not started: no attempt to reach the broker has failed
    expect(villageView).toMatchObject({ last_error: null });
  });

  it('keeps a blocked villager blocked when renamed, and refuses an entry id already used for another entry', async () => {
    const put = (url: string, payload: object) => app.inject({ method: 'PUT', url, headers: auth('a-secret'), payload });
    expect((await put(`/api/villages/${a}/villagers/sun`, { name: '孙九', status: 'blocked' })).statusCode).toBe(200);
    expect((await put(`/api/villages/${a}/villagers/sun`, { name: '孙老九' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/api/villages/${a}/villagers/sun`, headers: auth('a-secret') })).json()).toMatchObject({ name: '孙老九', status: 'blocked' });
    expect((await put(`/api/villages/${a}/villagers/sun`, { name: '孙老九', status: 'active' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `/api/villages/${a}/villagers/sun`, headers: auth('a-secret') })).json()).toMatchObject({ status: 'active' });
    // An id used already for another award is refused, not answered as a harmless duplicate.
    expect((await app.inject({ method: 'PUT', url: `/api/villages/${b}/villagers/zhou`, headers: auth('b-secret'), payload: { name: '周十' } })).statusCode).toBe(200);
    const first = await app.inject({ method: 'POST', url: `/api/villages/${a}/entries`, headers: auth('a-secret'), payload: { id: 'road-9', villager: 'sun', kind: 'award', points: 10, reason: '打扫村道' } });
    expect(first.statusCode).toBe(201);
    const clash = await app.inject({ method: 'POST', url: `/api/villages/${a}/entries`, headers: auth('a-secret'), payload: { id: 'road-9', villager: 'qian', kind: 'award', points: 10, reason: '打扫村道' } });
    expect(clash.statusCode).toBe(409);
    expect(clash.json()).toMatchObject({ error: 'DUPLICATE_ID', zh: expect.stringContaining('road-9') });
    expect((await app.inject({ method: 'GET', url: `/api/villages/${a}/villagers/qian`, headers: auth('a-secret') })).json()).toMatchObject({ balance: 25 });
    // The villager id b uses cannot be taken by a, and the answer does not name b.
    const taken = await put(`/api/villages/${a}/villagers/zhou`, { name: '周' });
    expect(taken.statusCode).toBe(409);
    expect(JSON.stringify(taken.json())).not.toContain(b);
  });

  it('a villager name of blanks alone is refused, 400 on name in both languages, and nothing is registered or renamed; blanks around a name are trimmed', async () => {
    const put = (url: string, payload: object) => app.inject({ method: 'PUT', url, headers: auth('a-secret'), payload });
    const get = (id: string) => app.inject({ method: 'GET', url: `/api/villages/${a}/villagers/${id}`, headers: auth('a-secret') });
    expect((await put(`/api/villages/${a}/villagers/wu`, { name: '吴一' })).statusCode).toBe(200);
    for (const [id, name] of [['blank', '   '], ['blank', ' \u3000 '], ['wu', '\t']] as const) {
      const r = await put(`/api/villages/${a}/villagers/${id}`, { name });
      expect({ status: r.statusCode, body: r.json() }).toMatchObject({ status: 400, body: { error: 'INVALID_ARGUMENT', field: 'name', message: expect.stringContaining('blank'), zh: '姓名不能为空' } });
    }
    expect((await get('blank')).statusCode).toBe(404);
    expect((await get('wu')).json()).toMatchObject({ name: '吴一' });
    expect((await put(`/api/villages/${a}/villagers/wu`, { name: ' 吴二\u3000' })).statusCode).toBe(200);
    expect((await get('wu')).json()).toMatchObject({ name: '吴二' });
  });

  it('creating a village under a taken id: the same village again answers it (200, a retry), another name is refused (409 on id) and changes nothing', async () => {
    const create = (payload: object) => app.inject({ method: 'POST', url: '/api/villages', headers: auth('town-secret'), payload });
    const fresh = uid('vc');
    expect(await create({ id: fresh, name: '新村' }).then((r) => ({ status: r.statusCode, body: r.json() }))).toEqual({ status: 201, body: { id: fresh, name: '新村', duplicate: false } });
    expect(await create({ id: fresh, name: '新村' }).then((r) => ({ status: r.statusCode, body: r.json() }))).toEqual({ status: 200, body: { id: fresh, name: '新村', duplicate: true } });
    const other = await create({ id: fresh, name: '另一个村' });
    expect({ status: other.statusCode, body: other.json() }).toMatchObject({ status: 409, body: { error: 'DUPLICATE_ID', field: 'id', message: expect.stringContaining(fresh), zh: expect.stringContaining('已存在') } });
    expect(await db.query('SELECT name FROM villages WHERE id = $1', [fresh])).toEqual([{ name: '新村' }]);
  });

  it('explains bad input in both languages', async () => {
    const bad = await app.inject({ method: 'POST', url: `/api/villages/${a}/entries`, headers: auth('a-secret'), payload: { id: 'x1', villager: 'qian', kind: 'award', points: -3, reason: 'r' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'INVALID_ARGUMENT', zh: expect.any(String) });
    const key = await app.inject({ method: 'PUT', url: `/api/villages/${a}/stores/s1`, headers: auth('a-secret'), payload: { key_id: 'k', public_key: 'not a key' } });
    expect(key.statusCode).toBe(400);
    const unknown = await app.inject({ method: 'POST', url: `/api/villages/${a}/entries`, headers: auth('a-secret'), payload: { id: 'x2', villager: 'nobody', kind: 'award', points: 3, reason: 'r' } });
    expect(unknown.statusCode).toBe(404);
    // A path the API does not have answers in the same shape, in both languages (the query string not echoed).
    const noRoute = await app.inject({ method: 'GET', url: `/api/villages/${a}/claimz?token=secret`, headers: auth('a-secret') });
    expect({ status: noRoute.statusCode, body: noRoute.json() }).toEqual({ status: 404, body: { error: 'NOT_FOUND', message: `no route GET /api/villages/${a}/claimz`, zh: '没有这个接口或页面' } });
  });

  it('a villager\'s name is at most 100 UTF-16 units, counted as the stores count them, refused by one rule naming the field and the limit', async () => {
    const put = (id: string, name: string) => app.inject({ method: 'PUT', url: `/api/villages/${a}/villagers/${id}`, headers: auth('a-secret'), payload: { name } });
    // 50 characters outside the BMP are 100 units: the most a store takes
    expect((await put('rare50', '𠀀'.repeat(50))).statusCode).toBe(200);
    expect((await put('han100', '钱'.repeat(100))).statusCode).toBe(200);
    const seq = (await app.inject({ method: 'GET', url: `/api/villages/${a}/sync`, headers: auth('a-secret') })).json<{ village_seq: number }>().village_seq;
    // 51 such characters and 102 plain ones (102 units each) are one refusal, the same words
    const rare = await put('rare51', '𠀀'.repeat(51));
    const long = await put('han102', '钱'.repeat(102));
    expect([rare.statusCode, long.statusCode]).toEqual([400, 400]);
    expect(rare.json()).toEqual(long.json());
    expect(rare.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'name', message: expect.stringMatching(/name.*100 UTF-16 units/) as string, zh: expect.stringMatching(/姓名.*100/) as string });
    expect((await app.inject({ method: 'GET', url: `/api/villages/${a}/sync`, headers: auth('a-secret') })).json()).toMatchObject({ village_seq: seq });
  });
});
