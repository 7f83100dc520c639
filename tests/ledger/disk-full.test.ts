/**
 * A real full disk: the ledger on a 1 MiB tmpfs (mounted for the test; CI and the store PC's
 * maintenance account run as root). Filling it must end in a clear error with nothing
 * half-written, and the ledger must work again once space is freed.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLedger, type Db } from '../../edge/ledger/db.ts';
import { applyEntry, findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';
import { countOutbox } from '../../edge/ledger/outbox.ts';
import { ErrorCode, isEdgeError } from '../../edge/errors.ts';

const mnt = mkdtempSync(path.join(tmpdir(), 'full-'));
let db: Db | undefined;

beforeAll(() => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
});
afterAll(() => {
  db?.close();
  try {
    execFileSync('umount', [mnt]);
  } finally {
    rmSync(mnt, { recursive: true, force: true });
  }
});

describe('ledger on a full disk', () => {
  it('reports DB_FULL (or DB_IO), keeps balance = sum, and recovers when space is freed', () => {
    db = openLedger(path.join(mnt, 'ledger.sqlite'));
    addVillager(db, { id: 'v1', name: '王', village: '前进村' });
    // leave the ledger little room
    const filler = path.join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(600 * 1024));
    let failure: unknown;
    let applied = 0;
    for (let i = 0; i < 5000 && failure === undefined; i++) {
      try {
        applyEntry(db, { id: `e${i}`, villagerId: 'v1', kind: 'award', points: 1, reason: '扫'.repeat(150), origin: 'cli' }, { creditFloor: 0 });
        applied++;
      } catch (err) {
        failure = err;
      }
    }
    expect(applied).toBeGreaterThan(0);
    expect(isEdgeError(failure), String(failure)).toBe(true);
    expect([ErrorCode.DB_FULL, ErrorCode.DB_IO]).toContain((failure as { code: string }).code);
    expect((failure as Error).message).toMatch(/disk is full|cannot read or write/);
    expect(getVillager(db, 'v1')!.balance).toBe(applied);
    expect(findBalanceMismatches(db)).toEqual([]);
    expect(countOutbox(db).total).toBe(applied + 1);

    unlinkSync(filler);
    applyEntry(db, { id: 'after', villagerId: 'v1', kind: 'award', points: 1, origin: 'cli' }, { creditFloor: 0 });
    expect(getVillager(db, 'v1')!.balance).toBe(applied + 1);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  });
});
