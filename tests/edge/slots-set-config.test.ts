/**
 * `store-edge slots set` reads its config once: the scale list it checks the address against
 * and the ledger it writes to come from the same reading (a file changed in between cannot give
 * one the old config and the other the new).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { getSlot } from '../../edge/ledger/products.ts';
import { registerLedgerCommands } from '../../edge/cli/ledger-commands.ts';
import { tempDir } from '../ledger/helpers.ts';
import type * as ConfigLoad from '../../edge/config/load.ts';

const reads = vi.hoisted(() => ({ n: 0 }));
vi.mock('../../edge/config/load.ts', async (importOriginal) => {
  const real = await importOriginal<typeof ConfigLoad>();
  return { ...real, loadConfig: (...args: Parameters<typeof real.loadConfig>) => { reads.n += 1; return real.loadConfig(...args); } };
});

const t = tempDir('slots-set-config-');
beforeAll(() => closeLedger(openLedger(path.join(t.dir, 'ledger.sqlite'))));
afterAll(() => t.cleanup());

describe('store-edge slots set', () => {
  it('loads the config once', async () => {
    const config = path.join(t.dir, 'scales.yaml');
    writeFileSync(config, `data_dir: ${JSON.stringify(t.dir)}\ndrivers:\n  scales:\n    list:\n      - {slot: B1, unit_id: 21}\n`);
    const program = new Command().exitOverride();
    registerLedgerCommands(program);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      reads.n = 0;
      await program.parseAsync(['slots', 'set', '--slot', 'B1', '--address', '21', '--config', config, '--json'], { from: 'user' });
    } finally {
      out.mockRestore();
    }
    expect(reads.n).toBe(1);
    const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
    try {
      expect(getSlot(db, 'B1')).toMatchObject({ slot: 'B1', address: 21 });
    } finally {
      closeLedger(db);
    }
  });
});
