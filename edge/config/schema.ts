/**
 * The config file's schema. Types come from the schema (`Static<>`), defaults live in it,
 * and every part receives only its own slice (see edge/main.ts).
 *
 * Parts outside edge/ (drivers/, models/) export their slice's schema themselves so
 * that they stay independent of the daemon; they are composed here.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DriversConfigSchema } from '../../drivers/config.ts';
import { EntryConfigSchema } from '../entry/config.ts';
import { SessionConfigSchema } from '../session/config.ts';
import { SyncConfigSchema } from '../../cloud-sync/agent/config.ts';
import { JobsConfigSchema } from '../jobs/config.ts';
import { AlarmsConfigSchema } from '../ops/alarms-config.ts';

/** An object whose keys are all optional with defaults, and whose unknown keys are refused. */
export function Section<T extends Record<string, TSchema>>(props: T, description?: string) {
  return Type.Object(props, { additionalProperties: false, default: {}, ...(description ? { description } : {}) });
}

export const StoreSchema = Section({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', default: 'demo-store', description: 'Store id, unique in the village ledger' }),
  village: Type.String({ minLength: 1, maxLength: 64, default: 'demo-village', description: 'Village id the store belongs to' }),
  name: Type.String({ minLength: 1, maxLength: 100, default: '示范村积分超市', description: 'Name shown on the admin page and the public board' }),
}, 'The store and the village it belongs to');

export const HttpSchema = Section({
  host: Type.String({ default: '127.0.0.1', description: 'Address the admin page listens on' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Port of the admin page (0 picks a free port)' }),
  allowed_hosts: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { default: [], description: 'Host names the page answers to besides localhost, 127.0.0.1, ::1, the listen address and (when listening on 0.0.0.0) this machine\'s addresses; a request with another Host header is refused (421), which stops DNS rebinding from a browser on the store PC' }),
  tls_cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate file: with tls_key, the page is served over HTTPS (relative to the config file). Without TLS on an address other than loopback, passwords and session cookies cross the network in clear and the log warns' })),
  tls_key: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file of tls_cert (relative to the config file)' })),
  max_event_loop_utilization: Type.Number({ minimum: 0, maximum: 1, default: 0.9, description: 'When the daemon\'s event loop is busier than this share of the time (the scale sweeps and the lock poll share it), admin page and API requests are answered 503 with Retry-After until it has room; /board, /healthz, /readyz and /metrics are always answered (0 or 1 = never shed)' }),
}, 'Admin page and public board (HTTP)');

export const LogSchema = Section({
  level: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info' }),
  pretty: Type.Optional(Type.Boolean({ description: 'Pretty lines instead of JSON; default: when stdout is a terminal' })),
}, 'Logging (pino)');

export const LedgerSchema = Section({
  credit_floor: Type.Integer({ maximum: 0, default: 0, description: 'Lowest balance any entry may leave; a deduction beyond it becomes debt (0 = no credit; -20 = up to 20 points of credit)' }),
  cli_adjust_max: Type.Integer({ minimum: 0, default: 1000, description: 'Largest award, penalty or adjustment (points, either sign) `store-edge points` makes at the store PC without --force; beyond it the command warns in both languages and exits 2 unless given --force (0 = every one needs --force)' }),
}, 'Local points ledger rules');

export const ConfigSchema = Type.Object(
  {
    data_dir: Type.String({ minLength: 1, default: './data', description: 'Folder for the database, keys and backups (in the file: relative to the config file; from --data-dir or STORE_EDGE_DATA_DIR: to the current folder)' }),
    keys_dir: Type.Optional(Type.String({ minLength: 1, description: 'Folder of the secret keys (face-template key, the store\'s sync signing key, the admin session key) apart from data_dir, e.g. /etc/store-edge/keys (relative to the config file); keys found in data_dir are moved there at start. A folder inside data_dir (also through a symbolic link) keeps nothing apart: warned at start and by store-edge doctor. Default: systemd\'s $CREDENTIALS_DIRECTORY when set (LoadCredential=), else <data_dir>/keys' })),
    demo: Type.Boolean({ default: false, description: 'Run on simulated hardware' }),
    demo_loop: Type.Boolean({ default: true, description: 'In demo mode on simulated hardware: stock an empty ledger with the demo store and let villagers from the scenario files come and go, so the admin page shows the store at work. Unless sync.enabled, it also runs the village ledger (SQLite in <data_dir>/village/) and an embedded MQTT broker beside the store, syncs with them and has the villagers\' points awarded there. Never runs with demo: false or real hardware' }),
    store: StoreSchema,
    http: HttpSchema,
    log: LogSchema,
    ledger: LedgerSchema,
    drivers: DriversConfigSchema,
    entry: EntryConfigSchema,
    session: SessionConfigSchema,
    sync: SyncConfigSchema,
    jobs: JobsConfigSchema,
    alarms: AlarmsConfigSchema,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type StoreConfig = Static<typeof StoreSchema>;
export type HttpConfig = Static<typeof HttpSchema>;
export type LedgerConfig = Static<typeof LedgerSchema>;

/**
 * Environment variables that override the file. Kept to a small documented set: what a
 * maintainer or a service manager needs to change without editing the file.
 */
export const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: string[]; type: 'string' | 'integer' | 'boolean' }> = [
  { env: 'STORE_EDGE_DATA_DIR', path: ['data_dir'], type: 'string' },
  { env: 'STORE_EDGE_HTTP_HOST', path: ['http', 'host'], type: 'string' },
  { env: 'STORE_EDGE_HTTP_PORT', path: ['http', 'port'], type: 'integer' },
  { env: 'STORE_EDGE_LOG_LEVEL', path: ['log', 'level'], type: 'string' },
  { env: 'STORE_EDGE_STORE_ID', path: ['store', 'id'], type: 'string' },
  { env: 'STORE_EDGE_DEMO', path: ['demo'], type: 'boolean' },
];
