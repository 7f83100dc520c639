/** The `sync` slice of the store's config: how the store reaches the village ledger. */
import { Type, type Static } from '@sinclair/typebox';

const Opt = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Optional(t);

export const SyncConfigSchema = Type.Object({
  enabled: Type.Boolean({ default: false, description: 'Connect to the village ledger over MQTT (village and store ids come from `store`)' }),
  broker_url: Type.String({ minLength: 1, default: 'mqtt://127.0.0.1:1883', description: 'MQTT broker: mqtt://host:port, or mqtts:// for TLS (ws:// and wss:// too); anything else is refused at load, as the ledger\'s --broker' }),
  username: Opt(Type.String({ description: 'Broker user name' })),
  password: Opt(Type.String({ description: 'Broker password' })),
  ca_file: Opt(Type.String({ description: 'TLS: PEM file of the CA that signed the broker certificate (relative to the config file; with sync enabled a missing file is refused at load); needs an mqtts:// or wss:// broker_url (with mqtt:// it is refused at load: it would be ignored and the password sent in clear)' })),
  cert_file: Opt(Type.String({ description: 'TLS: this store\'s client certificate (PEM, relative to the config file); with key_file, and an mqtts:// or wss:// broker_url' })),
  key_file: Opt(Type.String({ description: 'TLS: the client certificate\'s private key (PEM, relative to the config file); with cert_file' })),
  ledger_public_keys: Type.Array(
    Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), pem: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    { default: [], description: 'Ed25519 public keys of the village ledger, each `{id, pem}`: `id` the key id the ledger signs with (its `--key-id`, 1–64 characters, e.g. "ledger-1"), `pem` the public key\'s PEM text itself (what `store-edge ledger keygen` prints, "-----BEGIN PUBLIC KEY-----…", a YAML block `|`), not a file name; two during a key rotation (docs/sync-protocol.md, "Key rotation"). Read when the daemon starts only: after changing them, restart the store\'s daemon' },
  ),
  store_key_id: Type.String({ minLength: 1, maxLength: 64, default: 'store', description: 'Key id of this store\'s signing key (the key itself is <data_dir>/sync-store-key.pem, created at first start)' }),
  offline_daily_limit: Type.Integer({ minimum: 0, default: 200, description: 'Points a villager may spend per calendar day of the store (midnight to midnight in jobs.timezone, the system\'s time zone when unset) in this store while the ledger is out of reach, which bounds a double spend across stores (what counts: purchases and review charges here not yet acknowledged, less their refunds; debt repayments do not count; docs/sync-offline.md, "Offline"): the door names the cap and refuses once it is spent; a settlement beyond it is charged with an offline_limit review line' }),
  offline_after_s: Type.Integer({ minimum: 1, default: 600, description: 'The ledger counts as out of reach after this long without fresh word from it, and so does a store that has been behind the village stream this long, or whose own rows the ledger has not acknowledged for this long: the offline limit applies (docs/sync-offline.md, "Offline")' }),
  batch_size: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Outbox rows per message' }),
  window: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000, description: 'Outbox rows in flight (sent, not yet acknowledged)' }),
  retransmit_ms: Type.Integer({ minimum: 10, default: 2000, description: 'First wait for an acknowledgement before sending again; doubles each time' }),
  retransmit_max_ms: Type.Integer({ minimum: 10, default: 60_000, description: 'Longest wait between two sends of one row' }),
  reconnect_ms: Type.Integer({ minimum: 10, default: 1000, description: 'Longest wait between two attempts to reach the broker: after a drop the first attempt comes within a tenth of it, and each failed one doubles the wait up to it, half of each wait random; only a connection that held this long starts afresh (cloud-sync/mqtt.ts)' }),
  poll_ms: Type.Integer({ minimum: 10, default: 500, description: 'How often the outbox is looked at for new rows' }),
  heartbeat_s: Type.Integer({ minimum: 1, default: 30, description: 'Heartbeat period (outbox depth, last acknowledged seq). Connected with no answer from the village ledger for 3 periods, at least 60 s, raises ledger_silent' }),
  clock_skew_s: Type.Integer({ minimum: 0, default: 300, description: 'How far ahead of this store\'s clock the ledger\'s may run: a village stream event issued later than that is refused, and 3 running raise the clock_skew alarm. Not the other way: the ledger refuses a store\'s batches signed more than 5 minutes ahead of its clock, a fixed bound' }),
}, { additionalProperties: false, default: {}, description: 'Sync with the village ledger over MQTT (docs/sync-protocol.md)' });

export type SyncConfig = Static<typeof SyncConfigSchema>;
