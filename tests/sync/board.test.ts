/**
 * The public board's message (kind `board`, `vps/v1/<village>/down/board`): the store takes only
 * a board signed by a ledger key it trusts, for its own village, of a known format, unexpired,
 * and newer than the one it keeps; the same one again (the broker's retained copy) changes
 * nothing; an older one is a replay. Then end to end over the broker: the ledger's publisher
 * sends a board when something changes, the broker retains it for a store that connects later,
 * and the store keeps it across a restart.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { loadBoard } from '../../edge/ledger/board.ts';
import { BoardInbox } from '../../cloud-sync/agent/board.ts';
import { RefusalCounter } from '../../cloud-sync/protocol/refusals.ts';
import { keyRing, newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { BOARD_FORMAT, type BoardBody } from '../../cloud-sync/protocol/board.ts';
import type { Envelope } from '../../cloud-sync/protocol/payloads.ts';
import { InboundStream } from '../../cloud-sync/agent/inbound.ts';
import { BoardPublisher } from '../../cloud-sync/ledger/board/publisher.ts';
import { silentLogger } from '../../edge/log.ts';
import { startRig, waitFor, brokerKind, ledgerDbKind, type Rig } from '../../harness/sync/rig.ts';
import { tempLedger } from '../ledger/helpers.ts';

const ledgerKey = newKeyPair();
const key = privateEd25519('ledger-1', ledgerKey.privatePem);
const keys = keyRing([{ id: 'ledger-1', pem: ledgerKey.publicPem }]);

const body = (over: Partial<BoardBody> = {}): BoardBody => ({
  format: BOARD_FORMAT,
  village: { id: 'v1', name: '示范村' },
  month: '2026-12',
  computed_at: new Date().toISOString(),
  published: { red_list: true, deeds: true, totals: true },
  red_list: [{ rank: 1, villager: 'zhang', name: '张三', masked: false, points: 32, items: [{ name: '清扫街巷', count: 2 }] }],
  deeds: [{ title: '清理河道垃圾', village: '示范村', points: 8, date: '2026-12-01' }],
  totals: { issued: 80, redeemed: 12, deeds: 5, participants: 3, villagers: 4 },
  ...over,
});

function board(version: number, b: unknown = body(), over: Partial<Envelope> = {}, signWith = key): Envelope {
  const now = Date.now();
  return signEnvelope({ v: 1, id: `board:v1:${version}`, kind: 'board', village: 'v1', seq: version, issued_at: new Date(now).toISOString(), expires_at: new Date(now + 86_400_000).toISOString(), body: b, ...over }, signWith);
}
const wire = (e: unknown) => Buffer.from(JSON.stringify(e));

describe('the store takes a board only when it is signed, its own, current and newer', () => {
  let ledger: ReturnType<typeof tempLedger>;
  let refusals: RefusalCounter;
  let inbox: BoardInbox;
  beforeAll(() => {
    ledger = tempLedger();
  });
  afterAll(() => {
    if (ledger.db.open) closeLedger(ledger.db);
    ledger.cleanup();
  });
  const fresh = () => {
    ledger.db.prepare("DELETE FROM meta WHERE key = 'board.last'").run();
    refusals = new RefusalCounter();
    inbox = new BoardInbox({ db: () => ledger.db, village: 'v1', keys: () => keys, clock: () => new Date(), skewMs: 60_000, refusals });
  };

  it('keeps a newer board, ignores the same one again, refuses an older one as a replay', () => {
    fresh();
    expect(inbox.receive(wire(board(100)))).toEqual({ kind: 'applied', version: 100 });
    expect(loadBoard(ledger.db)).toMatchObject({ version: 100, body: { red_list: [{ name: '张三' }] } });
    // the broker's retained copy, at every reconnect: nothing changes, nothing is counted
    expect(inbox.receive(wire(board(100)))).toEqual({ kind: 'same', version: 100 });
    expect(refusals.total()).toBe(0);
    const newer = board(200, body({ red_list: [] }));
    expect(inbox.receive(wire(newer))).toEqual({ kind: 'applied', version: 200 });
    // the first board again, captured and replayed: refused, the newer one stays
    expect(inbox.receive(wire(board(100)))).toMatchObject({ kind: 'refused', reason: 'replayed' });
    expect(refusals.get('replayed')).toBe(1);
    expect(loadBoard(ledger.db)).toMatchObject({ version: 200, body: { red_list: [] } });
  });

  it('keeps the count of a place the 50 rows could not carry, and refuses one that names who they are', () => {
    fresh();
    const tied = Array.from({ length: 50 }, (_, i) => ({ rank: 1, villager: `p${i}`, name: `村民${i}`, masked: false, points: 2, items: [] }));
    expect(inbox.receive(wire(board(100, body({ red_list: tied, red_list_more: { rank: 1, points: 2, count: 70 } }))))).toEqual({ kind: 'applied', version: 100 });
    expect(loadBoard(ledger.db)?.body).toMatchObject({ red_list: { length: 50 }, red_list_more: { rank: 1, points: 2, count: 70 } });
    const named = body({ red_list: tied, red_list_more: { rank: 1, points: 2, count: 70, villagers: ['p50'] } as never });
    expect(inbox.receive(wire(board(200, named)))).toMatchObject({ kind: 'refused', reason: 'invalid' });
    expect(inbox.receive(wire(board(200, body({ red_list: [...tied, { ...tied[0]!, villager: 'p50' }] }))))).toMatchObject({ kind: 'refused', reason: 'invalid' });
  });

  it('refuses an unsigned, forged, tampered, expired or misdirected board and keeps the one it has', () => {
    fresh();
    inbox.receive(wire(board(100)));
    const { sig: _s, ...unsigned } = board(300);
    const tampered = board(300);
    (tampered.body as BoardBody).red_list[0]!.name = '李四';
    const old = Date.now() - 3 * 86_400_000;
    const cases: Array<[string, unknown, string]> = [
      ['unsigned', unsigned, 'unsigned'],
      ['signed by an unknown key', board(300, body(), {}, privateEd25519('ledger-1', newKeyPair().privatePem)), 'forged'],
      ['changed after signing', tampered, 'forged'],
      ['expired', board(300, body(), { issued_at: new Date(old).toISOString(), expires_at: new Date(old + 3_600_000).toISOString() }), 'expired'],
      ['for another village', board(300, body(), { village: 'v2' }), 'invalid'],
      ['a body naming another village', board(300, body({ village: { id: 'v2', name: '别村' } })), 'invalid'],
      ['a balance slipped into a line', board(300, body({ red_list: [{ rank: 1, villager: 'zhang', name: '张三', masked: false, points: 32, items: [], balance: 500 } as never] })), 'invalid'],
      ['an unknown format', board(300, { ...body(), format: 2 }), 'invalid'],
      ['another kind on the board topic', { ...board(300), kind: 'entry' }, 'forged'],
      ['not JSON', 'not json', 'invalid'],
    ];
    for (const [what, msg, reason] of cases) {
      const r = inbox.receive(typeof msg === 'string' ? Buffer.from(msg) : wire(msg));
      expect({ what, r }).toMatchObject({ what, r: { kind: 'refused', reason } });
    }
    expect(refusals.total()).toBe(cases.length);
    expect(loadBoard(ledger.db)?.version).toBe(100);
    // a correctly signed envelope of another kind on this topic
    const entry = signEnvelope({ v: 1, id: 'e', kind: 'entry', village: 'v1', seq: 400, issued_at: new Date().toISOString(), expires_at: new Date(Date.now() + 60_000).toISOString(), body: {} }, key);
    expect(inbox.receive(wire(entry))).toMatchObject({ kind: 'refused', reason: 'invalid' });
  });

  it('a board on the village stream is refused there: it has its own topic and order', () => {
    const r = new RefusalCounter();
    const stream = new InboundStream({ db: () => ledger.db, address: { village: 'v1', store: 's1' }, keys: () => keys, rules: { creditFloor: 0 }, clock: () => new Date(), skewMs: 60_000, refusals: r, onResyncWanted: () => undefined, snapshotPending: () => false });
    expect(stream.receive(wire(board(1)), 'events')).toMatchObject([{ kind: 'refused', reason: 'invalid' }]);
  });

  it('keeps the board across a restart of the store', () => {
    fresh();
    inbox.receive(wire(board(500)));
    closeLedger(ledger.db);
    const again: Db = openLedger(ledger.file);
    try {
      expect(loadBoard(again)).toMatchObject({ version: 500, body: { deeds: [{ title: '清理河道垃圾' }] } });
    } finally {
      closeLedger(again);
      ledger.db = openLedger(ledger.file);
    }
  });
});

describe(`the ledger's boards reach the stores (${brokerKind}, ${ledgerDbKind})`, () => {
  let rig: Rig;
  let publisher: BoardPublisher;
  beforeAll(async () => {
    rig = await startRig();
    publisher = new BoardPublisher({ db: rig.ledgerDb, key: privateEd25519('ledger-1', rig.ledgerKey.privatePem), publish: (v, e) => rig.ledger.publishBoard(v, e), log: silentLogger(), checkMs: 50, refreshMs: 60_000 });
  });
  afterEach(async () => {
    await publisher.stop();
  });
  afterAll(async () => {
    await rig.close();
  });

  it('sends a board on change, retained for a store that connects later, and nothing twice', async () => {
    const first = await rig.addStore();
    await waitFor('the store to connect', () => first.agent.state().connected);
    publisher.start();
    await waitFor('the first board at the store', () => loadBoard(first.db) !== undefined);
    const v1 = loadBoard(first.db)!;
    expect(v1.body.village).toEqual({ id: rig.village, name: '示范村' });
    // nothing changed: the next passes send nothing
    await publisher.tick();
    await publisher.tick();
    expect(await publisher.publishVillage(rig.village)).toEqual({ published: false });
    // a store that connects now has the retained board at once
    const late = await rig.addStore();
    await waitFor('the retained board at the late store', () => loadBoard(late.db)?.version === v1.version);
    // something changes at the ledger: a new board, a higher version, at both stores
    await rig.ledger.putVillager({ id: 'zhang', name: '张三', village: rig.village, status: 'active' });
    await waitFor('the new board at both stores', () => [first, late].every((s) => (loadBoard(s.db)?.version ?? 0) > v1.version));
    // a restarted store gets the retained copy again: the same board, nothing refused
    await late.stop();
    await late.restart();
    await waitFor('the late store to reconnect', () => late.agent.state().connected);
    // the broker delivers the retained copy on subscribing, before anything published later:
    // once the next board is here, the retained one has been handled
    const kept = loadBoard(late.db)!.version;
    await rig.ledger.putVillager({ id: 'li', name: '李四', village: rig.village, status: 'active' });
    // each store gets it in its own time: wait until both hold the same, newer board
    await waitFor('the next board at both stores, the same', () => {
      const v = loadBoard(late.db)?.version ?? 0;
      return v > kept && loadBoard(first.db)?.version === v;
    });
    // (a stream event redelivered by the persistent session may count as replayed; a board never is refused)
    expect(late.agent.refusals.toJSON()).toMatchObject({ unsigned: 0, forged: 0, expired: 0, invalid: 0 });
    expect(loadBoard(late.db)?.body).toEqual(loadBoard(first.db)?.body);
  });
});
