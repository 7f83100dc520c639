/**
 * Why an attempt to reach the broker failed, in words a maintainer can act on, and how often
 * that is logged. A store or ledger that cannot reach its broker retries for ever (cloud-sync/
 * mqtt.ts); without this, a wrong password or an untrusted certificate was retried in silence
 * while every store slid into the offline limit.
 */
import type { Logger } from '../edge/log.ts';

export type BrokerFailureReason =
  | 'bad_credentials' | 'not_authorised' | 'refused' | 'certificate_untrusted' | 'certificate_invalid'
  | 'tls_failed' | 'connection_refused' | 'unreachable' | 'closed' | 'timeout' | 'other';

/** The last failed attempt to reach the broker, as /api/sync and /healthz show it. */
export interface BrokerFailure {
  reason: BrokerFailureReason;
  /** English, then Chinese, with the library's own words in brackets. Never holds the password. */
  message: string;
  /** When this reason was first seen (an ISO time); it is reset when the reason changes. */
  since: string;
  /** Attempts failed for this reason since then. */
  attempts: number;
}

const WORDS: Record<BrokerFailureReason, [string, string]> = {
  bad_credentials: ['the broker refused the user name or password', '消息服务器拒绝了用户名或密码'],
  not_authorised: ['the broker refused this client: not authorised', '消息服务器拒绝本客户端：未授权'],
  refused: ['the broker refused the connection', '消息服务器拒绝连接'],
  certificate_untrusted: ['the broker\'s certificate is not trusted (check the CA file)', '消息服务器的证书不受信任（请检查 CA 文件）'],
  certificate_invalid: ['the broker\'s certificate does not fit (wrong host name, or expired)', '消息服务器的证书无效（主机名不符或已过期）'],
  tls_failed: ['the TLS handshake with the broker failed (a client certificate it does not accept, or not a TLS port?)', '与消息服务器的 TLS 握手失败（客户端证书不被接受，或该端口不是 TLS？）'],
  connection_refused: ['nothing accepts connections at the broker\'s address (connection refused)', '消息服务器地址拒绝连接（服务未运行或端口错误）'],
  unreachable: ['the broker\'s address cannot be reached', '无法到达消息服务器地址'],
  closed: ['the broker closed the connection before accepting it (a TLS port reached without TLS, or a client certificate it does not accept?)', '消息服务器在接受连接前关闭了连接（TLS 端口未用 TLS，或客户端证书不被接受？）'],
  timeout: ['the broker did not answer the connection in time', '消息服务器未及时响应连接'],
  other: ['the connection to the broker failed', '连接消息服务器失败'],
};

const UNTRUSTED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'CERT_REJECTED']);
const INVALID = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EHOSTDOWN', 'ENETDOWN']);

/** The reason for `err` (what mqtt.js or the socket reported; undefined: closed with no error). */
export function brokerFailureReason(err: unknown): BrokerFailureReason {
  if (err === undefined) return 'closed';
  const e = err as { code?: unknown; message?: unknown };
  const code = e.code;
  // CONNACK return codes of MQTT 3.1.1 (mqtt.js puts the number in `code`)
  if (code === 4 || code === 134) return 'bad_credentials';
  if (code === 5 || code === 135) return 'not_authorised';
  if (typeof code === 'number') return 'refused';
  if (typeof code === 'string') {
    if (UNTRUSTED.has(code)) return 'certificate_untrusted';
    if (INVALID.has(code)) return 'certificate_invalid';
    if (code === 'ECONNREFUSED') return 'connection_refused';
    if (UNREACHABLE.has(code)) return 'unreachable';
    if (code === 'ECONNRESET' || code === 'EPIPE') return 'closed';
    if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'EPROTO') return 'tls_failed';
  }
  if (typeof e.message === 'string' && /connack timeout/i.test(e.message)) return 'timeout';
  return 'other';
}

/** One line for a log, /api/sync and /healthz: what happened in both languages, and the library's words. */
export function describeBrokerFailure(reason: BrokerFailureReason, err: unknown): string {
  const [en, zh] = WORDS[reason];
  const raw = err instanceof Error ? err.message : undefined;
  return `${en} / ${zh}${raw ? ` (${raw})` : ''}`;
}

/** The broker's URL without a user name or password in it (mqtt://user:pass@host is allowed). */
export function redactBrokerUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/**
 * Keeps the last failure and logs it: the first, each change of reason, a reason that goes on
 * at most once every `repeatMs` (with how many attempts failed), and the broker reached again.
 */
export class BrokerFailureLog {
  private last: BrokerFailure | undefined;
  private loggedAt = 0;

  constructor(private readonly opts: { log?: Logger | undefined; who: string; url: string; repeatMs: number; now?: () => number }) {}

  get current(): BrokerFailure | undefined {
    return this.last;
  }

  failed(err: unknown): void {
    const now = (this.opts.now ?? Date.now)();
    const reason = brokerFailureReason(err);
    const message = describeBrokerFailure(reason, err);
    const changed = this.last?.reason !== reason;
    this.last = changed || !this.last
      ? { reason, message, since: new Date(now).toISOString(), attempts: 1 }
      : { ...this.last, message, attempts: this.last.attempts + 1 };
    if (!changed && now - this.loggedAt < this.opts.repeatMs) return;
    this.loggedAt = now;
    const f = this.last;
    const ctx = { broker: redactBrokerUrl(this.opts.url), client_id: this.opts.who, reason, attempts: f.attempts, since: f.since };
    const level = reason === 'bad_credentials' || reason === 'not_authorised' || reason.startsWith('certificate') || reason === 'tls_failed' ? 'error' : 'warn';
    this.opts.log?.[level](ctx, `cannot reach the MQTT broker, retrying / 无法连接 MQTT 消息服务器，正在重试: ${f.message}`);
  }

  connected(): void {
    const f = this.last;
    if (!f) return;
    this.last = undefined;
    this.loggedAt = 0;
    this.opts.log?.info({ broker: redactBrokerUrl(this.opts.url), client_id: this.opts.who, after: f.reason, attempts: f.attempts }, 'reached the MQTT broker again / 已重新连接 MQTT 消息服务器');
  }
}
