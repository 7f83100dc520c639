/**
 * The public board's cost at the village ledger: a village of N villagers with M approved rule
 * items over three months (a third this month); times the change token (checked for every
 * village every 5 s), the computation of the board, and a whole publication (compute, digest,
 * sign). SQLite, or PostgreSQL with DATABASE_URL.
 * `npx tsx bench/board.ts [--villagers N] [--claims M] [--json]`; the last stdout line is JSON.
 */
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../edge/log.ts';
import { ensureDefaultItems } from '../cloud-sync/ledger/governance/rules.ts';
import { addVillage } from '../cloud-sync/ledger/tables.ts';
import { boardChangeToken, computeBoard } from '../cloud-sync/ledger/board/compute.ts';
import { loadBoardVillage } from '../harness/sync/board-village.ts';
import { BoardPublisher } from '../cloud-sync/ledger/board/publisher.ts';
import { newKeyPair, privateEd25519 } from '../cloud-sync/protocol/sign.ts';
import { ledgerDbKind, tempLedgerDb, uid } from '../harness/sync/rig.ts';
import { report, round, summarise } from './stats.ts';

const num = (flag: string, dflt: number): number => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const VILLAGERS = num('--villagers', 2000);
const CLAIMS = num('--claims', 60_000);
const RUNS = 20;

const { db, drop } = await tempLedgerDb();
const now = new Date();
await ensureDefaultItems(db, now);
const village = uid('v');
await addVillage(db, village, '压测村', now.toISOString());
const t0 = performance.now();
await loadBoardVillage(db, village, { villagers: VILLAGERS, claims: CLAIMS, now });
const loadS = (performance.now() - t0) / 1000;

const time = async (fn: () => Promise<unknown>): Promise<number[]> => {
  const out: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
};
const token = await time(() => boardChangeToken(db, village, new Date()));
let board = await computeBoard(db, village, new Date());
const compute = await time(async () => { board = await computeBoard(db, village, new Date()); });
let published = 0;
const publisher = new BoardPublisher({ db, key: privateEd25519('k1', newKeyPair().privatePem), log: silentLogger(), publish: async (_v, e) => { published += JSON.stringify(e).length; return true; } });
const publish = await time(() => publisher.publishVillage(village, true));
await drop();
report({
  bench: 'board', db: ledgerDbKind, villagers: VILLAGERS, claims: CLAIMS, load_s: round(loadS, 2),
  change_token_ms: summarise(token), compute_ms: summarise(compute), publish_ms: summarise(publish),
  board_bytes: Math.round(published / RUNS), red_list: board.red_list.length, month_deeds: board.totals?.deeds ?? 0,
});
