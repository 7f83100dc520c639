/**
 * The store's `sync.*` checks beyond the schema (CONFIG_INVALID, exit 2, naming the key): the
 * broker URL and its TLS files (the same rules as the ledger's --broker and --broker-*-file,
 * cloud-sync/broker-url.ts): TLS files with a plain mqtt:// URL would be ignored and the
 * password sent in clear.
 */
import type { SyncConfig } from '../../cloud-sync/agent/config.ts';
import { brokerTlsProblem, brokerUrlProblem } from '../../cloud-sync/broker-url.ts';
import { EdgeError, ErrorCode } from '../errors.ts';

export function checkSyncConfig(sync: SyncConfig, source: string): void {
  const problems: { en: string; zh: string }[] = [];
  const url = brokerUrlProblem(sync.broker_url);
  if (url) problems.push({ en: `"sync.broker_url" ${url.en}`, zh: `sync.broker_url ${url.zh}` });
  const tls = url ? undefined : brokerTlsProblem(sync.broker_url, { ca: sync.ca_file, cert: sync.cert_file, key: sync.key_file }, { ca: 'sync.ca_file', cert: 'sync.cert_file', key: 'sync.key_file', url: 'sync.broker_url' });
  if (tls) problems.push(tls);
  if (problems.length === 0) return;
  const lines = problems.map((p) => `${p.en} / ${p.zh}`);
  throw new EdgeError(ErrorCode.CONFIG_INVALID, `${source} is invalid:\n  ${lines.join('\n  ')}`, { zh: `配置文件有误：${problems.map((p) => p.zh).join('；')}`, details: { problems: lines } });
}
