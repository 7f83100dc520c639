/**
 * Config slice of the hardware drivers. Lives in drivers/ so the drivers stay independent
 * of the daemon; edge/config composes it as the `drivers` key.
 *
 * Every object has `default: {}` so Ajv's `useDefaults` fills a missing section, and refuses
 * unknown keys so a typo is an error rather than a silently ignored setting.
 * Register maps default to the boards named in docs/drivers.md; a maintainer who bought a
 * different board changes numbers here, not code.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DriverError, isDriverError } from './errors.ts';
import { parseTransportUrl, type TransportSpec } from './transport/url.ts';

function Section<T extends Record<string, TSchema>>(props: T, description: string) {
  return Type.Object(props, { additionalProperties: false, default: {}, description });
}

const Int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description });

/** `serial:///dev/ttyUSB0?baud=9600`, `tcp://192.168.1.50:4001`, `sim://rs485` (in-process simulator). */
export const TransportUrl = (def: string, description: string) =>
  Type.String({ default: def, pattern: '^(serial|tcp|sim)://.+', description });

export const ModbusBusSchema = Section(
  {
    response_timeout_ms: Int(200, 5, 10_000, 'Time for a complete reply to one request before it counts as a timeout'),
    retries: Int(2, 0, 10, 'Further attempts after a failed request (timeout, CRC, bad reply); exceptions are not retried'),
    quiet_after_error_ms: Int(15, 0, 1000, 'Silence kept after a failed request so late or partial bytes drain before the next request'),
    connect_timeout_ms: Int(3000, 100, 60_000, 'A TCP device server (tcp://) that has not accepted the connection within this long is unreachable: the port counts as failed to open and is retried'),
    reconnect_initial_ms: Int(500, 10, 60_000, 'First wait before reopening a port that closed or failed to open'),
    reconnect_max_ms: Int(10_000, 10, 600_000, 'Longest wait between reopen attempts (the wait doubles up to this)'),
    queue_limit: Int(64, 1, 10_000, 'Requests that may wait on one bus; more are refused with QUEUE_FULL'),
    fault_log_interval_ms: Int(60_000, 0, 3_600_000, 'A burst of faults of one kind is logged once per this interval; the rest are only counted'),
  },
  'Modbus RTU bus behaviour, shared by every device on a bus',
);

export const LockSchema = Section(
  {
    transport: TransportUrl('sim://rs485', 'Bus of the relay board'),
    unit_id: Int(1, 1, 247, 'Modbus slave address of the relay board'),
    coil: Int(0, 0, 0xffff, 'Coil (0-based) of the relay that drives the lock; Waveshare relay 1 = coil 0'),
    pulse_base_address: Int(0x0200, 0, 0xffff, 'Timed-pulse ("flash on") register base: FC05 to base + coil with the duration as the value'),
    pulse_unit_ms: Int(100, 1, 10_000, 'Duration unit of the timed pulse value (Waveshare: 100 ms)'),
    default_pulse_ms: Int(3000, 100, 60_000, 'Unlock pulse when the caller gives none'),
    max_pulse_ms: Int(15_000, 100, 600_000, 'Longest pulse accepted; longer requests are refused, so a bug cannot hold the door open'),
    door_input: Int(0, 0, 0xffff, 'Discrete input (0-based, FC02) of the door contact'),
    door_closed_when: Type.Boolean({ default: true, description: 'Input level that means the door is closed' }),
    exit_input: Int(1, 0, 0xffff, 'Discrete input (0-based, FC02) of the exit button'),
    exit_pressed_when: Type.Boolean({ default: true, description: 'Input level that means the exit button is pressed' }),
    input_poll_ms: Int(100, 10, 10_000, 'How often the door contact and exit button are read'),
    input_unread_polls: Int(5, 1, 10_000, 'After this many input polls in a row without an answer (a silent relay board) the door contact and exit button count as unknown and the `lock inputs` check is degraded, until a poll is answered'),
    release_check_ms: Int(300, 0, 10_000, 'After the pulse should have ended, wait this long, then read the relay back expecting it off'),
  },
  'Door lock relay board (Modbus RTU)',
);

export const ScaleSchema = Type.Object(
  {
    slot: Type.String({ minLength: 1, maxLength: 32, description: 'Shelf slot this scale weighs, as the store names it' }),
    unit_id: Int(1, 1, 247, 'Modbus slave address of the load-cell module'),
    capacity_g: Int(5000, 1, 1_000_000, 'Rated capacity; readings above it (+ overshoot) are flagged implausible'),
  },
  { additionalProperties: false },
);

export const ScaleRegisterMapSchema = Section(
  {
    weight_register: Int(0x50, 0, 0xffff, 'Holding register of the weight, int32 over two registers'),
    weight_high_word_first: Type.Boolean({ default: true, description: 'Word order of the int32 weight' }),
    status_register: Int(0x08, 0, 0xffff, 'Holding register of the status word'),
    decimals_mask: Int(0x0007, 0, 0xffff, 'Status bits giving the number of decimals of the weight'),
    sign_bit: Int(3, 0, 15, 'Status bit set when the weight is negative (applied when the int32 is a magnitude)'),
    unstable_bit: Int(5, 0, 15, 'Status bit set while the module itself sees motion'),
    overflow_bit: Int(6, 0, 15, 'Status bit: A/D overflow'),
    zero_bit: Int(7, 0, 15, 'Status bit: reading is at zero'),
    overload_bit: Int(9, 0, 15, 'Status bit: load beyond the module limit'),
    weight_unit_g: Type.Number({ default: 1, exclusiveMinimum: 0, description: 'Grams per displayed unit (1 for g, 1000 for kg)' }),
    tare_register: Int(0x54, 0, 0xffff, 'Writing 0x7FFFFFFF (int32) here tares the module'),
    zero_register: Int(0x5e, 0, 0xffff, 'Writing 1 here zeroes the module'),
    config_unlock_register: Int(0x05, 0, 0xffff, 'Register that must receive the unlock value before tare/zero writes'),
    config_unlock_value: Int(0x5aa5, 0, 0xffff, 'Value that unlocks configuration writes'),
  },
  'Register map of the load-cell modules',
);

export const ScalesSchema = Section(
  {
    transport: TransportUrl('sim://rs485', 'Bus of the load-cell modules'),
    list: Type.Array(ScaleSchema, { default: [], description: 'One entry per scale; slots and unit ids must be unique, and on the lock\'s bus no unit id may be the relay board\'s' }),
    poll_interval_ms: Int(200, 0, 60_000, 'Pause between the end of one sweep over all scales and the start of the next'),
    registers: ScaleRegisterMapSchema,
    stable_window: Int(4, 2, 50, 'Consecutive readings that must agree before a weight counts as stable'),
    stable_band_g: Type.Number({ default: 5, minimum: 0, description: 'Largest spread (max - min) of the window for a stable weight; covers the modules\' noise' }),
    change_threshold_g: Type.Number({ default: 6, minimum: 0, description: 'Smaller differences between stable weights are drift, absorbed silently, not item changes' }),
    overshoot_g: Type.Number({ default: 100, minimum: 0, description: 'Readings above capacity + this are implausible' }),
    negative_tolerance_g: Type.Number({ default: 30, minimum: 0, description: 'Readings below minus this are implausible' }),
    zero_drift_limit_g: Type.Number({ default: 20, minimum: 0, description: 'Drift beyond this on an empty scale raises a zero_drift event so auto-zero can be offered' }),
  },
  'Shelf scales (Modbus RTU load-cell modules on a shared RS-485 bus)',
);

export const ScannerSchema = Section(
  {
    enabled: Type.Boolean({ default: true, description: 'Whether a QR/card scanner is fitted' }),
    transport: TransportUrl('sim://scanner', 'Serial port (or TCP) of the scanner'),
    max_line_length: Int(256, 1, 4096, 'Longer lines are rejected as noise'),
    min_line_length: Int(4, 1, 4096, 'Shorter lines are rejected as noise'),
    line_timeout_ms: Int(500, 10, 60_000, 'A partial line with no terminator for this long is discarded'),
    connect_timeout_ms: Int(3000, 100, 60_000, 'A TCP scanner (tcp://) that has not accepted the connection within this long is unreachable: the port counts as failed to open and is retried'),
    reconnect_initial_ms: Int(500, 10, 60_000, 'First wait before reopening the scanner port'),
    reconnect_max_ms: Int(10_000, 10, 600_000, 'Longest wait between reopen attempts'),
  },
  'QR/barcode/card scanner sending CR or LF terminated lines',
);

export const DriversConfigSchema = Type.Object(
  {
    simulated: Type.Boolean({ default: true, description: 'Build the in-process simulators and serve sim:// transports from them' }),
    modbus: ModbusBusSchema,
    lock: LockSchema,
    scales: ScalesSchema,
    scanner: ScannerSchema,
  },
  { additionalProperties: false, default: {}, description: 'Hardware drivers: lock relay, shelf scales, scanner' },
);

export type DriversConfig = Static<typeof DriversConfigSchema>;
export type ModbusBusConfig = Static<typeof ModbusBusSchema>;
export type LockConfig = Static<typeof LockSchema>;
export type ScaleConfig = Static<typeof ScaleSchema>;
export type ScaleRegisterMap = Static<typeof ScaleRegisterMapSchema>;
export type ScalesConfig = Static<typeof ScalesSchema>;
export type ScannerConfig = Static<typeof ScannerSchema>;

/**
 * Fill defaults and validate, for tests, tools and the simulators. The daemon validates the
 * whole config file with Ajv in edge/config; this gives the same result for the slice alone.
 */
export function resolveDriversConfig(input: unknown = {}): DriversConfig {
  const filled = Value.Default(DriversConfigSchema, structuredClone(input ?? {}));
  if (!Value.Check(DriversConfigSchema, filled)) {
    const first = [...Value.Errors(DriversConfigSchema, filled)][0];
    throw new DriverError('CONFIG_INVALID', `drivers config: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`, { zh: `硬件驱动配置有误：${first?.path ?? ''}` });
  }
  checkDriversConfig(filled);
  return filled;
}

/**
 * What the schema cannot say, checked before anything starts (edge/config runs it on the
 * whole file): every transport URL parses, and the scale list fits its bus.
 */
export function checkDriversConfig(cfg: DriversConfig): void {
  const at = (key: string, url: string): TransportSpec => {
    try {
      return parseTransportUrl(url);
    } catch (err) {
      if (!isDriverError(err)) throw err;
      throw new DriverError('CONFIG_INVALID', `drivers.${key}: ${err.message}`, { cause: err, zh: `硬件驱动配置有误：drivers.${key} ${err.zh ?? '不是可用的连接地址'}` });
    }
  };
  const lockLine = at('lock.transport', cfg.lock.transport);
  const scaleLine = at('scales.transport', cfg.scales.transport);
  if (cfg.scanner.enabled) at('scanner.transport', cfg.scanner.transport);
  checkScaleList(cfg.scales.list);
  // Two slaves on one address both answer: the lock's replies would be read as weights and back.
  const clash = lineOf(lockLine) === lineOf(scaleLine) ? cfg.scales.list.find((s) => s.unit_id === cfg.lock.unit_id) : undefined;
  if (clash) {
    throw new DriverError('CONFIG_INVALID', `drivers.scales.list: the scale of slot ${clash.slot} has unit_id ${clash.unit_id}, the relay board's (drivers.lock.unit_id) on the same bus`, {
      zh: `硬件驱动配置有误：货位 ${clash.slot} 的秤地址 unit_id ${clash.unit_id} 与同一总线上的门锁继电器板（drivers.lock.unit_id）相同`,
    });
  }
}

/** The physical line a transport names, whatever its parameters. */
function lineOf(spec: TransportSpec): string {
  switch (spec.kind) {
    case 'serial':
      return `serial:${spec.path}`;
    case 'tcp':
      return `tcp:${spec.host.toLowerCase()}:${spec.port}`;
    case 'sim':
      return `sim:${spec.name}`;
  }
}

/** What a JSON schema cannot say: slots and slave addresses must be unique on a bus. */
export function checkScaleList(list: readonly ScaleConfig[]): void {
  const slots = new Set<string>();
  const units = new Set<number>();
  for (const s of list) {
    if (slots.has(s.slot)) throw new DriverError('CONFIG_INVALID', `drivers.scales.list: slot ${s.slot} appears twice`, { zh: `硬件驱动配置有误：drivers.scales.list 中货位 ${s.slot} 重复（出现了两次）` });
    if (units.has(s.unit_id)) throw new DriverError('CONFIG_INVALID', `drivers.scales.list: unit_id ${s.unit_id} appears twice`, { zh: `硬件驱动配置有误：drivers.scales.list 中地址 unit_id ${s.unit_id} 重复（出现了两次）` });
    slots.add(s.slot);
    units.add(s.unit_id);
  }
}
