/**
 * The store's `sync.*` checks beyond the schema (CONFIG_INVALID, exit 2, naming the key): the
 * broker URL and its TLS files (the same rules as the ledger's --broker and --broker-*-file,
 * cloud-sync/broker-url.ts): TLS files with a plain mqtt:// URL would be ignored and the
 * password sent in clear.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { SyncConfig } from '../../cloud-sync/agent/config.ts';
import { brokerTlsProblem, brokerUrlProblem } from '../../cloud-sync/broker-url.ts';
import { EdgeError, ErrorCode } from '../errors.ts';

/**
 * Also resolves `ca_file`, `cert_file` and `key_file` against `base` (the config file's folder,
 * as http.tls_cert/tls_key) and, while sync is on, refuses one that is not a readable file.
 */
export function checkSyncConfig(sync: SyncConfig, source: string, base: string): void {
  const problems: { en: string; zh: string }[] = [];
  for (const k of ['ca_file', 'cert_file', 'key_file'] as const) {
    const given = sync[k];
    if (!given) continue;
    const file = path.resolve(base, given);
    sync[k] = file;
    if (!sync.enabled) continue;
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      accessSync(file, constants.R_OK);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? { en: 'does not exist', zh: '不存在' } : { en: `cannot be read (${(err as Error).message})`, zh: '无法读取' };
      problems.push({ en: `"sync.${k}" ${given}: ${file} ${why.en}`, zh: `sync.${k} 文件 ${file} ${why.zh}` });
    }
  }
  const url = brokerUrlProblem(sync.broker_url);
  if (url) problems.push({ en: `"sync.broker_url" ${url.en}`, zh: `sync.broker_url ${url.zh}` });
  const tls = url ? undefined : brokerTlsProblem(sync.broker_url, { ca: sync.ca_file, cert: sync.cert_file, key: sync.key_file }, { ca: 'sync.ca_file', cert: 'sync.cert_file', key: 'sync.key_file', url: 'sync.broker_url' });
  if (tls) problems.push(tls);
  if (problems.length === 0) return;
  const lines = problems.map((p) => `${p.en} / ${p.zh}`);
  throw new EdgeError(ErrorCode.CONFIG_INVALID, `${source} is invalid:\n  ${lines.join('\n  ')}`, { zh: `配置文件有误：${problems.map((p) => p.zh).join('；')}`, details: { problems: lines } });
}
