/**
 * The `store-edge` command. Each group of subcommands lives in its own file; this file only
 * builds the program and turns errors into a message for a maintainer and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { registerLedgerCommands } from './ledger-commands.ts';
import { registerStartCommand } from './start.ts';
import { registerSimulateCommand } from './simulate.ts';
import { registerPortsCommand } from './ports.ts';
import { registerFacesCommands } from './faces.ts';
import { isEdgeError, ErrorCode } from '../errors.ts';

export function buildProgram(): Command {
  const program = new Command('store-edge')
    .description('村积分超市门店控制器 / edge controller of the village points store')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerStartCommand(program);
  registerSimulateCommand(program);
  registerLedgerCommands(program);
  registerFacesCommands(program);
  registerPortsCommand(program);
  // exitOverride must reach subcommands so that usage errors come back here
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Run the CLI; resolves to the process exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander but not to a person
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    if (isEdgeError(err)) {
      process.stderr.write(`错误 error [${err.code}]: ${err.forPeople()}\n`);
      return err.code === ErrorCode.INVALID_ARGUMENT || err.code === ErrorCode.CONFIG_INVALID ? 2 : 1;
    }
    process.stderr.write(`内部错误 internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
