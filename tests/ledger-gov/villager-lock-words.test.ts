/**
 * What a villager hears on the way to the PIN lock (老王, 70, on his phone): a wrong PIN says how
 * many tries are left once few are (还可再试 2 次), the fifth says the lock has come and for how
 * long, and a locked login says when to come back, from the lock's actual remaining time (约 N
 * 分钟后再试, and Retry-After). An id nobody has in the village hears the same words and counts at
 * each step, so the answers tell a guesser nothing about which ids exist.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe(`villager lock words (${ledgerDbKind})`, () => {
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
  });

  it('wrong PINs count down the tries left, the lock says when to come back, and an unknown id hears exactly the same', async () => {
    const t0 = Date.parse('2026-12-01T08:00:00Z');
    let at = t0;
    const app = await govApp({ clock: () => new Date(at) });
    g = app;
    await app.villager(app.a, 'laowang');
    let net = 0;
    const attempt = async (villager: string, pin: string, url = '/api/villager/login') => {
      const res = await app.app.inject({ method: 'POST', url, remoteAddress: `198.18.7.${++net}`, payload: { village: app.a, villager, pin } });
      const { zh, message, field } = res.json() as { zh: string; message: string; field: string };
      return { status: res.statusCode, zh, message, field, retry: res.headers['retry-after'] };
    };
    const steps: Record<string, unknown[]> = { laowang: [], nobody: [] };
    for (let k = 0; k < 5; k++) for (const id of ['laowang', 'nobody']) steps[id]!.push(await attempt(id, '0000'));
    expect(steps.laowang).toEqual(steps.nobody);
    expect(steps.laowang!.map((s) => (s as { zh: string }).zh)).toEqual([
      '村民编号或密码不正确',
      '村民编号或密码不正确',
      '村民编号或密码不正确，还可再试 2 次',
      '村民编号或密码不正确，还可再试 1 次',
      '村民编号或密码不正确；错误次数过多，请约 15 分钟后再试',
    ]);
    expect(steps.laowang![3]).toMatchObject({ status: 401, field: 'pin', message: 'wrong villager id or PIN; 1 try left' });
    expect(steps.laowang![4]).toMatchObject({ status: 401, message: 'wrong villager id or PIN; too many wrong tries: try again in about 15 minutes', retry: '900' });

    // seven minutes later the lock has about eight to go: the right PIN waits too, as the unknown id does, on the phone page's login as well
    at = t0 + 7 * 60_000 + 10_000;
    const locked = { laowang: await attempt('laowang', '2468'), nobody: await attempt('nobody', '2468') };
    expect(locked.laowang).toEqual(locked.nobody);
    expect(locked.laowang).toMatchObject({ status: 429, field: 'pin', zh: '密码错误次数过多，请约 8 分钟后再试', message: 'too many wrong PINs or codes; try again in about 8 minutes', retry: String(15 * 60 - 7 * 60 - 10) });
    expect(await attempt('laowang', '2468', '/m/login')).toEqual(await attempt('nobody', '2468', '/m/login'));

    // the last minute says one minute, and once the lock ends the right PIN signs in
    at = t0 + 14 * 60_000 + 50_000;
    expect((await attempt('laowang', '0000')).zh).toBe('密码错误次数过多，请约 1 分钟后再试');
    at = t0 + 15 * 60_000;
    expect((await attempt('laowang', '2468')).status).toBe(200);
  }, 120_000);

  it('a wrong one-time code counts down the same way', async () => {
    const app = await govApp();
    g = app;
    await app.villager(app.a, 'laowang');
    const zh: string[] = [];
    for (let k = 0; k < 4; k++) {
      const res = await app.app.inject({ method: 'POST', url: '/m/login', remoteAddress: `198.18.8.${k + 1}`, payload: { village: app.a, villager: 'laowang', code: 'AAAA-AAAA' } });
      zh.push((res.json() as { zh: string }).zh);
    }
    expect(zh.slice(2)).toEqual(['登录码不正确、已用过或已过期，还可再试 2 次', '登录码不正确、已用过或已过期，还可再试 1 次']);
  }, 120_000);
});
