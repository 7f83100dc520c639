/**
 * `store-edge simulate --scenario FILE [--json] [--in-process]`: run a scenario on the simulated
 * store (docs/scenarios.md). By default the daemon and the hardware run as processes of their
 * own and a power cut is a SIGKILL; `--in-process` keeps everything in this process, where a
 * cut can land exactly between two effects (also in `settling`, which a signal cannot hit).
 */
import type { Command } from 'commander';
import { loadScenario } from '../session/scenario.ts';
import { runScenario, type SimulationResult } from '../session/simulate.ts';
import { processModeObstacle, runScenarioInProcesses } from '../session/simulate-process.ts';

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

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('run a scenario on the simulated store and report balances, sessions, inventory / 在模拟门店上运行场景')
    .requiredOption('--scenario <file>', 'scenario file, YAML or JSON (docs/scenarios.md) / 场景文件')
    .option('--data-dir <dir>', 'keep the ledger in this folder (default: a temp folder, removed) / 保留账本的目录')
    .option('--json', 'print one JSON object / 输出 JSON')
    .option('--in-process', 'run the daemon and the simulated hardware inside this process / 在本进程内运行')
    .action(async (o: { scenario: string; dataDir?: string; json?: boolean; inProcess?: boolean }) => {
      const scenario = loadScenario(o.scenario);
      const opts = o.dataDir ? { dataDir: o.dataDir } : {};
      const obstacle = processModeObstacle(scenario);
      if (obstacle && !o.inProcess) process.stderr.write(`simulate: ${obstacle}; running in-process / 改为进程内运行\n`);
      const result = o.inProcess || obstacle ? await runScenario(scenario, opts) : await runScenarioInProcesses(scenario, opts);
      process.stdout.write(o.json ? `${JSON.stringify(result)}\n` : `${text(result)}\n`);
    });
}
