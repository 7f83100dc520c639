import { pino, type Logger, type LoggerOptions } from 'pino';
import { EdgeError } from './errors.ts';

export type { Logger };

/**
 * `{ err }` as a log line: pino's own fields (type, message, stack, cause) plus, for an
 * EdgeError, the code callers branch on and the Chinese text people were shown.
 */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  if (err instanceof EdgeError) {
    out.code = err.code;
    if (err.zh !== undefined) out.zh = err.zh;
    if (err.details !== undefined) out.details = err.details;
  }
  return out;
}

export interface LogOptions {
  level: string;
  /** Pretty output for a person at a terminal; JSON lines otherwise (journald, files). */
  pretty: boolean;
}

export function createLogger(opts: LogOptions, destination?: NodeJS.WritableStream): Logger {
  const base: LoggerOptions = {
    level: opts.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError },
  };
  if (destination) return pino(base, destination as pino.DestinationStream);
  if (opts.pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino(base);
}

/** A logger that drops everything: for tests and for CLI commands that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
