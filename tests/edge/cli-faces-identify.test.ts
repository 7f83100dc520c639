/**
 * `faces identify` without a photo is a usage error (exit 2 naming --photo, both languages),
 * found before anything is opened or loaded: no face key made, no models loaded. Run in this
 * process (edge/cli/index.ts `main`).
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../ledger/helpers.ts';
import { runCli } from '../entry/cli-run.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';

const t = tempDir('cli-faces-identify-');
const env = process.env.STORE_EDGE_CONFIG;
beforeAll(() => {
  process.env.STORE_EDGE_CONFIG = '';
  closeLedger(openLedger(path.join(t.dir, 'ledger.sqlite')));
});
afterAll(() => {
  if (env === undefined) delete process.env.STORE_EDGE_CONFIG;
  else process.env.STORE_EDGE_CONFIG = env;
  t.cleanup();
});

describe('faces identify', () => {
  it('without --photo: exit 2 naming --photo in both languages, before the ledger, key or models are touched', async () => {
    const before = readdirSync(t.dir).sort();
    const r = await runCli(['faces', 'identify', '--data-dir', t.dir, '--json']);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('缺少必填选项 --photo');
    expect(r.err).toContain("required option '--photo <file>' not specified");
    expect(readdirSync(t.dir).sort()).toEqual(before);
  }, 120_000);
});
