/**
 * Power-cut test for the ledger: a child process applying entries is SIGKILLed at random
 * moments, over and over. After each kill the ledger must open, pass integrity_check, hold
 * every acknowledged entry exactly once, and keep balance = sum of entries.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';
import { findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { tempDir } from './helpers.ts';

const KILLS = 60;
const writer = path.join(import.meta.dirname, 'crash-writer.ts');
const tmp = tempDir('crash-');
afterAll(() => tmp.cleanup());

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function runAndKill(file: string, start: number, killAfterMs: number): Promise<{ acked: string[]; ready: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, file, String(start)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    let timer: NodeJS.Timeout | undefined;
    // time the kill from the child's start so some land during start-up and migration
    timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      timer = undefined;
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (code ${code}): ${err}`));
      const lines = out.split('\n').slice(0, -1); // the last piece may be a torn line
      resolve({ acked: lines.filter((l) => l.startsWith('ack ')).map((l) => l.slice(4)), ready: lines.includes('ready') });
    });
  });
}

describe('ledger survives SIGKILL at random moments', () => {
  it(`keeps every acknowledged entry exactly once over ${KILLS} kills`, async () => {
    const file = path.join(tmp.dir, 'ledger.sqlite');
    const rand = lcg(20261129);
    const acked = new Set<string>();
    let next = 0;
    let readyRuns = 0;
    for (let i = 0; i < KILLS; i++) {
      // restart a few ids back: the writer replays entries that may or may not have landed
      const start = Math.max(0, next - 3);
      const r = await runAndKill(file, start, 150 + Math.floor(rand() * 700));
      if (r.ready) readyRuns++;
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
    // the test means something only if most runs got to write
    expect(readyRuns).toBeGreaterThan(KILLS / 2);
    expect(acked.size).toBeGreaterThan(KILLS * 5);
  }, 240_000);
});
