/**
 * `store-edge doctor` checks the ledger's slots against the scales the daemon will weigh: in the
 * demo (`npm start`, no scales configured) the demo store's, the list `slots set` checks against
 * (edge/cli/weighed-scales.ts), not the config's empty one; with a config file, its
 * drivers.scales.list. A slot naming a scale the daemon does not have is reported, bilingual.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { loadConfig } from '../../edge/config/load.ts';
import { registerDoctorCommand } from '../../edge/cli/doctor.ts';
import { runDoctor, type DoctorRow } from '../../edge/ops/doctor.ts';
import { daemonScales } from '../../harness/demo/scales.ts';
import { tempDir } from '../ledger/helpers.ts';

const t = tempDir('doctor-slots-');
afterAll(() => t.cleanup());

/** The ledger's slots: each [slot, address, sku]. */
function ledgerWith(dir: string, slots: [string, number, string | null][]): void {
  const db = openLedger(path.join(dir, 'ledger.sqlite'));
  try {
    upsertProduct(db, { sku: 'salt', name: '食盐', price: 5, unitG: 400, toleranceG: 10 });
    for (const [slot, address, sku] of slots) upsertSlot(db, { slot, address, sku, stock: 0 });
  } finally {
    closeLedger(db);
  }
}

/** `store-edge doctor --json` in this process, as a maintainer runs it on the demo's data folder (no config file). */
async function doctorJson(dir: string): Promise<DoctorRow[]> {
  const program = new Command().exitOverride();
  registerDoctorCommand(program);
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['doctor', '--data-dir', dir, '--json'], { from: 'user' });
  } catch {
    // a failed check is an exit 1 (CHECKS_FAILED): the table is printed all the same
  } finally {
    write.mockRestore();
  }
  return (JSON.parse(out) as { checks: DoctorRow[] }).checks;
}

describe('store-edge doctor in the demo', () => {
  const demo = path.join(t.dir, 'demo');
  let units: Map<string, number>;
  beforeAll(() => {
    vi.stubEnv('STORE_EDGE_CONFIG', '');
    const { config } = loadConfig({ dataDir: demo, env: { STORE_EDGE_CONFIG: '' } });
    units = new Map(daemonScales(config).list.map((s) => [s.slot, s.unit_id]));
    const a1 = units.get('A1')!;
    const a2 = units.get('A2')!;
    ledgerWith(demo, [['A1', a1, 'salt'], ['A2', a2 + 50, null], ['Z9', 99, 'salt']]);
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it("reports the slots the demo's scales do not weigh, not the config's empty list", async () => {
    const slots = (await doctorJson(demo)).find((r) => r.check === 'slots');
    expect(slots?.status).toBe('fail');
    expect(slots?.detail).toContain("slot Z9 names scale 99, which the demo store's scales");
    expect(slots?.detail).toContain('salt taken from it never charged');
    expect(slots?.detail).toContain('货位 Z9 记的秤 99 不在演示门店的秤');
    expect(slots?.detail).toContain(`slot A2 names scale ${units.get('A2')! + 50}, but is weighed on unit ${units.get('A2')}`);
    expect(slots?.detail).not.toContain('slot A1');
    expect(slots?.fix).toContain('drivers.scales.list of a config file');
  }, 120_000);
});

describe('store-edge doctor with its scales in a config file', () => {
  it('names the config file; a slot without goods on no scale is a warning', async () => {
    const dir = path.join(t.dir, 'own');
    ledgerWith(dir, [['B1', 21, 'salt'], ['C9', 40, null]]);
    const file = path.join(t.dir, 'own.yaml');
    writeFileSync(file, `data_dir: ${JSON.stringify(dir)}\nentry:\n  face_enabled: false\ndrivers:\n  scales:\n    list:\n      - {slot: B1, unit_id: 21}\n`);
    const { config } = loadConfig({ file, env: { STORE_EDGE_CONFIG: '' } });
    const slots = (await runDoctor(config, file, new Date(), { configFile: file })).find((r) => r.check === 'slots');
    expect(slots?.status).toBe('warn');
    expect(slots?.detail).toContain(`slot C9 names scale 40, which drivers.scales.list of the config ${file} does not have`);
    expect(slots?.detail).toContain(`配置文件 ${file} 中的 drivers.scales.list`);
  }, 60_000);
});
