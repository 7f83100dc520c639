/** `store-edge ledger`: run the village ledger, make its signing key, manage its staff accounts. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseIntOption, portOption } from './context.ts';
import { asBadDatabaseUrl, brokerOption, databaseUrlOption, brokerTlsOptions, clientIdOption, hostOption, keyIdOption, newFileOption, villageLedgerFileOption, writableSqliteFileOption } from './ledger-options.ts';
import { createLogger } from '../log.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { writeKeyFile, type KeyFileIo } from '../key-file.ts';
import { runLedger } from '../../cloud-sync/ledger/run.ts';
import { newKeyPair } from '../../cloud-sync/protocol/sign.ts';
import { registerLedgerStaffCommands } from './ledger-staff.ts';
import { backupLedger, backupOutOption, postgresBackupRefusal } from '../../cloud-sync/ledger/backup.ts';

/**
 * `ledger keygen --out FILE`: a new Ed25519 key written whole or not at all (../key-file.ts: a
 * full disk leaves no empty key that a second run would refuse to overwrite); its public key.
 */
export function makeSigningKey(out: string, io?: KeyFileIo): string {
  if (existsSync(out)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${out} exists; refusing to overwrite a signing key`, { zh: `${out} 已存在，不覆盖签名私钥` });
  newFileOption('--out', out);
  const pair = newKeyPair();
  writeKeyFile(out, Buffer.from(pair.privatePem), io);
  return pair.publicPem;
}

export function registerLedgerCommand(program: Command): void {
  const ledger = program.command('ledger').description('the village ledger (MQTT + JSON API) / 村级积分账本');
  ledger
    .command('serve')
    .description('run the village ledger until SIGINT/SIGTERM; PostgreSQL when DATABASE_URL is set / 运行村账本')
    .option('--broker <url>', 'MQTT broker / MQTT 代理地址', process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883')
    .option('--broker-ca-file <pem>', 'TLS: the CA that signed the broker\'s certificate, as the stores\' sync.ca_file (env MQTT_CA_FILE; needs mqtts:// or wss://) / 代理 CA 证书')
    .option('--broker-cert-file <pem>', 'TLS: the ledger\'s client certificate, as sync.cert_file (env MQTT_CERT_FILE) / 客户端证书')
    .option('--broker-key-file <pem>', 'TLS: that certificate\'s private key, as sync.key_file (env MQTT_KEY_FILE) / 客户端证书私钥')
    .option('--client-id <id>', 'MQTT client id, the same at every start so a restarted ledger resumes its broker session (env MQTT_CLIENT_ID; default derived from the database; two ledgers must not share one) / MQTT 客户端标识')
    .option('--db <file>', 'SQLite file when DATABASE_URL is not set / SQLite 文件', './data/village-ledger.sqlite')
    .option('--key-file <pem>', 'Ed25519 private key that signs what the ledger publishes / 签名私钥', './data/ledger-key.pem')
    .option('--key-id <id>', 'id of that key, as configured in the stores / 密钥编号', 'ledger-1')
    .option('--tokens-file <json>', 'API tokens: [{"token","role":"village"|"town","village","name"}] / 接口令牌文件', './data/ledger-tokens.json')
    .option('--host <host>', 'API address / 接口地址', '127.0.0.1')
    .option('--port <n>', 'API port / 接口端口', '8090')
    .option('--evidence-keep-days <n>', 'days an evidence photo is kept, then purged (its claim and audit stay); 0 keeps them for ever / 凭证照片保存天数', '365')
    .option('--alarm-keep-days <n>', 'days a store\'s alarm stays in the history after it cleared, then deleted if a maintainer acknowledged it (unacknowledged ones are kept); 0 keeps them for ever / 门店告警记录保存天数', '365')
    .option('--evidence-purge-cron <cron>', 'when the purges (evidence photos, the stores\' alarm history, forms\' request ids) run, in village time (Asia/Shanghai); "off": only at start / 定期删除时间', '15 3 * * *')
    .option('--qr-key-file <pem>', 'Ed25519 private key that signs villagers\' store-door QR codes (make one with `ledger keygen`; its public key is the stores\' entry.qr_public_key_file) / 进店二维码签名私钥')
    .action(async (o: { clientId?: string; broker: string; brokerCaFile?: string; brokerCertFile?: string; brokerKeyFile?: string; db: string; keyFile: string; keyId: string; tokensFile: string; host: string; port: string; qrKeyFile?: string; evidenceKeepDays: string; alarmKeepDays: string; evidencePurgeCron: string }) => {
      // Every option checked before anything starts (./ledger-options.ts).
      const port = portOption('--port', o.port);
      const brokerUrl = brokerOption('--broker', o.broker);
      const tls = brokerTlsOptions(brokerUrl, { ca: o.brokerCaFile, cert: o.brokerCertFile, key: o.brokerKeyFile }, process.env);
      const keyId = keyIdOption('--key-id', o.keyId);
      const clientId = clientIdOption(o.clientId === undefined && process.env.MQTT_CLIENT_ID ? 'MQTT_CLIENT_ID' : '--client-id', o.clientId ?? (process.env.MQTT_CLIENT_ID || undefined));
      const databaseUrl = databaseUrlOption(process.env);
      const sqliteFile = databaseUrl ? path.resolve(o.db) : writableSqliteFileOption('--db', await villageLedgerFileOption('--db', o.db));
      const host = await hostOption('--host', o.host);
      const log = createLogger({ level: process.env.STORE_EDGE_LOG_LEVEL ?? 'info', pretty: Boolean(process.stdout.isTTY) });
      const run = await runLedger({
        brokerUrl, databaseUrl, sqliteFile, keyFile: o.keyFile, keyId,
        tokensFile: o.tokensFile, host, port, log,
        mqttUsername: process.env.MQTT_USERNAME, mqttPassword: process.env.MQTT_PASSWORD, ...tls, clientId, qrKeyFile: o.qrKeyFile,
        retention: { evidenceKeepDays: parseIntOption('--evidence-keep-days', o.evidenceKeepDays), alarmKeepDays: parseIntOption('--alarm-keep-days', o.alarmKeepDays), cron: o.evidencePurgeCron },
      }).catch((err: unknown) => { throw asBadDatabaseUrl(err); });
      log.info({ url: run.url, mqtt_client_id: run.clientId, db: databaseUrl ? 'postgres' : o.db, qr: Boolean(o.qrKeyFile) }, `village ledger / 村账本: ${run.url} (villager page ${run.url}/m/, roll-up ${run.url}/town)`);
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      log.info({ signal }, 'stopping / 正在停止');
      await run.stop();
    });
  ledger
    .command('keygen')
    .description('write a new Ed25519 signing key (0600) and print its public key for the stores / 生成签名密钥')
    .requiredOption('--out <file>', 'private key file to create / 私钥文件')
    .action((o: { out: string }) => {
      process.stdout.write(makeSigningKey(o.out));
    });
  ledger
    .command('backup')
    .description('copy the village ledger\'s SQLite file while it runs, checked (integrity_check) before it gets its name; never overwrites; on PostgreSQL use pg_dump / 在线备份村账本')
    .option('--db <file>', 'the village ledger\'s SQLite file / 村账本 SQLite 文件', './data/village-ledger.sqlite')
    .requiredOption('--out <file>', 'the copy to create (must not exist) / 备份文件（不得已存在）')
    .option('--json', 'print the result as JSON / 以 JSON 输出')
    .action(async (o: { db: string; out: string; json?: boolean }) => {
      if (databaseUrlOption(process.env) !== undefined) throw postgresBackupRefusal();
      const db = await villageLedgerFileOption('--db', o.db, { existing: true });
      const out = newFileOption('--out', backupOutOption(o.out, db)); // a folder this user may not write: bad input, named
      const r = await backupLedger(db, out);
      process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `village ledger copied / 村账本已备份: ${r.file} (${r.bytes} bytes, integrity_check ok, ${r.villages} villages / 村, ${r.stores} stores / 门店)\n`);
    });
  registerLedgerStaffCommands(ledger);
}
