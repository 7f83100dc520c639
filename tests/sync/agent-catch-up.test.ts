/**
 * When the store asks the ledger for the stream, and when it stops (cloud-sync/agent/catch-up.ts),
 * on a clock of the test's own: no broker, no ledger.
 */
import { describe, expect, it } from 'vitest';
import { CatchUp } from '../../cloud-sync/agent/catch-up.ts';
import type { SnapshotRequest } from '../../cloud-sync/protocol/payloads.ts';

function rig(inbound = 5, owed = { resync: false }, opts: { partWaitMs?: number; applying?: () => boolean } = {}) {
  let now = 1_000_000;
  let held = 0;
  const asks: SnapshotRequest[] = [];
  const counters = { asked: 0, checked: 0, dropped: 0 };
  let checks = 0;
  const c = new CatchUp({ check: () => void checks++,
    clock: () => new Date(now), retransmitMs: 2000, partWaitMs: opts.partWaitMs ?? 1000, horizonMs: 60_000, ...(opts.applying ? { applying: opts.applying } : {}),
    inboundSeq: () => inbound, heldCount: () => held, resyncOwed: () => owed.resync, ask: (r) => { expect(r.accepts).toEqual(['catalogue', 'parts']); asks.push({ from_seq: r.from_seq, reason: r.reason }); }, counters,
  });
  return {
    c, asks, counters,
    checks: () => checks,
    at: () => now,
    pass: (ms: number) => {
      now += ms;
      c.tick();
    },
    hold: (n: number) => (held = n),
  };
}

describe('catching up with the village stream', () => {
  it('a reconnect with no beat within retransmit_ms asks (the fallback); a level beat since the ask ends the asking', () => {
    const r = rig();
    r.c.onConnect();
    r.pass(1999);
    expect(r.asks).toEqual([]);
    r.pass(1);
    expect(r.asks).toEqual([{ from_seq: 5, reason: 'gap' }]);
    // Unanswered, it is asked again each retransmit_ms ...
    r.pass(2000);
    expect(r.asks).toHaveLength(2);
    // ... until a beat answering a heartbeat sent after the ask shows the stream not ahead.
    r.c.onBeat(5, r.at());
    r.pass(2000);
    r.pass(2000);
    expect(r.asks).toHaveLength(2);
    expect(r.c.pending).toBe(true); // an answer may still come, and is then no replay
  });

  it('a level beat older than the ask, or with events held ahead, does not end it', () => {
    const r = rig();
    r.c.onConnect();
    const heartbeatAt = r.at();
    r.pass(2000);
    expect(r.asks).toHaveLength(1);
    r.c.onBeat(5, heartbeatAt); // answers a heartbeat sent before the ask
    r.pass(2000);
    expect(r.asks).toHaveLength(2);
    r.hold(1);
    r.c.onBeat(5, r.at());
    r.pass(2000);
    expect(r.asks).toHaveLength(3);
  });

  it('a resync, or a new store, is asked until answered whatever the beats say', () => {
    const r = rig();
    r.c.want('resync');
    r.c.onBeat(5, r.at() + 1);
    r.pass(2000);
    // asked again as a resync: a gap the ledger may answer with deltas, which would end the wait
    expect(r.asks.map((a) => a.reason)).toEqual(['resync', 'resync']);
    const n = rig(0);
    n.c.onConnect();
    expect(n.asks).toEqual([{ from_seq: 0, reason: 'new' }]);
    n.c.onBeat(0, n.at() + 1);
    n.pass(2000);
    expect(n.asks).toHaveLength(2);
  });

  it('a resync whose first request was lost is not ended by deltas, only by a snapshot; wanted over a gap, it is asked at once', () => {
    const r = rig();
    r.c.want('resync');
    r.pass(2000); // the first request lost: asked again
    r.c.onDeltas(true, 5); // deltas (to a gap asked before, or a stale answer) bring the store to the ledger's seq
    r.pass(2000);
    expect(r.asks.map((a) => a.reason)).toEqual(['resync', 'resync', 'resync']);
    r.c.onOutcome({ kind: 'snapshot', seq: 5, applied: 0 }, 'snapshot');
    r.pass(2000);
    expect(r.asks).toHaveLength(3);

    const g = rig();
    g.c.want('gap');
    g.c.want('resync');
    expect(g.asks.map((a) => a.reason)).toEqual(['gap', 'resync']);
    g.c.want('resync');
    expect(g.asks).toHaveLength(2);
  });

  it('deltas that say the store is level (their to_seq is unsigned) do not end the wait: they prompt a heartbeat, and its signed beat does', () => {
    const r = rig();
    r.c.want('gap');
    r.c.onDeltas(true, 0); // an empty deltas message anyone could publish: "nothing after 0"
    expect(r.checks()).toBe(1);
    for (let i = 0; i < 5; i++) r.c.onDeltas(true, 0); // published again and again: one heartbeat per ask
    expect(r.checks()).toBe(1);
    r.pass(2000);
    expect(r.asks).toHaveLength(2); // still asking
    r.c.onBeat(9, r.at()); // the beat answering that heartbeat: the stream is ahead
    r.pass(2000);
    expect(r.asks).toHaveLength(3);
    r.c.onDeltas(true, 5); // the ledger's deltas, to seq 5 where we are
    expect(r.checks()).toBe(2);
    r.c.onBeat(5, r.at()); // its beat: level, nothing held
    r.pass(2000);
    r.pass(2000);
    expect(r.asks).toHaveLength(3);
    // deltas short of the ledger's seq, or with no wait on, prompt nothing
    r.c.onDeltas(false, 9);
    r.c.onDeltas(true, 5);
    expect(r.checks()).toBe(2);
  });

  it('the first beat since a reconnect that finds the store behind asks at once; a greeting does not', () => {
    const r = rig();
    r.c.onConnect();
    r.c.onBeat(9, undefined); // a greeting, maybe older than the lost tail
    expect(r.asks).toEqual([]);
    r.c.onBeat(9, r.at());
    expect(r.asks).toEqual([{ from_seq: 5, reason: 'gap' }]);
    expect(r.counters).toEqual({ asked: 1, checked: 1, dropped: 0 });
  });

  it('a resync marked in the store\'s ledger (wanted before a restart) is asked at connect, as a resync, until a snapshot clears the mark', () => {
    const owed = { resync: true };
    const r = rig(5, owed);
    r.c.onConnect();
    expect(r.asks).toEqual([{ from_seq: 5, reason: 'resync' }]);
    r.c.onBeat(5, r.at() + 1); // level: a gap's wait would end here, a resync's does not
    r.c.onDeltas(true, 5);
    r.pass(2000);
    expect(r.asks.map((a) => a.reason)).toEqual(['resync', 'resync']);
    // A stale answer overtaken by the stream: the stream brings nothing the store lacks below its seq.
    r.c.onOutcome({ kind: 'overlap', seq: 4, why: 'stale' }, 'snapshot');
    r.pass(2000);
    expect(r.asks).toHaveLength(3);
    // A snapshot that leaves the mark (wanted at a later seq) asks again at once; one that clears it ends the asking.
    r.c.onOutcome({ kind: 'snapshot', seq: 5, applied: 0 }, 'snapshot');
    expect(r.asks).toHaveLength(4);
    owed.resync = false;
    r.c.onOutcome({ kind: 'snapshot', seq: 6, applied: 0 }, 'snapshot');
    r.pass(2000);
    r.pass(2000);
    expect(r.asks).toHaveLength(4);
    // Connected again with no mark: it waits for a beat, as before.
    r.c.onConnect();
    expect(r.asks).toHaveLength(4);
  });

  it('a reconnect while a snapshot is being applied asks nothing for the mark its own first slice left (review of 8650c9b)', () => {
    let applying = true;
    const r = rig(5, { resync: true }, { applying: () => applying });
    r.c.onConnect();
    expect(r.asks).toEqual([]);
    // the apply fails and leaves the mark: the next connect asks for the resync
    applying = false;
    r.c.onConnect();
    expect(r.asks).toEqual([{ from_seq: 5, reason: 'resync' }]);
  });

  it('answers to a resync that the stream overtook while they were built are asked again ever more slowly, up to retransmit_max_ms', () => {
    const r = rig(5, { resync: true }, { partWaitMs: 60_000 });
    r.c.want('resync');
    const waits: number[] = [];
    for (let k = 0; k < 7; k++) {
      r.c.onOutcome({ kind: 'overlap', seq: 4, why: 'stale' }, 'snapshot');
      const before = r.asks.length;
      let waited = 0;
      while (r.asks.length === before) {
        r.pass(1000);
        waited += 1000;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    // a snapshot that applies starts again from retransmit_ms
    r.c.onOutcome({ kind: 'snapshot', seq: 6, applied: 0 }, 'snapshot');
    const before = r.asks.length;
    r.pass(2000);
    expect(r.asks.length).toBe(before + 1);
  });
});
