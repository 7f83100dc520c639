/**
 * bench:snapshot-apply — a store receiving and applying the snapshot of a large village
 * (5,000 villagers, 200,000 entries, in signed parts of 256 KiB as the ledger sends them), each
 * part handed to the store's InboundStream on its own turn of the event loop, as the broker
 * would. Measures what the door shares the main thread with: the longest event-loop stall
 * (`monitorEventLoopDelay`, and the longest gap between a 5 ms timer's ticks), the longest
 * single `receive`, and the heap; and the time to apply it (`apply_ms`: from the last part's
 * arrival to the snapshot applied, in slices, edge/ledger/snapshot-slices.ts) and in all
 * (`total_ms`: from the first part), the median `receive` of a part and the last one's (which
 * joins the parts into one snapshot), and the longest turn of the apply itself
 * (`longest_slice_ms`: from one wait for the event loop to the next, a slice of writing or of
 * checking). VILLAGERS=10 ENTRIES=100000 makes villagers of 10,000 entries each, more than a
 * slice holds. Prints one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { openLedger, closeLedger } from '../edge/ledger/db.ts';
import { findBalanceMismatches } from '../edge/ledger/entries.ts';
import { inboundSeq } from '../edge/ledger/sync-state.ts';
import { getVillager } from '../edge/ledger/villagers.ts';
import { InboundStream } from '../cloud-sync/agent/inbound.ts';
import { splitSnapshot, SNAPSHOT_BYTES } from '../cloud-sync/ledger/catchup.ts';
import { keyRing, newKeyPair, privateEd25519, signedEnvelopeText } from '../cloud-sync/protocol/sign.ts';
import type { SnapshotBody } from '../cloud-sync/protocol/payloads.ts';
import { RefusalCounter } from '../cloud-sync/protocol/refusals.ts';

const VILLAGERS = Number(process.env.VILLAGERS ?? 5000);
const ENTRIES = Number(process.env.ENTRIES ?? 200_000);
const AT = new Date();
/** Every entry's points: 1 to 9 by its index. */
const POINTS = Array.from({ length: ENTRIES }, (_, i) => 1 + (i % 9)).reduce((a, b) => a + b, 0);
const mb = (n: number): number => Math.round(n / 1048576);

function wire(): Buffer[] {
  const keys = newKeyPair();
  const key = privateEd25519('ledger-1', keys.privatePem);
  const body: SnapshotBody = { villagers: [], entries: [] };
  for (let i = 0; i < VILLAGERS; i++) body.villagers.push({ id: `v${i}`, name: `村民${i}`, village: 'v1', status: 'active' });
  for (let i = 0; i < ENTRIES; i++) {
    body.entries.push({ id: `e${i}`, villager: `v${i % VILLAGERS}`, kind: 'award', points: 1 + (i % 9), reference: i % 3 ? null : `ref-${i}`, reason: '打扫村道', created_at: AT.toISOString() });
  }
  const parts = splitSnapshot(body, SNAPSHOT_BYTES);
  const of = `snapshot:s1:${ENTRIES}:${AT.getTime()}`;
  const wires = parts.map((b, index) => Buffer.from(signedEnvelopeText({
    v: 1, id: `${of}:${index}`, kind: 'snapshot', village: 'v1', store: 's1', seq: ENTRIES,
    issued_at: AT.toISOString(), expires_at: new Date(AT.getTime() + 86_400_000).toISOString(), body: { ...b, part: { of, index, count: parts.length } },
  }, key)));
  ring = keyRing([{ id: 'ledger-1', pem: keys.publicPem }]);
  return wires;
}
let ring: ReturnType<typeof keyRing>;

async function main(): Promise<void> {
  const parts = wire();
  const dir = mkdtempSync(path.join(process.env.BENCH_DIR ?? tmpdir(), 'bench-snapshot-apply-'));
  const db = openLedger(path.join(dir, 'store.sqlite'));
  const refusals = new RefusalCounter();
  const stream = new InboundStream({
    db: () => db, address: { village: 'v1', store: 's1' }, keys: () => ring, rules: { creditFloor: 0 },
    clock: () => new Date(), skewMs: 60_000, refusals, onResyncWanted: () => undefined, snapshotPending: () => true,
    later: (os) => { for (const o of os) outcomes.push(o.kind); },
    // The apply's own wait between slices (setImmediate, as by default), timing the work between two.
    slices: {
      turn: async () => {
        if (sliceFrom > 0) longestSlice = Math.max(longestSlice, performance.now() - sliceFrom);
        await new Promise<void>((r) => setImmediate(r));
        sliceFrom = performance.now();
      },
    },
  });
  let sliceFrom = 0;
  let longestSlice = 0;
  const outcomes: string[] = [];
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapMost = heapBefore;
  let longestReceive = 0;
  const receives: number[] = [];
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  // The longest gap between the ticks of a 5 ms timer: what a door's timer would wait.
  let lastTick = performance.now();
  let longestGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - lastTick);
    lastTick = now;
  }, 5);
  const t0 = performance.now();
  let lastPartAt = t0;
  for (const p of parts) {
    await new Promise<void>((r) => setImmediate(r));
    const t = performance.now();
    lastPartAt = t;
    for (const o of stream.receive(p, 'snapshot')) outcomes.push(o.kind);
    receives.push(performance.now() - t);
    longestReceive = Math.max(longestReceive, performance.now() - t);
    heapMost = Math.max(heapMost, process.memoryUsage().heapUsed);
  }
  await stream.idle();
  const applied = performance.now();
  await new Promise<void>((r) => setTimeout(r, 20));
  clearInterval(ticker);
  h.disable();
  const seq = inboundSeq(db);
  let points = 0;
  for (let i = 0; i < VILLAGERS; i++) points += getVillager(db, `v${i}`)?.balance ?? 0;
  const mismatches = findBalanceMismatches(db).length;
  closeLedger(db);
  rmSync(dir, { recursive: true, force: true });
  if (seq !== ENTRIES || points !== POINTS || mismatches > 0) throw new Error(`not applied: seq ${seq}, ${points} of ${POINTS} points, ${mismatches} mismatches, outcomes ${[...new Set(outcomes)].join(',')}`);
  console.log(JSON.stringify({
    villagers: VILLAGERS, entries: ENTRIES, parts: parts.length, apply_ms: Math.round(applied - lastPartAt), total_ms: Math.round(applied - t0),
    longest_receive_ms: Math.round(longestReceive), receive_p50_ms: Math.round([...receives].sort((a, b) => a - b)[receives.length >> 1]!), last_receive_ms: Math.round(receives.at(-1)!), longest_slice_ms: Math.round(longestSlice), timer_gap_max_ms: Math.round(longestGap), loop_delay_max_ms: Math.round(h.max / 1e6), loop_stall_p99_ms: Math.round(h.percentile(99) / 1e6),
    heap_before_mb: mb(heapBefore), heap_most_mb: mb(heapMost),
  }));
}

await main();
