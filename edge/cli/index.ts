/**
 * The `store-edge` command. Each group of subcommands lives in its own file; this file only
 * builds the program and turns errors into a message for a maintainer and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { isEdgeError, ErrorCode } from '../errors.ts';
import { isRepeatable } from './repeatable.ts';

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
  { commands: ['doctor'], load: async () => (await import('./doctor.ts')).registerDoctorCommand },
  { commands: ['restore'], load: async () => (await import('./restore.ts')).registerRestoreCommand },
  { commands: ['ledger'], load: async () => (await import('./ledger.ts')).registerLedgerCommand },
  { commands: ['admin'], load: async () => (await import('./admin.ts')).registerAdminCommand },
  { commands: ['alarms'], load: async () => (await import('./alarms.ts')).registerAlarmsCommand },
  { commands: ['audit'], load: async () => (await import('./audit.ts')).registerAuditCommand },
  { commands: ['keys'], load: async () => (await import('./keys.ts')).registerKeysCommand },
];

/** Build the program with the group of `command`, or with every group (help, unknown commands). */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('store-edge')
    .description('村积分超市门店控制器 / edge controller of the village points store')
    .exitOverride()
    .configureOutput(OUTPUT);
  const group = GROUPS.find((g) => command !== undefined && g.commands.includes(command));
  for (const g of group ? [group] : GROUPS) (await g.load())(program);
  // usage errors must come back here from subcommands too, to be told in both languages
  const override = (c: Command): void => {
    c.exitOverride().configureOutput(OUTPUT);
    refuseRepeats(c);
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

/**
 * An option given twice would silently take its last value (commander's way: `--points 5 …
 * --points 500` awarded 500): refused, exit 2, unless it is meant to repeat (edge/cli/repeatable.ts:
 * `--frames a b c`, `--photo a --photo b`).
 */
function refuseRepeats(c: Command): void {
  for (const option of c.options) {
    if (isRepeatable(option)) continue;
    let seen = false;
    c.on(`option:${option.name()}`, () => {
      if (seen) c.error(`error: option '${option.long ?? option.flags}' given twice: give it once`, { exitCode: 2, code: 'cli.optionGivenTwice' });
      seen = true;
    });
  }
}

/** commander's own error line is English only: `main` writes a bilingual one instead. */
const OUTPUT = { writeErr: (s: string) => process.stderr.write(s), outputError: () => {} };

/** Chinese for commander's usage errors, by its error code (its message names the option). */
const USAGE_ZH: Readonly<Record<string, string>> = {
  'commander.unknownOption': '未知选项',
  'commander.unknownCommand': '未知命令',
  'commander.missingArgument': '缺少参数',
  'commander.optionMissingArgument': '选项缺少取值',
  'commander.missingMandatoryOptionValue': '缺少必填选项',
  'commander.conflictingOption': '选项互相冲突',
  'commander.excessArguments': '参数过多',
  'commander.invalidArgument': '参数取值无效',
  'cli.optionGivenTwice': '选项重复',
};

/**
 * Errors that mean the input was wrong (exit 2): a malformed value, a name that does not exist,
 * a config that cannot be read or is invalid, a photo that is not a usable face, a change the
 * store's state does not allow as asked (a slot still holding goods, a scale address the config
 * does not give the slot, a product on a slot no scale weighs, an entry id another entry holds). Everything else
 * is a failure to do a well-formed request (exit 1), e.g. a duplicate id, a full disk.
 */
const BAD_INPUT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.INVALID_ARGUMENT, ErrorCode.CONFIG_INVALID, ErrorCode.CONFIG_UNREADABLE,
  ErrorCode.UNKNOWN_VILLAGER, ErrorCode.UNKNOWN_PRODUCT, ErrorCode.UNKNOWN_SLOT, ErrorCode.UNKNOWN_SESSION, ErrorCode.SLOT_NOT_EMPTY, ErrorCode.SCALE_ADDRESS_CONFIGURED, ErrorCode.SLOT_WITHOUT_SCALE, ErrorCode.ENTRY_ID_TAKEN,
  ErrorCode.NOT_FOUND, ErrorCode.FACE_REJECTED, ErrorCode.FACE_COLLISION, ErrorCode.FACE_TEMPLATES_OTHER_RECOGNIZER, ErrorCode.NO_CONSENT, ErrorCode.TOKEN_INVALID,
  // a confirmation the rules of learning refuse: the maintainer rejects it or changes the rules
  ErrorCode.FACE_LEARNING_REFUSED,
]);

/** The words of argv that name (sub)commands, e.g. `points award`. */
function commandPath(program: Command, argv: string[]): string {
  const names: string[] = [];
  let at = program;
  for (const word of argv.slice(2)) {
    const next = at.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!next) break;
    names.push(word);
    at = next;
  }
  return names.join(' ');
}

function usageError(err: CommanderError, program: Command, argv: string[]): string {
  const english = err.message.replace(/^error: /, '');
  const named = /'([^']+)'/.exec(english)?.[1];
  const zh = `${USAGE_ZH[err.code] ?? '用法错误'}${named ? ` ${named}` : ''}`;
  const sub = commandPath(program, argv);
  return `错误 error [${err.code}]: ${zh} / ${english}\n用法见 see: store-edge ${sub ? `${sub} ` : ''}--help\n`;
}

/** Run the CLI; resolves to the process exit code (0 ok, 1 failed, 2 usage or bad input). */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv[2]);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander but not to a person
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      // a group without its subcommand (`store-edge keys`): commander printed the group's usage
      if (err.code === 'commander.help') {
        if (err.exitCode === 0) return 0;
        const sub = commandPath(program, argv);
        process.stderr.write(`错误 error [commander.missingSubcommand]: 缺少子命令 / missing subcommand\n用法见 see: store-edge ${sub ? `${sub} ` : ''}--help\n`);
        return 2;
      }
      process.stderr.write(usageError(err, program, argv));
      return 2;
    }
    if (isEdgeError(err)) {
      process.stderr.write(`错误 error [${err.code}]: ${err.forPeople()}\n`);
      if (err.code === ErrorCode.CANCELLED) return 130; // Ctrl-C at a prompt, as a shell counts it
      return BAD_INPUT.has(err.code) ? 2 : 1;
    }
    process.stderr.write(`内部错误 internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
