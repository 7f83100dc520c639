/**
 * `ledger_silent` goes by time, not by heartbeats counted: raised when the store has been
 * connected for longer than `silentAfterMs(sync.heartbeat_s)` (cloud-sync/agent/silence.ts)
 * with no fresh beat nor ack from the village ledger. A broker that flaps, or a ledger away for a
 * few heartbeats, raises nothing; time disconnected does not count (that is offline, another
 * status). The store's clock is the agent's injected one, moved past the bound by the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { healthLine } from '../../cloud-sync/agent/state.ts';
import { silentAfterMs } from '../../cloud-sync/agent/silence.ts';
import { brokerKind, brokerRestartable, ledgerDbKind, startRig, waitFor, type Rig, type TestStore } from '../../harness/sync/rig.ts';

/** The rig's stores beat every second (fastSync): the bound is then its floor. */
const BOUND_MS = silentAfterMs(1);

interface Watched { s: TestStore; alarms: Array<string | undefined>; raised: () => number; jump: (ms: number) => void; now: () => number }

async function watchedStore(rig: Rig): Promise<Watched> {
  let offsetMs = 0;
  const clock = (): Date => new Date(Date.now() + offsetMs);
  const alarms: Array<string | undefined> = [];
  const s = await rig.addStore(undefined, { heartbeat_s: 1 }, clock, { ledgerSilent: (d) => alarms.push(d) });
  await waitFor('the store heard by the ledger', () => s.agent.state().connected && s.agent.state().last_contact !== null);
  return { s, alarms, raised: () => alarms.filter((d) => d !== undefined).length, jump: (ms) => { offsetMs += ms; }, now: () => clock().getTime() };
}

/** The ledger answered a heartbeat sent after `since` (the store's clock; contact is noted at most once a second). */
const answeredSince = (w: Watched, since: number): boolean => Date.parse(w.s.agent.state().last_contact ?? '') > since;

/** `n` heartbeats went out with no answer since the last (each one second apart: real time, well within the bound). */
const unanswered = (w: Watched, n: number): Promise<void> => waitFor(`${n} heartbeats unanswered`, () => (w.s.agent.state().unanswered_heartbeats ?? 0) >= n);

describe(`ledger_silent by time (${brokerKind} + ${ledgerDbKind})`, () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it(`a broker that flaps, the ledger answering in between, and a ledger away for a few heartbeats raise nothing${brokerRestartable ? '' : ' (this broker cannot be restarted from here: no flapping)'}`, async () => {
    rig = await startRig();
    const w = await watchedStore(rig);
    if (brokerRestartable) {
      for (let flap = 0; flap < 4; flap++) {
        const at = w.now();
        await rig.broker.stop();
        await rig.broker.start();
        await waitFor('connected again, and answered', () => w.s.agent.state().connected && answeredSince(w, at));
      }
    }
    // the ledger away for 5 heartbeats (seconds, far within the bound), then back
    await rig.stopLedger();
    await unanswered(w, 5);
    expect(healthLine(w.s.agent.state()).status).toBe('ok');
    const at = w.now();
    rig.startLedger();
    await waitFor('answered again', () => answeredSince(w, at) && w.s.agent.state().unanswered_heartbeats === 0);
    expect(w.raised()).toBe(0);
  }, 120_000);

  it('a ledger silent past the bound raises it once; its answer clears it; not again until the bound passes again; time disconnected does not count', async () => {
    rig = await startRig();
    const r = rig;
    const w = await watchedStore(r);
    await r.stopLedger();
    await unanswered(w, 4);
    expect(w.raised()).toBe(0);

    w.jump(BOUND_MS + 1000);
    await waitFor('raised', () => w.raised() === 1);
    const line = healthLine(w.s.agent.state());
    expect(line.status).toBe('degraded');
    expect(line.detail).toContain('the village ledger does not answer this store');
    expect(line.detail).toContain('村账本不应答本店');
    // silent on: still one alarm
    const n = w.s.agent.state().unanswered_heartbeats ?? 0;
    await unanswered(w, n + 3);
    expect(w.raised()).toBe(1);

    // the ledger back: its first answer clears it
    r.startLedger();
    await waitFor('cleared', () => w.alarms.at(-1) === undefined && healthLine(w.s.agent.state()).status === 'ok');
    // away again for a few heartbeats, within the bound: not raised again
    await r.stopLedger();
    await unanswered(w, 4);
    expect(w.raised()).toBe(1);
    expect(healthLine(w.s.agent.state()).status).toBe('ok');

    if (brokerRestartable) {
      // the broker down for longer than the bound: offline, not the ledger silent
      const sent = w.s.agent.state().unanswered_heartbeats ?? 0;
      await r.broker.stop();
      await waitFor('disconnected', () => !w.s.agent.state().connected);
      w.jump(BOUND_MS + 1000);
      await r.broker.start();
      // the agent told of the reconnect: its count of heartbeats starts again
      await waitFor('connected again', () => w.s.agent.state().connected && (w.s.agent.state().unanswered_heartbeats ?? 0) < sent);
      await unanswered(w, 3);
      expect(w.raised()).toBe(1);
      expect(healthLine(w.s.agent.state()).status).toBe('ok');
    }
    // once connected and silent past the bound: raised again
    w.jump(BOUND_MS + 1000);
    await waitFor('raised again', () => w.raised() === 2);
    r.startLedger();
    await waitFor('cleared again', () => w.alarms.at(-1) === undefined && healthLine(w.s.agent.state()).status === 'ok');
  }, 120_000);
});
