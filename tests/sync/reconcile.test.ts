/**
 * The daily reconciliation against a real broker and village ledger: a store and its ledger
 * that agree raise nothing; a ledger diverged on purpose (an entry of the store's deleted, a
 * session row lost, points altered) raises the reconcile_mismatch alarm naming exactly the
 * villagers that differ; agreement again clears it. The ledger's answer is signed for the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { AlarmBoard } from '../../edge/ops/alarms.ts';
import { compareTotals, reconcileJob, reconcileWindow, storeTotals } from '../../edge/jobs/reconcile.ts';
import { ledgerTotals } from '../../cloud-sync/ledger/reconcile.ts';
import { opsCheckers, type ReconcileRequest } from '../../cloud-sync/protocol/ops.ts';
import { privateEd25519, signControl } from '../../cloud-sync/protocol/sign.ts';
import { storeTopic } from '../../cloud-sync/protocol/topics.ts';
import { brokerKind, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';
import { SyncMqtt } from '../../cloud-sync/mqtt.ts';
import { stockStore, visit } from './shop.ts';

const log = pino({ level: 'silent' });
const rules = { creditFloor: 0 };
const clock = () => new Date();
const config = { cron: 'off', window_hours: 48, timeout_s: 20 };

describe(`daily reconciliation with the village ledger (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  async function shoppedStore(r: Rig): Promise<TestStore> {
    const s = await r.addStore();
    await waitFor('the store online', () => s.agent.state().connected);
    for (const [id, name] of [['zhang', '张三'], ['li', '李四'], ['wang', '王五']] as const) {
      await r.ledger.putVillager({ id, name, village: r.village, status: 'active' });
      await r.ledger.award(r.village, { id: `open-${id}`, villager: id, kind: 'award', points: 100, created_at: new Date().toISOString() });
    }
    await waitFor('the awards at the store', () => ['zhang', 'li', 'wang'].every((v) => getVillager(s.db, v)?.balance === 100));
    stockStore(s.db);
    expect(visit(s.db, 'zhang', 'sess-z1', 2, rules, clock).settled).toBeDefined();
    expect(visit(s.db, 'li', 'sess-l1', 1, rules, clock).settled).toBeDefined();
    expect(visit(s.db, 'li', 'sess-l2', 3, rules, clock).settled).toBeDefined();
    expect(visit(s.db, 'wang', 'sess-w1', 1, rules, clock).settled).toBeDefined();
    s.agent.kick();
    await waitFor('the outbox drained', () => countOutbox(s.db).pending === 0);
    await r.ledger.idle();
    return s;
  }

  it('agreement raises nothing; a diverged ledger raises one alarm naming the villagers that differ; agreement clears it', async () => {
    rig = await startRig();
    const s = await shoppedStore(rig);
    const alarms = new AlarmBoard(() => s.db, log);
    const job = reconcileJob({ config, db: () => s.db, ask: (req, ms) => s.agent.ops.reconcile(req, ms), alarms });

    const ok = await job.run(new Date());
    expect(ok).toContain('store and village ledger agree (3 villagers)');
    expect(alarms.active()).toEqual([]);
    const { from, to } = reconcileWindow(s.db, new Date(), 48);
    expect(storeTotals(s.db, from, to)).toEqual([
      { villager: 'li', entries: 2, points: -40, redeemed: 40, sessions: 2 },
      { villager: 'wang', entries: 1, points: -10, redeemed: 10, sessions: 1 },
      { villager: 'zhang', entries: 1, points: -20, redeemed: 20, sessions: 1 },
    ]);

    // the ledger diverges: it holds a redemption of li's said to come from this store that the
    // store never made (30 hours ago), and it lost zhang's session row; wang's are untouched
    const ago30h = new Date(Date.now() - 30 * 3_600_000).toISOString();
    await rig.ledgerDb.run(
      `INSERT INTO entries (id, village, villager_id, kind, points, reference, reason, origin_store, created_at, received_at)
       VALUES ($1, $2, 'li', 'redemption', -7, NULL, NULL, $3, $4, $4)`,
      ['stray-1', rig.village, s.id, ago30h],
    );
    await rig.ledgerDb.run("DELETE FROM acked_ids WHERE topic = 'session' AND payload LIKE '%sess-z1%'");
    const diffs = compareTotals(storeTotals(s.db, from, to), await ledgerTotals(rig.ledgerDb, rig.village, s.id, from, to));
    expect(diffs.map((d) => d.villager)).toEqual(['li', 'zhang']);
    expect(diffs[0]).toEqual({ villager: 'li', store: { entries: 2, points: -40, redeemed: 40, sessions: 2 }, ledger: { entries: 3, points: -47, redeemed: 47, sessions: 2 } });

    const detail = await job.run(new Date());
    expect(detail).toContain('2 villagers differ');
    const active = alarms.active();
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({ kind: 'reconcile_mismatch', severity: 'critical' });
    expect(active[0]!.detail).toContain('li (store 2 entries -40 pts, redeemed 40, 2 sessions; ledger 3 entries -47 pts, redeemed 47, 2 sessions)');
    expect(active[0]!.detail).toContain('zhang (store 1 entries -20 pts, redeemed 20, 1 sessions; ledger 1 entries -20 pts, redeemed 20, 0 sessions)');
    expect(active[0]!.detail).not.toContain('wang');
    expect(active[0]!.detail).toContain('对账不一致的村民：li、zhang');

    // zhang's session row is sent again (a ledger restored from an older copy gets the store's
    // rows again): the same alarm, seen again, now naming li alone
    await rig.ledgerDb.run('DELETE FROM acked_ids WHERE store = $1', [s.id]);
    await rig.ledgerDb.run('UPDATE stores SET contiguous_seq = 0 WHERE id = $1', [s.id]);
    s.db.prepare('UPDATE outbox SET acked_at = NULL').run();
    s.agent.kick();
    await waitFor('the outbox drained again', () => countOutbox(s.db).pending === 0, 60_000);
    await rig.ledger.idle();
    expect(await job.run(new Date())).toContain('1 villagers differ: li');
    expect(alarms.active()).toMatchObject([{ kind: 'reconcile_mismatch', seen: 2 }]);
    expect(alarms.active()[0]!.detail).not.toContain('zhang');

    // a window that no longer reaches the stray entry agrees, and the alarm clears
    const recent = reconcileJob({ config: { ...config, window_hours: 24 }, db: () => s.db, ask: (req, ms) => s.agent.ops.reconcile(req, ms), alarms });
    expect(await recent.run(new Date())).toContain('agree');
    expect(alarms.active()).toEqual([]);
  }, 120_000);

  it('an answer not signed by the ledger for this store is refused, and the run fails when no good answer comes', async () => {
    rig = await startRig();
    const s = await rig.addStore();
    await waitFor('the store online', () => s.agent.state().connected);
    await rig.stopLedger();
    const forger = await publisher(rig);
    const job = reconcileJob({ config: { ...config, timeout_s: 2 }, db: () => s.db, ask: (req, ms) => {
      const p = s.agent.ops.reconcile(req, ms);
      // someone on the broker answers in the ledger's place, unsigned
      const forged = { id: req.id, from: req.from, to: req.to, villagers: [] };
      expect(opsCheckers.reconcileAnswer.Check(forged)).toBe(true);
      void forger.publish(storeTopic({ village: rig!.village, store: s.id }, 'down/reconcile'), JSON.stringify(forged));
      return p;
    } });
    await expect(job.run(new Date())).rejects.toThrow(/did not answer the reconciliation/);
    expect(s.agent.refusals.toJSON()).toMatchObject({ unsigned: 1 });
    await forger.stop();
  }, 60_000);

  it('a signed answer to another question (another window, or an earlier run\'s answer published again) is refused and counted, never compared', async () => {
    rig = await startRig();
    const s = await rig.addStore();
    await waitFor('the store online', () => s.agent.state().connected);
    await rig.stopLedger();
    const forger = await publisher(rig);
    const topic = storeTopic({ village: rig.village, store: s.id }, 'down/reconcile');
    const key = privateEd25519('ledger-1', rig.ledgerKey.privatePem);
    // what the ledger signed for this store once: for the window asked then, or another
    const signed = (id: string, from: string, to: string) => JSON.stringify(signControl({ id, from, to, villagers: [] }, { village: rig!.village, store: s.id }, key));
    const asked: ReconcileRequest[] = [];
    const answering = (answer: (req: ReconcileRequest) => string) => (req: ReconcileRequest, ms: number) => {
      asked.push(req);
      const p = s.agent.ops.reconcile(req, ms);
      void forger.publish(topic, answer(req));
      return p;
    };
    const now = new Date();

    // the ledger's signature over the question's id, but the totals of a day earlier
    const dayEarlier = (t: string) => new Date(Date.parse(t) - 86_400_000).toISOString();
    const shifted = reconcileJob({ config: { ...config, timeout_s: 2 }, db: () => s.db, ask: answering((req) => signed(req.id, dayEarlier(req.from), dayEarlier(req.to))) });
    await expect(shifted.run(now)).rejects.toThrow(/did not answer the reconciliation/);
    expect(s.agent.refusals.toJSON()).toMatchObject({ replayed: 1 });

    // a run answered; then, at the same moment, one over another window gets that answer again
    const first = reconcileJob({ config, db: () => s.db, ask: answering((req) => signed(req.id, req.from, req.to)) });
    expect(await first.run(now)).toContain('agree');
    const recorded = asked.at(-1)!;
    const again = reconcileJob({ config: { ...config, window_hours: 24, timeout_s: 2 }, db: () => s.db, ask: answering(() => signed(recorded.id, recorded.from, recorded.to)) });
    await expect(again.run(now)).rejects.toThrow(/did not answer the reconciliation/);
    expect(asked.at(-1)!.id).not.toBe(recorded.id);
    expect(s.agent.refusals.toJSON()).toMatchObject({ replayed: 2 });
    await forger.stop();
  }, 60_000);

  it("the store's active alarms reach the village on a retained topic, for a dashboard that subscribes later too", async () => {
    rig = await startRig();
    const s = await rig.addStore();
    await waitFor('the store online', () => s.agent.state().connected);
    const at = new Date().toISOString();
    s.agent.ops.publishAlarms({ at, active: [{ id: 1, kind: 'scale_fault', subject: 'A1', severity: 'warning', detail: 'scale A1: the scale module does not answer', raised_at: at, last_seen_at: at, seen: 1 }] });
    s.agent.ops.publishAlarms({ at, active: [] });
    s.agent.ops.publishAlarms({ at, active: [{ id: 2, kind: 'disk_low', subject: '/data', severity: 'critical', detail: '80 MiB free', raised_at: at, last_seen_at: at, seen: 1 }] });
    // a dashboard that subscribes afterwards gets the latest list at once (retained)
    const dashboard = new SyncMqtt({ url: rig.broker.url, clientId: uid('dashboard-'), persistentSession: false });
    const got: string[] = [];
    dashboard.on('message', (_t, p) => got.push(p.toString()));
    dashboard.start([storeTopic({ village: rig.village, store: '+' }, 'alarms')]);
    await waitFor('the retained alarms', () => got.length >= 1);
    const msg = JSON.parse(got[0]!) as unknown;
    expect(opsCheckers.alarms.Check(msg)).toBe(true);
    expect((msg as { active: Array<{ kind: string }> }).active.map((a) => a.kind)).toEqual(['disk_low']);
    await dashboard.stop();
  }, 60_000);
});
