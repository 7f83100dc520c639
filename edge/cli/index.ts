/**
 * The `store-edge` command. Each group of subcommands lives in its own file; this file only
 * builds the program and turns errors into a message for a maintainer and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { isEdgeError, ErrorCode } from '../errors.ts';

type Register = (program: Command) => void;

/**
 * Command groups, loaded only when asked for: `store-edge balance` need not load the face
 * models or the web server (start-up time is what a maintainer at a terminal feels).
 */
const GROUPS: ReadonlyArray<{ commands: readonly string[]; load: () => Promise<Register> }> = [
  { commands: ['start'], load: async () => (await import('./start.ts')).registerStartCommand },
  { commands: ['simulate'], load: async () => (await import('./simulate.ts')).registerSimulateCommand },
  { commands: ['villagers', 'points', 'balance', 'products', 'slots', 'cards'], load: async () => (await import('./ledger-commands.ts')).registerLedgerCommands },
  { commands: ['faces'], load: async () => (await import('./faces.ts')).registerFacesCommands },
  { commands: ['ports'], load: async () => (await import('./ports.ts')).registerPortsCommand },
  { commands: ['ledger'], load: async () => (await import('./ledger.ts')).registerLedgerCommand },
];

/** Build the program with the group of `command`, or with every group (help, unknown commands). */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('store-edge')
    .description('村积分超市门店控制器 / edge controller of the village points store')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const group = GROUPS.find((g) => command !== undefined && g.commands.includes(command));
  for (const g of group ? [group] : GROUPS) (await g.load())(program);
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
  const program = await buildProgram(argv[2]);
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
