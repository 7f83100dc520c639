/** `store-edge start`: run the daemon until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { withCommon, portOption, type CommonOptions } from './context.ts';
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../log.ts';
import { StoreDaemon, type DaemonAddOn } from '../main.ts';

export function registerStartCommand(program: Command): void {
  withCommon(program.command('start').description('run the store daemon / 启动门店守护进程'))
    .option('--demo', 'simulated hardware (default when no config file exists) / 演示模式')
    .option('--http-port <n>', 'port of the admin page / 管理页面端口')
    .action(async (o: CommonOptions & { demo?: boolean; httpPort?: string }) => {
      const { config, file: used } = loadConfig({
        file: o.config,
        dataDir: o.dataDir,
        overrides: (raw) => {
          if (o.demo) raw.demo = true;
          if (o.httpPort !== undefined) raw.http = { ...(raw.http as object | undefined), port: portOption('--http-port', o.httpPort) };
        },
      });
      const log = createLogger({ level: config.log.level, pretty: config.log.pretty ?? Boolean(process.stdout.isTTY) });
      log.info({ config: used ?? '(defaults: demo)', dataDir: config.data_dir, demo: config.demo }, 'starting store daemon / 门店守护进程启动');
      // the demo (villagers walking through the scenario files) is test-harness code: loaded
      // only in demo mode on simulated hardware, so a store's daemon never loads it
      const addOns: DaemonAddOn[] = [];
      if (config.demo && config.drivers.simulated) {
        const { demoAddOn } = await import('../../harness/demo/index.ts');
        const demo = demoAddOn(config);
        if (demo) addOns.push(demo);
      }
      const daemon = new StoreDaemon(config, log, {}, addOns);
      // Signals that arrive during start-up are honoured once start-up has finished.
      let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
      const stopped = new Promise<string>((resolve) => {
        onSignal = (signal) => resolve(signal);
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      try {
        await daemon.start();
      } catch (err) {
        // the default signal behaviour again: a supervisor's SIGTERM must end this process
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        throw err;
      }
      const signal = await stopped;
      log.info({ signal }, 'stopping / 正在停止');
      const stop = await daemon.stop();
      log.flush();
      // a part still stopping (main.ts STOP_LIMIT_MS) would keep the process alive: it ends here, a failure
      if (!stop.stopped) process.exit(1);
    });
}
