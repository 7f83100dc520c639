/**
 * Entry of the sim-hardware child process (spawn.ts starts it):
 *   node --import tsx drivers/sim/server-main.ts   with SIM_HARDWARE_OPTIONS='{"physics":{…}}'
 * Prints `SIM_HARDWARE_READY {urls}` on one stdout line once it serves. It exits on SIGTERM
 * or SIGINT, and when its stdin closes, so it never outlives the process that started it.
 */
import { SimHardwareServer, type SimHardwareOptions } from './server.ts';

/** Also in spawn.ts, which does not import this file (importing it would start a server). */
const READY_PREFIX = 'SIM_HARDWARE_READY ';

async function main(): Promise<void> {
  const raw = process.env.SIM_HARDWARE_OPTIONS;
  const opts = raw ? (JSON.parse(raw) as SimHardwareOptions) : {};
  const server = new SimHardwareServer(opts);
  const urls = await server.start();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.env.SIM_HARDWARE_KEEP_STDIN !== '1') {
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
  }
  process.stdout.write(READY_PREFIX + JSON.stringify(urls) + '\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
