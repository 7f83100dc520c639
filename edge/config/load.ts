import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, ENV_OVERRIDES, type Config } from './schema.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { checkEntryConfig } from '../entry/config.ts';
import { checkJobsConfig } from '../jobs/config.ts';
import { checkSyncConfig } from './sync.ts';
import { checkDriversConfig } from '../../drivers/config.ts';
import { isDriverError } from '../../drivers/errors.ts';

export interface LoadedConfig {
  config: Config;
  /** The file that was read, or null when running on defaults (the demo). */
  file: string | null;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validate = ajv.compile<Config>(ConfigSchema);

/** One line per problem, naming the key and what was expected. */
export function describeConfigErrors(errors: ErrorObject[] | null | undefined): string[] {
  const out: string[] = [];
  for (const e of errors ?? []) {
    const at = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = (e.params as { additionalProperty: string }).additionalProperty;
        out.push(`unknown key "${at === '(top level)' ? key : `${at}.${key}`}" / 未知配置项`);
        break;
      }
      case 'type':
        out.push(`"${at}" must be of type ${(e.params as { type: string }).type} / 类型错误`);
        break;
      case 'anyOf':
        break; // the branches' own errors say more; a union of literals reports `const` below
      case 'const':
        out.push(`"${at}" must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)} (or another allowed value) / 取值不允许`);
        break;
      default:
        out.push(`"${at}" ${e.message ?? 'is invalid'} / 配置无效`);
    }
  }
  return [...new Set(out)];
}

/**
 * Validate (and fill defaults into) a parsed config object. Throws EdgeError CONFIG_INVALID.
 * `base`: the folder the sync TLS files are relative to (the config file's).
 */
export function validateConfig(raw: unknown, source = 'config', base = process.cwd()): Config {
  const copy: unknown = structuredClone(raw ?? {});
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `${source}: the top level must be an object`, { zh: '配置文件顶层必须是对象' });
  }
  if (!validate(copy)) {
    const lines = describeConfigErrors(validate.errors);
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `${source} is invalid:\n  ${lines.join('\n  ')}`, {
      zh: '配置文件有误',
      details: { problems: lines },
    });
  }
  checkEntryConfig(copy.entry);
  checkJobsConfig(copy.jobs);
  checkSyncConfig(copy.sync, source, base);
  checkDrivers(copy.drivers, source);
  return copy;
}

/** The drivers' own checks (drivers/ cannot raise an EdgeError), refused like the rest of the file. */
function checkDrivers(drivers: Config['drivers'], source: string): void {
  try {
    checkDriversConfig(drivers);
  } catch (err) {
    if (!isDriverError(err, 'CONFIG_INVALID')) throw err;
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `${source} is invalid:\n  ${err.message}`, { zh: `配置文件有误：${err.zh ?? '硬件驱动配置有误'}`, cause: err, details: { problems: [err.message] } });
  }
}

function setPath(obj: Record<string, unknown>, keys: string[], value: unknown): void {
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const o of ENV_OVERRIDES) {
    const v = env[o.env];
    if (v === undefined || v === '') continue;
    let value: unknown = v;
    if (o.type === 'integer') {
      if (!/^-?\d+$/.test(v)) {
        throw new EdgeError(ErrorCode.CONFIG_INVALID, `environment ${o.env}="${v}" must be an integer / 环境变量必须是整数`);
      }
      value = Number(v);
    } else if (o.type === 'boolean') {
      if (!['true', 'false', '1', '0'].includes(v)) {
        throw new EdgeError(ErrorCode.CONFIG_INVALID, `environment ${o.env}="${v}" must be true or false / 环境变量必须是 true 或 false`);
      }
      value = v === 'true' || v === '1';
    }
    setPath(raw, o.path, value);
  }
}

/** The config file every command reads when neither --config nor STORE_EDGE_CONFIG names one. */
export const DEFAULT_CONFIG_FILE = 'store-edge.yaml';

/**
 * Read the config file (YAML or JSON): the one given, else $STORE_EDGE_CONFIG, else
 * ./store-edge.yaml when there is one (an empty STORE_EDGE_CONFIG means none). Apply environment
 * overrides, validate, and resolve `data_dir` relative to the file (`dataDir`, the --data-dir
 * option, relative to the current folder). With no file, the defaults
 * are the demo.
 */
export function loadConfig(opts: { file?: string | undefined; dataDir?: string | undefined; env?: NodeJS.ProcessEnv; overrides?: (raw: Record<string, unknown>) => void }): LoadedConfig {
  const env = opts.env ?? process.env;
  // an empty value (an unset shell variable, `--data-dir ""`) would otherwise mean ./data or the demo
  for (const [flag, value] of [['--config', opts.file], ['--data-dir', opts.dataDir]] as const) {
    if (value !== undefined && value.trim() === '') {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${flag} must not be empty: give a ${flag === '--config' ? 'file' : 'folder'}, or leave the option out`, { zh: `${flag} 不能为空：请给出${flag === '--config' ? '配置文件' : '数据目录'}，或不使用该选项` });
    }
  }
  let raw: Record<string, unknown>;
  let file: string | null = null;
  const candidate = opts.file ?? env.STORE_EDGE_CONFIG ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (candidate) {
    file = path.resolve(candidate);
    if (!existsSync(file)) {
      throw new EdgeError(ErrorCode.CONFIG_UNREADABLE, `config file ${file} does not exist`, { zh: `找不到配置文件 ${file}` });
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8')); // YAML is a superset of JSON
    } catch (err) {
      throw new EdgeError(ErrorCode.CONFIG_UNREADABLE, `config file ${file} cannot be parsed: ${(err as Error).message}`, { zh: '配置文件格式错误', cause: err });
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new EdgeError(ErrorCode.CONFIG_INVALID, `config file ${file}: the top level must be a mapping of keys`, { zh: '配置文件顶层必须是键值对' });
    }
    raw = (parsed as Record<string, unknown> | null) ?? {};
  } else {
    raw = { demo: true };
  }
  applyEnvOverrides(raw, env);
  // a folder typed on the command line (or set in the shell's environment) is the current
  // folder's, as any path a shell completes; only a data_dir written in the file is the file's
  if (env.STORE_EDGE_DATA_DIR) raw.data_dir = path.resolve(env.STORE_EDGE_DATA_DIR);
  if (opts.dataDir) raw.data_dir = path.resolve(opts.dataDir);
  opts.overrides?.(raw);
  const base = file ? path.dirname(file) : process.cwd();
  const config = validateConfig(raw, file ?? 'default config', base);
  config.data_dir = path.resolve(base, config.data_dir);
  if (config.keys_dir) config.keys_dir = path.resolve(base, config.keys_dir);
  if (config.http.tls_cert) config.http.tls_cert = path.resolve(base, config.http.tls_cert);
  if (config.http.tls_key) config.http.tls_key = path.resolve(base, config.http.tls_key);
  return { config, file };
}
