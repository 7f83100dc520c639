/**
 * The scenario runner in process mode: the daemon as a child process (`store-edge start`), the
 * hardware in the sim-hardware process, power cuts by SIGKILL. One sim-hardware process serves
 * every run of this file (the runner restores it to empty shelves and a shut door each time).
 */
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenario, type Scenario } from '../../harness/scenario/scenario.ts';
import { runScenario, type SimulationResult } from '../../harness/scenario/run.ts';
import { invariants } from './invariants.ts';
import { runScenarioInProcesses, startScenarioHardware, type ScenarioHardware } from '../../harness/scenario/run-process.ts';

/**
 * A safety net, not a measure: a process-mode run boots the daemon (twice with a power cut),
 * a few seconds on an idle machine but over a minute on a loaded 2-core one.
 */
const RUN_MS = 240_000;

const load = (name: string): Scenario => loadScenario(path.join('fixtures/scenarios', `${name}.yaml`));

let hw: ScenarioHardware;
beforeAll(async () => {
  hw = await startScenarioHardware(load('two-villagers'));
  // a safety net above spawnSimHardware's own (tsx compiles the child first: over 20 s at load 25)
}, 200_000);
afterAll(async () => {
  await hw?.sim.stop();
});

const inProcesses = (name: string): Promise<SimulationResult> => runScenarioInProcesses(load(name), { hardware: hw });

/** Connections the daemon side has opened to the relay board so far: one per daemon process. */
const lockConnections = async (): Promise<number> => (await hw.sim.client.state()).connections.lock;

/** The result without what differs from run to run (session ids, timings). */
function comparable(r: SimulationResult) {
  const ids = new Map(r.sessions.map((s, i) => [s.id, `session${i}`]));
  const anon = (id: string): string => id.replace(/[0-9a-f-]{36}/, (m) => ids.get(m) ?? m);
  return {
    balances: r.balances,
    debts: r.debts,
    sessions: r.sessions.map(({ id, ...rest }) => ({ ...rest, id: anon(id) })),
    refused: r.refused,
    inventory: r.inventory,
    entries: r.entries.map((e) => ({ ...e, id: anon(e.id) })),
    receipts: r.receipts.map((x) => ({ session: anon(x.session), villager: x.villager, text: x.text })),
    announcements: r.announcements,
    power_cuts: r.power_cuts,
    invariants: r.invariants,
  };
}


describe('process mode gives the same results as in-process mode', () => {
  it.each(['two-villagers', 'wrong-slot-return', 'balance-too-small', 'restock', 'take-two-return-one'])('%s', async (name) => {
    const [inside, apart] = await Promise.all([runScenario(load(name)), inProcesses(name)]);
    invariants(apart);
    expect(comparable(apart)).toEqual(comparable(inside));
    // not a vacuous comparison: every one of these sells or restocks something
    expect(apart.sessions.length).toBeGreaterThan(0);
  }, RUN_MS);

  it('faces through the watched camera folder: an unknown face is refused, an enrolled one opens the door', async () => {
    const [inside, apart] = await Promise.all([runScenario(load('unknown-face-then-card')), inProcesses('unknown-face-then-card')]);
    invariants(apart);
    expect(apart.refused).toEqual([{ villager: 'sun', reason: 'unknown', step: 1 }]);
    expect(comparable(apart)).toEqual(comparable(inside));
  }, 2 * RUN_MS);
});

describe('a real power cut: SIGKILL of the daemon, the hardware process runs on', () => {
  it.each(['entering', 'shopping', 'exiting'])('while %s: a new daemon resumes and settles exactly once', async (phase) => {
    const before = await lockConnections();
    const r = await inProcesses(`power-cut-${phase}`);
    // two daemon processes reached the relay board: the one killed and the one after it
    expect((await lockConnections()) - before).toBe(2);
    invariants(r);
    expect(r.power_cuts).toEqual([{ step: expect.any(Number) as number, phase }]);
    expect(r.balances).toEqual({ zhang: 14 });
    expect(r.sessions.map((s) => ({ villager: s.villager, status: s.status, total: s.total_points, lines: s.lines.map((l) => `${l.sku}×${l.count}`), review: s.review }))).toEqual([{ villager: 'zhang', status: 'settled', total: 36, lines: ['salt×2', 'oil×1'], review: [] }]);
    expect(r.entries).toEqual([{ id: `redemption:${r.sessions[0]?.id}`, villager: 'zhang', kind: 'redemption', points: -36 }]);
    expect(r.receipts.map((x) => x.text)).toEqual(['张三，您好！本次兑换：食盐 ×2（6 分）、菜籽油 ×1（30 分），共 36 分。剩余积分 14 分。谢谢光临！']);
    expect(r.inventory).toEqual({ oil: 2, salt: 4, soap: 5 });
  }, RUN_MS);

  it('a cut while settling is refused in process mode (no signal can time it), naming the step', async () => {
    await expect(inProcesses('power-cut-settling')).rejects.toThrow('step 1 (power_cut): a cut while settling cannot be timed by a signal');
  });

  it('a cut armed for a phase the session never reaches fails the run, naming the step', async () => {
    const s = load('two-villagers');
    await expect(runScenarioInProcesses({ ...s, steps: [{ kind: 'power_cut', when: 'restocking' }] }, { hardware: hw }))
      .rejects.toThrow('step 1 (power_cut when: restocking): the session never reached restocking by the end of the run');
  }, RUN_MS);
});

describe('a daemon that does not start', () => {
  let busy: Server;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it('fails the run with the tail of its log, and leaves no child behind', async () => {
    const port = (busy.address() as { port: number }).port;
    const before = await lockConnections();
    const err = await runScenarioInProcesses(load('two-villagers'), { hardware: hw, config: { http: { port } } }).then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/the store daemon \(.*store-edge\.yaml\) could not start its http; last lines of its log:\n/);
    expect(err?.message).toContain('EADDRINUSE');
    // it got as far as the hardware, then it was gone: the relay board has no host now
    expect((await lockConnections()) - before).toBe(1);
    expect((await hw.sim.client.state()).connected.lock).toBe(false);
  }, RUN_MS);
});
