/**
 * Power-cut test for the ledger: a child process applying entries is SIGKILLed at a random
 * moment after it opened the ledger, over and over. After each kill the ledger must open, pass integrity_check, hold
 * every acknowledged entry exactly once, and keep balance = sum of entries.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { tempDir } from './helpers.ts';

const KILLS = 30;
const writer = path.join(import.meta.dirname, 'crash-writer.ts');
const tmp = tempDir('crash-');
/** Writers started and not yet killed: none may outlive the test, even one that failed. */
const live = new Set<ChildProcess>();
afterAll(() => {
  for (const c of live) c.kill('SIGKILL');
  tmp.cleanup();
});

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Generous bound for the writer to open the ledger and write once told to go; only a hung child reaches it. */
const READY_BOUND_MS = 60_000;

interface Writer {
  child: ChildProcess;
  /**
   * Tells the writer to start at `start` and SIGKILLs it `killAfterMs` after it acknowledged
   * its first new entry (the ledger is open and the write loop runs). Timed from there, not from the
   * spawn, so that on a loaded machine, where start-up alone can take seconds and a commit
   * over a hundred milliseconds, every kill lands among the writes.
   */
  run(start: number, killAfterMs: number): Promise<{ acked: string[] }>;
}

/** Starts a writer process; it loads its modules and then waits for run(). */
function spawnWriter(file: string): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, file], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const run = (start: number, killAfterMs: number): Promise<{ acked: string[] }> =>
    new Promise((resolve, reject) => {
      let writing = false;
      let killTimer: NodeJS.Timeout | undefined;
      const bound = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the writer did not start writing within ${READY_BOUND_MS} ms of "go": ${err}`));
      }, READY_BOUND_MS);
      const onData = (): void => {
        // timed from the first new entry committed: past the replays, into the write loop
        if (writing || !/\nack [^\n]*\n/.test(out)) return;
        writing = true;
        clearTimeout(bound);
        killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      };
      child.stdout.on('data', onData);
      child.on('error', reject);
      child.stdin.write(`go ${start}\n`);
      void exited.then(({ code, signal }) => {
        clearTimeout(bound);
        clearTimeout(killTimer);
        if (!writing) return reject(new Error(`the writer died before writing (code ${code}, signal ${signal}): ${err}`));
        if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (code ${code}): ${err}`));
        const lines = out.split('\n').slice(0, -1); // the last piece may be a torn line
        resolve({ acked: lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4)) });
      });
    });
  return { child, run };
}

describe('ledger survives SIGKILL at random moments', () => {
  it(`keeps every acknowledged entry exactly once over ${KILLS} kills`, async () => {
    const file = path.join(tmp.dir, 'ledger.sqlite');
    const rand = lcg(20261129);
    const acked = new Set<string>();
    let next = 0;
    let runsWithNewEntries = 0;
    const startWriter = (): Writer => {
      const w = spawnWriter(file);
      live.add(w.child);
      w.child.on('exit', () => live.delete(w.child));
      return w;
    };
    let upcoming = startWriter();
    for (let i = 0; i < KILLS; i++) {
      const current = upcoming;
      // the next writer loads its modules (the slow part) while this one runs
      if (i + 1 < KILLS) upcoming = startWriter();
      // restart a few ids back: the writer replays entries that may or may not have landed
      const start = Math.max(0, next - 3);
      const r = await current.run(start, Math.floor(rand() * 200));
      if (r.acked.length > 0) runsWithNewEntries++;
      for (const id of r.acked) acked.add(id);
      if (r.acked.length > 0) next = Number(r.acked[r.acked.length - 1]!.slice('crash-'.length)) + 1;

      const db = openLedger(file);
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const ids = new Set((db.prepare("SELECT id FROM entries WHERE villager_id = 'crash'").pluck().all() as string[]));
        for (const id of acked) expect(ids.has(id), `acknowledged ${id} is missing after kill #${i}`).toBe(true);
        const dupes = db.prepare('SELECT id, COUNT(*) AS n FROM entries GROUP BY id HAVING n > 1').all();
        expect(dupes).toEqual([]);
        expect(findBalanceMismatches(db)).toEqual([]);
        const outboxed = db.prepare("SELECT COUNT(*) FROM outbox WHERE topic = 'entry'").pluck().get();
        expect(outboxed).toBe(ids.size); // each entry went out with its outbox row, no more, no less
      } finally {
        closeLedger(db);
      }
    }
    // every run was killed while writing new entries (run() rejects a writer that never got there)
    expect(runsWithNewEntries).toBe(KILLS);
    expect(acked.size).toBeGreaterThanOrEqual(KILLS);
  }, 480_000);
});
