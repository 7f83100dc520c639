/** `store-edge doctor`: check the store PC and say what to fix (exit 1 when a check fails). */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { renderTable, runDoctor } from '../ops/doctor.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { withCommon, type CommonOptions } from './context.ts';
import { weighedScales } from './weighed-scales.ts';

export function registerDoctorCommand(program: Command): void {
  withCommon(
    program.command('doctor').description('check config, ledger, models, serial devices, camera, liveness, broker, keys, disk and clock / 检查门店电脑'),
    { json: true },
  ).action(async (opts: CommonOptions) => {
    // an unreadable or invalid config stops here with its own message (exit 2)
    const loaded = loadConfig({ file: opts.config, dataDir: opts.dataDir });
    // the scales the daemon will weigh, as `slots set` checks against: the config's, or the demo's
    const scales = await weighedScales(loaded);
    const rows = await runDoctor(loaded.config, loaded.file ?? 'defaults (no config file) / 默认配置', new Date(), { scales, ...(loaded.file ? { configFile: loaded.file } : {}) });
    const failed = rows.filter((r) => r.status === 'fail');
    process.stdout.write(opts.json ? `${JSON.stringify({ ok: failed.length === 0, checks: rows })}\n` : `${renderTable(rows)}\n`);
    if (failed.length > 0) {
      const names = failed.map((r) => r.check).join(', ');
      throw new EdgeError(ErrorCode.CHECKS_FAILED, `${failed.length} check(s) failed: ${names}; see the table above for what to do`, { zh: `${failed.length} 项检查未通过：${names}；处理方法见上表` });
    }
  });
}
