/**
 * A one-time login code issued again with its form's request id (an answer lost on the village
 * Wi-Fi, a second press after a reload) leaves one code that works, not a second one nobody saw:
 * the resend voids the code the first send issued and answers a fresh one (the ledger keeps codes
 * only hashed, so it cannot answer the first code again). The same id with another body is refused
 * (409 on `request`); no code is ever kept in plain (governance/login-codes.ts, request-ids.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

const rid = (n: number) => `code-form-${String(n).padStart(4, '0')}-5e1a`;
interface Issued { villager: string; code: string; expires_at: string; duplicate: boolean }

describe(`login codes issued again with a request id leave one valid code (${ledgerDbKind})`, () => {
  let g: GovApp;
  const codesUrl = (villager: string) => `/api/villages/${g.a}/villagers/${villager}/login-codes`;
  const openCodes = async (villager: string) => Number((await g.db.query<{ n: number | string }>(
    'SELECT COUNT(*) AS n FROM gov_login_codes WHERE villager_id = $1 AND used_at IS NULL AND expires_at > $2', [villager, new Date().toISOString()]))[0]!.n);
  const login = async (villager: string, code: string) => (await g.call(undefined, 'POST', '/api/villager/login', { village: g.a, villager, code })).statusCode;
  beforeAll(async () => {
    g = await govApp();
    for (const id of ['li', 'zhang', 'wu', 'zhou']) await g.villager(g.a, id);
  });
  afterAll(async () => {
    await g.close();
  });

  it('two sends with one id: the second answers a fresh code (200, duplicate) with the same expiry, and only that one signs in; nothing plain is kept', async () => {
    const body = { valid_days: 3, request: rid(1) };
    const first = await g.call(g.va, 'POST', codesUrl('li'), body);
    expect(first.statusCode, first.body).toBe(201);
    const a = first.json() as Issued;
    expect(a).toMatchObject({ villager: 'li', duplicate: false });
    const again = await g.call(g.va, 'POST', codesUrl('li'), body);
    expect(again.statusCode, again.body).toBe(200);
    const b = again.json() as Issued;
    expect(b).toMatchObject({ villager: 'li', expires_at: a.expires_at, duplicate: true });
    expect(b.code).not.toBe(a.code);
    expect(await openCodes('li')).toBe(1);
    // the ledger keeps the request's answer without any code in it
    const kept = await g.db.query<{ answer: string }>('SELECT answer FROM gov_requests WHERE request = $1', [rid(1)]);
    expect(kept).toHaveLength(1);
    for (const c of [a.code, b.code]) {
      expect(kept[0]!.answer).not.toContain(c);
      expect(kept[0]!.answer).not.toContain(c.replace('-', ''));
    }
    expect(await login('li', a.code)).toBe(401);
    expect(await login('li', b.code)).toBe(200);
    expect(await openCodes('li')).toBe(0);
    // Once its code signed in, the form issues none again: refused, nothing issued.
    const late = await g.call(g.va, 'POST', codesUrl('li'), body);
    expect({ status: late.statusCode, body: late.json() as unknown }).toMatchObject({ status: 409, body: { error: 'DUPLICATE_ID', field: 'request', zh: expect.stringContaining('登录码') } });
    expect(await openCodes('li')).toBe(0);
  });

  it('the same id with another body is refused (409 on request, both languages) and issues nothing', async () => {
    const made = await g.call(g.va, 'POST', codesUrl('zhang'), { request: rid(2) });
    expect(made.statusCode, made.body).toBe(201);
    for (const [villager, other] of [['zhang', { valid_days: 5, request: rid(2) }], ['wu', { request: rid(2) }]] as const) {
      const r = await g.call(g.va, 'POST', codesUrl(villager), other);
      expect({ villager, status: r.statusCode, body: r.json() as unknown }).toMatchObject({
        villager, status: 409, body: { error: 'DUPLICATE_ID', field: 'request', message: expect.stringContaining('zhang'), zh: expect.stringContaining('已经提交过') },
      });
    }
    expect(await openCodes('zhang')).toBe(1);
    expect(await openCodes('wu')).toBe(0);
    // the first code still signs in
    expect(await login('zhang', (made.json() as Issued).code)).toBe(200);
    // A request id that is no request id: 400 on request, both languages, nothing issued.
    const bad = await g.call(g.va, 'POST', codesUrl('wu'), { request: 'short' });
    expect({ status: bad.statusCode, body: bad.json() as unknown }).toMatchObject({ status: 400, body: { field: 'request', zh: expect.stringContaining('提交编号') } });
    expect(await openCodes('wu')).toBe(0);
    // Without a request id every send issues one, as before.
    for (let k = 0; k < 2; k++) expect((await g.call(g.va, 'POST', codesUrl('wu'), {})).statusCode).toBe(201);
    expect(await openCodes('wu')).toBe(2);
  });

  it('sends of one id at once leave one valid code, one of those answered', async () => {
    for (let round = 0; round < 2; round++) {
      const sends = await Promise.all(Array.from({ length: 3 }, () => g.call(g.va, 'POST', codesUrl('zhou'), { request: rid(10 + round) })));
      expect(sends.map((r) => r.statusCode).sort(), sends.map((r) => r.body).join('\n')).toEqual([200, 200, 201]);
      expect(await openCodes('zhou')).toBe(1);
      const signedIn: number[] = [];
      for (const r of sends) signedIn.push(await login('zhou', (r.json() as Issued).code));
      expect(signedIn.filter((s) => s === 200)).toHaveLength(1);
    }
  });
});
