/**
 * What `store-edge simulate` does once its options are parsed (the command is registered in
 * edge/cli/simulate.ts, which loads this file only when the command runs).
 */
import { loadScenario } from './scenario.ts';
import { runScenario, type SimulationResult } from './run.ts';
import { processModeObstacle, runScenarioInProcesses } from './run-process.ts';
import { assertFreshDataDir } from './seed.ts';
import { checkScenarioRecords } from './seed-records.ts';

export interface SimulateCommandOptions { scenario: string; dataDir?: string; json?: boolean; inProcess?: boolean }

function text(r: SimulationResult): string {
  const out: string[] = [`场景 scenario: ${r.scenario}`];
  for (const s of r.sessions) {
    out.push(`- ${s.villager} ${s.kind} ${s.status}: ${s.total_points} 分${s.debt_points ? `（欠 ${s.debt_points}）` : ''} ${s.lines.map((l) => `${l.sku}×${l.count}`).join(' ')}${s.review.length ? ` · 待核对 ${s.review.map((x) => `${x.slot}:${x.reason}`).join(' ')}` : ''}`);
  }
  for (const x of r.refused) out.push(`- 拒绝 refused ${x.villager}: ${x.reason} (step ${x.step})`);
  for (const x of r.receipts) out.push(`  小票 ${x.text}`);
  out.push(`积分 balances: ${Object.entries(r.balances).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  out.push(`库存 inventory: ${Object.entries(r.inventory).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return out.join('\n');
}

export async function simulateCommand(o: SimulateCommandOptions): Promise<void> {
  // the whole file and the folder are checked before anything is started or written
  const scenario = loadScenario(o.scenario);
  checkScenarioRecords(scenario);
  if (o.dataDir) assertFreshDataDir(o.dataDir);
  const opts = o.dataDir ? { dataDir: o.dataDir } : {};
  const obstacle = processModeObstacle(scenario);
  if (obstacle && !o.inProcess) process.stderr.write(`simulate: ${obstacle}; running in-process / 改为进程内运行\n`);
  const result = o.inProcess || obstacle ? await runScenario(scenario, opts) : await runScenarioInProcesses(scenario, opts);
  process.stdout.write(o.json ? `${JSON.stringify(result)}\n` : `${text(result)}\n`);
}
