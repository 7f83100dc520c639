/**
 * The drivers' one error class. drivers/ imports nothing from edge/, so it cannot use
 * EdgeError; the daemon reports driver faults through its health board.
 * Callers branch on `code`, never on the message.
 */
export type DriverErrorCode =
  | 'CONFIG_INVALID' // a transport URL or register map that cannot work
  | 'PORT_UNAVAILABLE' // the port is not open (unplugged, reconnecting, stopped)
  | 'TIMEOUT' // no complete reply within the response timeout
  | 'CRC' // a reply arrived with a wrong CRC
  | 'BAD_REPLY' // wrong length, address, function code or echo
  | 'EXCEPTION' // the slave answered with a Modbus exception
  | 'NOT_CONFIRMED' // the relay did not read back the state we commanded
  | 'STOPPED' // the driver was stopped while the request waited
  | 'QUEUE_FULL'; // too many requests waiting on one bus

export class DriverError extends Error {
  override readonly name = 'DriverError';
  readonly code: DriverErrorCode;
  /** Modbus exception code when `code === 'EXCEPTION'`. */
  readonly modbusCode: number | undefined;
  /** Chinese text for the maintainer (a config refusal); the daemon passes it on in its EdgeError. */
  readonly zh: string | undefined;
  /** For a failed turn of several requests (ModbusBus.sequence): how many were answered before it failed. */
  readonly answered: number | undefined;

  constructor(code: DriverErrorCode, message: string, opts: { cause?: unknown; modbusCode?: number; zh?: string; answered?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.modbusCode = opts.modbusCode;
    this.zh = opts.zh;
    this.answered = opts.answered;
  }
}

export function isDriverError(err: unknown, code?: DriverErrorCode): err is DriverError {
  return err instanceof DriverError && (code === undefined || err.code === code);
}
