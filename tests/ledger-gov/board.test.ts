/**
 * The public board as the village ledger computes it (cloud-sync/ledger/board/): this month's
 * red list from approved rule items (reversed and deducted ones never count), good deeds with
 * no names, the month's totals, the village's settings and each villager's choice to be named;
 * staff are never ranked. A property test holds the ranking's rules for any earnings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ledgerDbKind } from '../../harness/sync/rig.ts';
import { boardChangeToken, computeBoard, maskName, rankEarnings, redListCut, villageMonth } from '../../cloud-sync/ledger/board/compute.ts';
import { checkers, type Envelope } from '../../cloud-sync/protocol/payloads.ts';
import { BoardPublisher } from '../../cloud-sync/ledger/board/publisher.ts';
import { checkEnvelope, keyRing, newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { silentLogger } from '../../edge/log.ts';
import { govApp, type GovApp } from './gov-app.ts';

describe('ranking and masking (properties)', () => {
  it('masks a name to its family name (a compound one whole: board-debt-names.test.ts) and two stars, whatever its length', () => {
    expect(maskName('张三')).toBe('张**');
    expect(maskName('欧阳娜娜')).toBe('欧阳**');
    expect(maskName('𠮷野家')).toBe('𠮷**');
  });

  const rowArb = fc.record({
    villager_id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
    item_name: fc.constantFrom('清扫街巷', '志愿服务', '说法评理', '参加防汛抢险'),
    points: fc.integer({ min: 1, max: 40 }),
  });
  const namedArb = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), fc.boolean());

  it('ranks by points earned (equal points share a place), never shows an opted-out name, shows the places up to the size, each whole', () => {
    fc.assert(fc.property(fc.array(rowArb, { maxLength: 60 }), namedArb, fc.constantFrom('mask' as const, 'omit' as const), fc.integer({ min: 1, max: 10 }), (raw, named, style, size) => {
      const rows = raw.map((r) => ({ ...r, name: `全名${r.villager_id}`, named: named[r.villager_id] === false ? 0 : null }));
      const list = rankEarnings(rows, { red_list_size: size, name_style: style });
      const earned = new Map<string, number>();
      for (const r of rows) earned.set(r.villager_id, (earned.get(r.villager_id) ?? 0) + r.points);
      const eligible = [...earned.entries()].filter(([id]) => style === 'mask' || named[id] !== false);
      // `size` places, not rows: everyone whose place (1 + those ahead) is within it, whoever shares it
      const placeOf = (p: number) => 1 + eligible.filter(([, q]) => q > p).length;
      expect(list.map((r) => r.villager).sort()).toEqual(eligible.filter(([, p]) => placeOf(p) <= size).map(([id]) => id).sort());
      list.forEach((r, i) => {
        // the points are the sum of the villager's earnings, and the rank counts only those ahead
        expect(r.points).toBe(earned.get(r.villager));
        expect(r.rank).toBe(1 + eligible.filter(([, p]) => p > r.points).length);
        if (i > 0) expect(r.points).toBeLessThanOrEqual(list[i - 1]!.points);
        if (named[r.villager] === false) {
          expect(style).toBe('mask');
          expect(r.masked).toBe(true);
          expect(r.name).toBe('全**');
        } else expect(r.name).toBe(`全名${r.villager}`);
        // the items it names are its own, at most three, and their counts add up to no more than its rows
        expect(r.items.length).toBeLessThanOrEqual(3);
        const own = rows.filter((x) => x.villager_id === r.villager);
        for (const it of r.items) expect(it.count).toBe(own.filter((x) => x.item_name === it.name).length);
      });
    }));
  });
});

describe('red list places at the cut', () => {
  const earner = (villager_id: string, points: number) => ({ villager_id, name: villager_id, named: null, item_name: '清扫街巷', points });
  const places = (rows: ReturnType<typeof earner>[], size: number) => rankEarnings(rows, { red_list_size: size, name_style: 'mask' }).map((r) => [r.rank, r.villager]);

  it('shows everyone who shares the last place shown, not one of them chosen by id', () => {
    expect(places([earner('zhang', 30), earner('li', 8), earner('wang', 8)], 2)).toEqual([[1, 'zhang'], [2, 'li'], [2, 'wang']]);
    expect(places([earner('zhang', 30), earner('li', 30), earner('wang', 8)], 2)).toEqual([[1, 'li'], [1, 'zhang']]);
    expect(places([earner('a', 5), earner('b', 5), earner('c', 5)], 1)).toEqual([[1, 'a'], [1, 'b'], [1, 'c']]);
  });

  it('leaves off a whole place that would take the board past its 50 rows, never part of it', () => {
    const rows = [...Array.from({ length: 48 }, (_, i) => earner(`v${String(i).padStart(2, '0')}`, 100 - i)), earner('x', 10), earner('y', 10), earner('z', 10)];
    const list = places(rows, 50);
    expect(list.length).toBe(48);
    expect(list.at(-1)).toEqual([48, 'v47']);
    // the place left off is counted, so the board can say so
    expect(redListCut(rows.map((r) => r.points), 50)).toEqual({ shown: 48, more: { rank: 49, points: 10, count: 3 } });
    // a place at the cut that is within the size is counted; places past the size are not the board's
    expect(redListCut([9, 8, 8], 1)).toEqual({ shown: 1, more: null });
  });

  it('the first place alone more than 50 (a new village, everyone equal): 50 of them shown and the rest counted, never an empty list', () => {
    const rows = Array.from({ length: 120 }, (_, i) => earner(`p${String(i).padStart(3, '0')}`, 2));
    const list = places(rows, 10);
    expect(list.length).toBe(50);
    expect(list.every(([rank]) => rank === 1)).toBe(true);
    expect(redListCut(rows.map((r) => r.points), 10)).toEqual({ shown: 50, more: { rank: 1, points: 2, count: 70 } });
    // exactly 50 at the first place fit whole: nothing more
    expect(redListCut(Array.from({ length: 50 }, () => 2), 10)).toEqual({ shown: 50, more: null });
  });
});

describe(`the board of a village (${ledgerDbKind})`, () => {
  let g: GovApp;
  let li: string;
  const tokens: Record<string, string> = {};
  const record = async (villager: string, item: string, points?: number): Promise<string> => {
    const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item, villager, ...(points ? { points } : {}), ...(item.startsWith('DED') ? { evidence: 'photo:1' } : {}) });
    expect(r.statusCode).toBe(201);
    const id = (r.json() as { id: string }).id;
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${id}/approve`, {})).statusCode).toBe(200);
    return id;
  };
  const board = async (now = new Date()) => {
    const b = await computeBoard(g.db, g.a, now);
    expect(checkers.board.Check(b)).toBe(true);
    return b;
  };

  beforeAll(async () => {
    g = await govApp();
    for (const [id, name] of [['zhang', '张三'], ['li', '李四'], ['wang', '王五'], ['chen', '老陈'], ['zhao', '赵六']] as const) {
      tokens[id] = await g.villager(g.a, id);
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/${id}`, { name })).statusCode).toBe(200);
    }
    li = tokens.li!;
    await record('zhang', 'CIV-GOOD-FAMILY');
    await record('zhang', 'GOV-MEETING');
    await record('li', 'GOV-SUGGESTION', 8);
    // 王五 through a task, whose title is the good deed's
    const task = (await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title: '清理河道垃圾', item: 'GOV-SUGGESTION', points: 8, max_claimants: 2 })).json() as { id: string };
    const claim = (await g.call(tokens.wang, 'POST', `/api/villages/${g.a}/tasks/${task.id}/claim`)).json() as { id: string };
    expect((await g.call(tokens.wang, 'POST', `/api/villages/${g.a}/claims/${claim.id}/report`, {})).statusCode).toBe(200);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${claim.id}/approve`, {})).statusCode).toBe(200);
    await record('chen', 'CIV-GOOD-FAMILY');
    const reversed = await record('zhao', 'GOV-MEETING');
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${reversed}/reverse`, { reason: '重复申报' })).statusCode).toBe(200);
    await record('zhao', 'DED-LITTER');
    // 老陈 is the store's maintainer; 李四 does not want to be named
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/chen/board`, { staff: true })).json()).toEqual({ villager: 'chen', named: true, staff: true });
    expect((await g.call(li, 'PUT', `/api/villages/${g.a}/me/board`, { named: false })).json()).toEqual({ villager: 'li', named: false });
  });
  afterAll(async () => {
    await g.close();
  });

  it('ranks this month’s earners with their items; opted-out masked, staff, reversals and deductions left out', async () => {
    const b = await board();
    expect(b.month).toBe(villageMonth(new Date()).label);
    expect(b.red_list.map((r) => [r.rank, r.name, r.points, r.masked])).toEqual([
      [1, '张三', 32, false],
      [2, '李**', 8, true],
      [2, '王五', 8, false],
    ]);
    expect(b.red_list[0]!.items).toEqual([{ name: '评为文明家庭', count: 1 }, { name: '参加村民会议', count: 1 }]);
    const text = JSON.stringify(b);
    for (const hidden of ['李四', '老陈', '赵六', 'balance', 'debt']) expect(text).not.toContain(hidden);
  });

  it('with fewer places than earners, shows everyone at a place shown (李** and 王五 share the 2nd of 2)', async () => {
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/board`, { red_list_size: 2 })).statusCode).toBe(200);
    try {
      expect((await board()).red_list.map((r) => [r.rank, r.name, r.points])).toEqual([[1, '张三', 32], [2, '李**', 8], [2, '王五', 8]]);
    } finally {
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/board`, { red_list_size: 10 })).statusCode).toBe(200);
    }
  });

  it('lists good deeds newest first with title, village and points, and nobody’s name', async () => {
    const b = await board();
    expect(b.deeds.map((d) => [d.title, d.points])).toEqual([['评为文明家庭', 30], ['清理河道垃圾', 8], ['提出合理化建议被采纳', 8], ['参加村民会议', 2], ['评为文明家庭', 30]]);
    expect(b.deeds.every((d) => d.village === '村')).toBe(true);
    expect(JSON.stringify(b.deeds)).not.toMatch(/张三|李四|王五|老陈|赵六|zhang|chen/);
  });

  it('totals the month: points issued and redeemed, deeds, participants without staff', async () => {
    // awards: 30 + 2 + 8 + 8 + 30 (老陈's); 赵六's 2, reversed (…/reverse), was not issued
    expect((await board()).totals).toEqual({ issued: 78, redeemed: 0, deeds: 5, participants: 3, villagers: 4 });
  });

  it('the month\'s issued points and the red list agree: a reversed award is in neither', async () => {
    const b = await board();
    const listed = b.red_list.reduce((n, r) => n + r.points, 0);
    // the red list leaves off only 老陈, staff (30): everything else issued is on it
    expect({ issued: b.totals!.issued, listed }).toEqual({ issued: listed + 30, listed: 48 });
    // an award reversed (even after the month it was given in) comes off the issued total when the reversal is made
    const again = await record('zhang', 'GOV-MEETING');
    expect((await board()).totals!.issued).toBe(80);
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${again}/reverse`, { reason: '记错了人' })).statusCode).toBe(200);
    const after = await board();
    expect({ issued: after.totals!.issued, listed: after.red_list.reduce((n, r) => n + r.points, 0), deeds: after.totals!.deeds }).toEqual({ issued: 78, listed: 48, deeds: 5 });
  });

  it('a villager who left counts in neither the participants nor the villagers', async () => {
    const status = async (st: string) => expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/wang`, { name: '王五', status: st })).statusCode).toBe(200);
    await status('left');
    try {
      expect((await board()).totals).toMatchObject({ participants: 2, villagers: 3 });
    } finally {
      await status('active');
    }
  });

  it('a new month starts an empty red list and fresh totals', async () => {
    const next = new Date(Date.parse(villageMonth(new Date()).end) + 3_600_000);
    const b = await board(next);
    expect(b.red_list).toEqual([]);
    expect(b.totals).toMatchObject({ issued: 0, deeds: 0, participants: 0 });
    expect(b.deeds.length).toBe(5); // recent deeds are not a monthly figure
  });

  it('publishes only what the village chooses: names left off, sections off, fewer places', async () => {
    const token0 = await boardChangeToken(g.db, g.a, new Date());
    const r = await g.call(g.va, 'PUT', `/api/villages/${g.a}/board`, { name_style: 'omit', red_list_size: 1 });
    expect(r.json()).toMatchObject({ settings: { name_style: 'omit', red_list_size: 1, publish_red_list: true } });
    expect(await boardChangeToken(g.db, g.a, new Date())).not.toBe(token0);
    expect((await board()).red_list.map((x) => x.name)).toEqual(['张三']);
    await g.call(g.va, 'PUT', `/api/villages/${g.a}/board`, { red_list_size: 10 });
    expect((await board()).red_list.map((x) => [x.rank, x.name])).toEqual([[1, '张三'], [2, '王五']]);
    await g.call(g.va, 'PUT', `/api/villages/${g.a}/board`, { publish_red_list: false, publish_deeds: false, publish_totals: false });
    const off = await board();
    expect(off).toMatchObject({ published: { red_list: false, deeds: false, totals: false }, red_list: [], deeds: [], totals: null });
    // the village's own view says the same
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/board`)).json()).toMatchObject({ settings: { publish_red_list: false }, board: { red_list: [] } });
    await g.call(g.va, 'PUT', `/api/villages/${g.a}/board`, { publish_red_list: true, publish_deeds: true, publish_totals: true, name_style: 'mask' });
    // every change is in the audit log
    const audit = (await g.call(g.va, 'GET', `/api/villages/${g.a}/audit?limit=50`)).json() as Array<{ action: string; actor: string }> | { events?: unknown };
    expect(JSON.stringify(audit)).toContain('board.settings');
    expect(JSON.stringify(audit)).toContain('board.villager');
  });

  it('refuses bad settings and choices field by field, in both languages', async () => {
    const bad = async (token: string, url: string, body: unknown, field: string, status = 400) => {
      const r = await g.call(token, 'PUT', url, body);
      expect({ url, body, status: r.statusCode }).toEqual({ url, body, status });
      expect(r.json()).toMatchObject({ field, zh: expect.any(String), message: expect.any(String) });
    };
    const v = `/api/villages/${g.a}`;
    await bad(g.va, `${v}/board`, { red_list_size: 0 }, 'red_list_size');
    await bad(g.va, `${v}/board`, { red_list_size: 51 }, 'red_list_size');
    await bad(g.va, `${v}/board`, { name_style: 'initials' }, 'name_style');
    // an unknown field is dropped (the API's rule), and then nothing is left to change
    await bad(g.va, `${v}/board`, { show_balances: true }, 'settings');
    await bad(g.va, `${v}/villagers/zhang/board`, {}, 'named');
    await bad(g.va, `${v}/villagers/nobody/board`, { named: false }, 'villager', 404);
    await bad(g.va, `${v}/villagers/zhang/board`, { named: 'no' }, 'named');
    // a villager may say whether they are named, not whether they are staff
    await bad(li, `${v}/me/board`, { staff: true }, 'named');
    expect((await g.call(li, 'PUT', `${v}/board`, { name_style: 'omit' })).statusCode).toBe(403);
    expect((await g.call(g.town, 'PUT', `${v}/board`, { name_style: 'omit' })).statusCode).toBe(403);
    expect((await g.call(li, 'GET', `${v}/me/board`)).json()).toEqual({ villager: 'li', named: false });
  });

  it('the publisher sends on change and when due, its versions only grow, and records nothing the broker did not take', async () => {
    const pair = newKeyPair();
    let t = Date.now();
    let up = false;
    const sent: Envelope[] = [];
    const p = new BoardPublisher({
      db: g.db, key: privateEd25519('ledger-1', pair.privatePem), log: silentLogger(), clock: () => new Date(t), refreshMs: 60_000,
      publish: async (_v, e) => {
        if (up) sent.push(e);
        return up;
      },
    });
    expect(await p.publishVillage(g.a)).toEqual({ published: false }); // the broker is away: tried again later
    up = true;
    const first = await p.publishVillage(g.a);
    expect(first.published).toBe(true);
    expect(await p.publishVillage(g.a)).toEqual({ published: false }); // nothing changed, not due
    t += 61_000;
    const due = await p.publishVillage(g.a);
    expect(due.version).toBeGreaterThan(first.version!);
    expect(await p.publishVillage(g.a)).toEqual({ published: false });
    expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/board`, { deeds_count: 5 })).statusCode).toBe(200);
    const changed = await p.publishVillage(g.a);
    expect(changed.published).toBe(true);
    // the ledger's clock goes back an hour (a corrected clock, a restored machine): versions still grow
    t -= 3_600_000;
    const back = await p.publishVillage(g.a, true);
    expect(back.version).toBe(changed.version! + 1);
    expect(sent.map((e) => e.seq)).toEqual([first.version, due.version, changed.version, back.version]);
    const keys = keyRing([{ id: 'ledger-1', pem: pair.publicPem }]);
    for (const e of sent) {
      expect(checkEnvelope(e, keys, Date.parse(e.issued_at), 0)).toBeUndefined();
      expect(e).toMatchObject({ kind: 'board', village: g.a });
      expect(checkers.board.Check(e.body)).toBe(true);
    }
    expect((sent[2]!.body as { deeds: unknown[] }).deeds.length).toBe(5);
  });
});

describe(`the board of a new village where everyone earned the same (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => { g = await govApp(); });
  afterAll(async () => { await g.close(); });

  it('more than 50 share the first place: the message carries 50 rows and says how many more share it', async () => {
    for (let i = 0; i < 56; i++) {
      const id = `n${String(i).padStart(2, '0')}`;
      expect((await g.call(g.va, 'PUT', `/api/villages/${g.a}/villagers/${id}`, { name: `村民${i}` })).statusCode).toBe(200);
      const r = await g.call(g.va, 'POST', `/api/villages/${g.a}/reports`, { item: 'GOV-MEETING', villager: id });
      expect(r.statusCode, r.body).toBe(201);
      expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${(r.json() as { id: string }).id}/approve`, {})).statusCode).toBe(200);
    }
    const b = await computeBoard(g.db, g.a, new Date());
    expect(checkers.board.Check(b), JSON.stringify([...checkers.board.Errors(b)].slice(0, 2))).toBe(true);
    expect(b.red_list.length).toBe(50);
    expect(new Set(b.red_list.map((r) => r.rank))).toEqual(new Set([1]));
    expect(b.red_list_more).toEqual({ rank: 1, points: 2, count: 6 });
    // the village's own view shows the same
    expect((await g.call(g.va, 'GET', `/api/villages/${g.a}/board`)).json()).toMatchObject({ board: { red_list_more: { rank: 1, count: 6 } } });
  });
});

/**
 * Text the API takes by characters (code points) can be longer in UTF-16 units, which the
 * board's and the entries' schemas count (TypeBox's maxLength): cut to fit, it is cut between
 * characters as a reader sees them, never inside a surrogate pair (𠀀) or a flag (🇨🇳).
 */
describe(`board and entry text with rare characters (${ledgerDbKind})`, () => {
  let g: GovApp;
  beforeAll(async () => { g = await govApp(); });
  afterAll(async () => { await g.close(); });
  /** No lone surrogate (String.prototype.isWellFormed, which this TypeScript target lacks). */
  const wellFormed = (s: string) => !/\p{Cs}/u.test(s);
  const wellCut = (shown: string, whole: string, max: number) => ({ wellFormed: wellFormed(shown), prefix: whole.startsWith(shown), fits: shown.length <= max });
  const taskDeed = async (token: string, title: string, item = 'GOV-SUGGESTION') => {
    const t = await g.call(g.va, 'POST', `/api/villages/${g.a}/tasks`, { title, item, points: 8, max_claimants: 2 });
    expect(t.statusCode, t.body).toBe(201);
    const c = (await g.call(token, 'POST', `/api/villages/${g.a}/tasks/${(t.json() as { id: string }).id}/claim`)).json() as { id: string };
    const reported = await g.call(token, 'POST', `/api/villages/${g.a}/claims/${c.id}/report`, {});
    expect(reported.statusCode, reported.body).toBe(200);
    const ok = await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${c.id}/approve`, {});
    expect(ok.statusCode).toBe(200);
    return c.id;
  };

  it('a deed title and an item name are cut between characters and fit the board schema', async () => {
    const rare = '𠀀'.repeat(60); // 60 characters (the most a name of an item may have), 120 UTF-16 units
    const token = await g.villager(g.a, 'zhang');
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/items`, { code: 'RARE-1', name: rare, category: 'other', direction: 'add', points_min: 8, points_max: 8, evidence: 'none' })).statusCode).toBe(201);
    const titles = [`修${'𠀀'.repeat(199)}`, `${'修'.repeat(197)}🇨🇳`];
    const claims = [await taskDeed(token, titles[0]!, 'RARE-1'), await taskDeed(token, titles[1]!)];
    const b = await computeBoard(g.db, g.a, new Date());
    expect(checkers.board.Check(b), JSON.stringify([...checkers.board.Errors(b)].slice(0, 2))).toBe(true);
    // newest first: the flag is dropped whole, the rare characters are kept in whole pairs
    expect(b.deeds.map((d, i) => wellCut(d.title, titles[1 - i]!, 200))).toEqual([{ wellFormed: true, prefix: true, fits: true }, { wellFormed: true, prefix: true, fits: true }]);
    expect(b.deeds.map((d) => d.title)).toEqual(['修'.repeat(197), `修${'𠀀'.repeat(99)}`]);
    const item = b.red_list[0]!.items.find((i) => i.name.startsWith('𠀀'))!;
    expect(wellCut(item.name, rare, 100)).toEqual({ wellFormed: true, prefix: true, fits: true });
    // The award's reason (item name：title) fits the entry's 500 units, cut between characters too;
    // so does a reversal's (冲正：reason).
    expect((await g.call(g.va, 'POST', `/api/villages/${g.a}/claims/${claims[0]}/reverse`, { reason: '𠀀'.repeat(300) })).statusCode).toBe(200);
    const reasons = await g.db.query<{ id: string; reason: string }>('SELECT id, reason FROM entries WHERE id LIKE $1 ORDER BY seq', [`gov:${claims[0]}%`]);
    for (const r of reasons) {
      expect({ id: r.id, ...wellCut(r.reason, r.id.endsWith(':reversal') ? `冲正：${'𠀀'.repeat(300)}` : `${rare}：${titles[0]}`, 500) }).toMatchObject({ wellFormed: true, prefix: true, fits: true });
    }
    expect(reasons.map((r) => r.id)).toEqual([`gov:${claims[0]}`, `gov:${claims[0]}:reversal`]);
  });
});
