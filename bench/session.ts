/**
 * bench:session — N shopping sessions (default 1,000) through the real daemon on simulated
 * hardware: card at the door, take one or two items, exit button, receipt. Measures exit
 * (button pressed on the simulated board) → receipt event, and the settlement transaction.
 * `-- --json` prints one JSON object on the last line; `-- --sessions N` changes the count.
 */
import { parseScenario } from '../harness/scenario/scenario.ts';
import { runScenario } from '../harness/scenario/run.ts';
import { summarise } from './stats.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const n = Number(args[args.indexOf('--sessions') + 1] ?? 1000);
const sessions = args.includes('--sessions') && Number.isInteger(n) && n > 0 ? n : 1000;
const stabilityWaitMs = 1500;

const steps: unknown[] = [];
const taken = { A1: 0, A2: 0 };
for (let i = 0; i < sessions; i++) {
  const slot = i % 2 ? 'A1' : 'A2';
  const count = 1 + (i % 3 === 0 ? 1 : 0);
  taken[slot] += count;
  steps.push({ enter: { villager: `v${i % 20}`, by: 'card' } }, { take: { slot, count } }, { exit: {} });
  // a maintainer puts back what was sold, so the shelves stay within the scales' capacity
  if (i % 40 === 39) {
    steps.push({ restock: { maintainer: 'chen', add: [{ slot: 'A1', count: taken.A1 }, { slot: 'A2', count: taken.A2 }] } });
    taken.A1 = 0;
    taken.A2 = 0;
  }
}
const scenario = parseScenario({
  name: 'bench',
  session: { stability_wait_ms: stabilityWaitMs },
  products: [{ sku: 'salt', name: '食盐', price: 1, unit_g: 400, tolerance_g: 10 }, { sku: 'soap', name: '洗衣皂', price: 1, unit_g: 230, tolerance_g: 8 }],
  slots: [{ slot: 'A1', scale: 11, sku: 'salt', stock: 60 }, { slot: 'A2', scale: 12, sku: 'soap', stock: 60 }, { slot: 'B1', scale: 13, sku: 'salt', stock: 10 }, { slot: 'B2', scale: 14, sku: 'soap', stock: 10 }],
  villagers: [
    ...Array.from({ length: 20 }, (_, i) => ({ id: `v${i}`, name: `村民${i}`, balance: 100_000, card: `PB-${1000 + i}` })),
    { id: 'chen', name: '老陈', balance: 0, card: 'ADMIN-01', maintainer: true },
  ],
  steps,
});

const t0 = performance.now();
const result = await runScenario(scenario);
const settle = summarise(result.receipts.map((r) => r.settle_ms));
const wallS = (performance.now() - t0) / 1000;
const exit = summarise(result.receipts.filter((r) => r.exit_to_receipt_ms !== null && r.villager !== 'chen').map((r) => r.exit_to_receipt_ms as number));
const shopping = result.sessions.filter((s) => s.kind === 'shopping');
const out = {
  sessions: shopping.length,
  settled: shopping.filter((s) => s.status === 'settled').length,
  exit_to_receipt_p50_ms: exit.p50,
  exit_to_receipt_p99_ms: exit.p99,
  exit_to_receipt_max_ms: exit.max,
  settle_p50_ms: settle.p50,
  settle_p99_ms: settle.p99,
  stability_wait_ms: stabilityWaitMs,
  target_met: exit.p99 <= stabilityWaitMs + 50,
  balance_mismatches: result.invariants.balance_mismatches,
  wall_s: Math.round(wallS * 10) / 10,
};
if (!json) {
  console.error(`${out.sessions} sessions in ${out.wall_s} s; exit → receipt p50 ${out.exit_to_receipt_p50_ms} ms, p99 ${out.exit_to_receipt_p99_ms} ms (target ≤ ${stabilityWaitMs + 50}); settle p99 ${out.settle_p99_ms} ms`);
}
console.log(JSON.stringify(out));
