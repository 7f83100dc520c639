/**
 * Faults: duplicated and reordered deliveries both ways, the broker restarted during a drain,
 * and the store SIGKILLed mid-drain. After each, the store's balance equals the ledger's and
 * no entry exists twice.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { loadOrCreateStoreKey } from '../../cloud-sync/agent/identity.ts';
import { signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { storeTopic, villageEventsTopic } from '../../cloud-sync/protocol/topics.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { balanceOf } from '../../cloud-sync/ledger/tables.ts';
import { brokerKind, brokerRestartable, ledgerDbKind, publisher, startRig, uid, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';

const at = () => new Date().toISOString();

async function ledgerEntries(rig: Rig): Promise<{ n: number; distinct: number }> {
  const r = await rig.ledgerDb.query<{ n: number | string; d: number | string }>('SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d FROM entries WHERE village = $1', [rig.village]);
  return { n: Number(r[0]!.n), distinct: Number(r[0]!.d) };
}

async function villagerWith(rig: Rig, points: number, ...stores: TestStore[]): Promise<void> {
  await waitFor('stores online', () => stores.every((s) => s.agent.state().connected));
  await rig.ledger.putVillager({ id: 'wang', name: '王五', village: rig.village, status: 'active' });
  await rig.ledger.award(rig.village, { id: uid('aw-'), villager: 'wang', kind: 'award', points, created_at: at() });
  await waitFor('the award in the stores', () => stores.every((s) => getVillager(s.db, 'wang')?.balance === points));
}

describe(`sync faults (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(async () => {
    await rig.close();
  });

  it('the village stream delivered twice and backwards changes nothing; each old one is counted as replayed', async () => {
    const s = await rig.addStore();
    await villagerWith(rig, 50, s);
    await rig.ledger.award(rig.village, { id: 'aw-x', villager: 'wang', kind: 'award', points: 7, created_at: at() });
    await waitFor('second award', () => getVillager(s.db, 'wang')?.balance === 57);
    const events = await rig.ledgerDb.query<{ envelope: string }>('SELECT envelope FROM events WHERE village = $1 ORDER BY seq DESC', [rig.village]);
    const m = await publisher(rig);
    for (const e of [...events, ...events]) await m.publish(villageEventsTopic(rig.village), e.envelope);
    await waitFor('every copy refused as replayed', () => s.agent.refusals.get('replayed') === events.length * 2);
    expect(getVillager(s.db, 'wang')?.balance).toBe(57);
    await m.stop();
  });

  it('store rows delivered twice and out of order are applied once; the gap is seen and closes', async () => {
    const s = await rig.addStore();
    await villagerWith(rig, 100, s);
    await s.stop(); // the test plays the store's part on the wire
    const key = loadOrCreateStoreKey(s.dir, 'store');
    const row = (seq: number): Row => ({ id: `${s.id}:${seq}`, seq, topic: 'entry', payload: { id: `r-${seq}`, villager: 'wang', kind: 'redemption', points: -seq, created_at: at() }, created_at: at() });
    const batch = (seqs: number[]) => JSON.stringify(signEnvelope({ v: 1, id: uid('b'), kind: 'rows', village: rig.village, store: s.id, seq: seqs[0]!, issued_at: at(), expires_at: new Date(Date.now() + 60_000).toISOString(), body: { rows: seqs.map(row) } }, key));
    const m = await publisher(rig);
    for (const seqs of [[3, 4], [1], [3, 4], [2], [1, 2, 3, 4]]) await m.publish(storeTopic({ village: rig.village, store: s.id }, 'up/rows'), batch(seqs));
    await waitFor('all batches handled', () => rig.ledger.counters.rows + rig.ledger.counters.duplicates === 10);
    expect(rig.ledger.counters).toMatchObject({ rows: 4, duplicates: 6 });
    expect(rig.ledger.counters.gaps).toBeGreaterThanOrEqual(1);
    expect(await balanceOf(rig.ledgerDb, 'wang')).toBe(100 - 1 - 2 - 3 - 4);
    const st = await rig.ledgerDb.query<{ contiguous_seq: number | string }>('SELECT contiguous_seq FROM stores WHERE village = $1 AND id = $2', [rig.village, s.id]);
    expect(Number(st[0]!.contiguous_seq)).toBe(4);
    expect(await ledgerEntries(rig)).toEqual({ n: 5, distinct: 5 });
    await m.stop();
  });

  it(`the broker restarted during a drain loses nothing and duplicates nothing${brokerRestartable ? '' : ' (this broker cannot be restarted from here)'}`, async () => {
    const a = await rig.addStore();
    const b = await rig.addStore();
    await villagerWith(rig, 1000, a, b);
    for (let i = 0; i < 300; i++) applyEntry(a.db, { id: `r-${i}`, villagerId: 'wang', kind: 'redemption', points: -1, origin: 'store' }, { creditFloor: 0 });
    for (let restart = 0; restart < 5; restart++) {
      const before = countOutbox(a.db).pending;
      await waitFor('some progress', () => countOutbox(a.db).pending < before || before === 0, 120_000);
      await rig.broker.stop();
      await rig.broker.start();
    }
    await waitFor('drained', () => countOutbox(a.db).pending === 0, 120_000);
    await waitFor('ledger and both stores agree', async () => (await balanceOf(rig.ledgerDb, 'wang')) === 700 && getVillager(b.db, 'wang')?.balance === 700, 120_000);
    expect(getVillager(a.db, 'wang')?.balance).toBe(700);
    expect(await ledgerEntries(rig)).toEqual({ n: 301, distinct: 301 });
  }, 360_000);

  it('a store SIGKILLed mid-drain resumes from its outbox', async () => {
    const s = await rig.addStore();
    await villagerWith(rig, 5000, s);
    await s.stop();
    for (let i = 0; i < 600; i++) applyEntry(s.db, { id: `k-${i}`, villagerId: 'wang', kind: 'redemption', points: -1, origin: 'store' }, { creditFloor: 0 });
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'drain-child.ts'), s.dir, rig.village, s.id, rig.broker.url, rig.ledgerKey.publicPem], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
    await waitFor('the child draining', async () => (await balanceOf(rig.ledgerDb, 'wang')) < 5000, 60_000);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(countOutbox(s.db).pending).toBeGreaterThan(0);
    await s.restart();
    await waitFor('drained after the restart', () => countOutbox(s.db).pending === 0, 240_000);
    expect(await balanceOf(rig.ledgerDb, 'wang')).toBe(4400);
    expect(getVillager(s.db, 'wang')?.balance).toBe(4400);
    expect(await ledgerEntries(rig)).toEqual({ n: 601, distinct: 601 });
  }, 360_000);
});
