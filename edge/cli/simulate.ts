/**
 * `store-edge simulate --scenario FILE [--json] [--in-process]`: run a scenario on the simulated
 * store (docs/scenarios.md). By default the daemon and the hardware run as processes of their
 * own and a power cut is a SIGKILL; `--in-process` keeps everything in this process, where a
 * cut can land exactly between two effects (also in `settling`, which a signal cannot hit).
 *
 * The runner is test-harness code (harness/scenario/), loaded only when this command runs.
 */
import type { Command } from 'commander';

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('run a scenario on a simulated store of its own (no --config: the scenario sets it up) and report balances, sessions, inventory / 在模拟门店上运行场景')
    .requiredOption('--scenario <file>', 'scenario file, YAML or JSON (docs/scenarios.md) / 场景文件')
    .option('--data-dir <dir>', 'keep the ledger in this folder, which must be new or empty (default: a temp folder, removed) / 保留账本的目录（须为新的或空目录）')
    .option('--json', 'print one JSON object / 输出 JSON')
    .option('--in-process', 'run the daemon and the simulated hardware inside this process / 在本进程内运行')
    .action(async (o: { scenario: string; dataDir?: string; json?: boolean; inProcess?: boolean }) => {
      const { simulateCommand } = await import('../../harness/scenario/cli.ts');
      await simulateCommand(o);
    });
}
