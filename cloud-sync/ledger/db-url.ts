/**
 * DATABASE_URL, the village ledger's PostgreSQL database, said back to whoever set it: shown with
 * its password masked, refused when it is not a PostgreSQL URL, and a server that cannot be
 * reached or will not let the ledger in named as DATABASE_URL's fault (exit 1) with what is
 * wrong (no such database, cannot connect, login refused), never as an internal error.
 */
import { EdgeError, ErrorCode, isEdgeError } from '../../edge/errors.ts';

/**
 * The URL with any password replaced by `***`. Read as text, not by the URL parser: a password
 * holding a `/` (`postgres://u:pa/ss@host/db`) does not parse, and one of digits after a `/`
 * parses as a port and a path (`postgres://u:1234/x@host/db`), so the parser's idea of the
 * password cannot be trusted to find it. Everything after the user's name up to the LAST `@` is
 * masked (masking a path's `@` too is the safe side), with or without the `//`, and a
 * `password=` or `sslpassword=` of the query or of libpq's key=value form.
 */
export function maskDatabaseUrl(url: string): string {
  let shown = url;
  const at = shown.lastIndexOf('@');
  if (at >= 0) {
    // the scheme (with or without //), the user's name, then the password up to the last @
    const m = /^([a-z][a-z0-9+.-]*:(?:\/\/)?)([^:]*):/i.exec(shown.slice(0, at));
    if (m) shown = `${m[1]}${m[2]}:***${shown.slice(at)}`;
  }
  // password= (and sslpassword=) of a query, or of libpq's key=value form (`host=h password=p`)
  return shown.replace(/(^|[\s?&;])((?:ssl)?password\s*=\s*)('[^']*'|[^&#\s]*)/gi, '$1$2***');
}

/**
 * How long the ledger waits for the server to let it in on a new connection before giving up
 * (pg's own default is for ever: a host that drops packets, or a server that takes the connection
 * and never answers, hung the ledger at start). libpq's `connect_timeout` of the URL, in whole
 * seconds (`…/ledger?connect_timeout=30`; 0 waits for ever, as libpq's does), else 10 s. Only the
 * connecting: a query or a transaction, however long, is not limited by it, nor is waiting for one
 * of the pool's connections while all are busy.
 */
export const DEFAULT_CONNECT_TIMEOUT_S = 10;

/** `connect_timeout` of the URL's query when it is one, or undefined (none, or no URL to read). */
function connectTimeoutParam(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get('connect_timeout') ?? undefined;
  } catch {
    return undefined;
  }
}

/** The connect timeout of `url` in milliseconds (0: none); DEFAULT_CONNECT_TIMEOUT_S when it names none or one not valid (databaseUrlProblem refuses those at start). */
export function connectTimeoutMs(url: string): number {
  const given = connectTimeoutParam(url);
  const s = given !== undefined && /^\d{1,6}$/.test(given) ? Number(given) : DEFAULT_CONNECT_TIMEOUT_S;
  return s * 1000;
}

/** pg's words when a new connection's time ran out (its client's, its pool's). */
const CONNECT_TIMED_OUT = /^(timeout expired|Connection terminated due to connection timeout)$/;

/** The server a URL names: its host, or the `host` of its query (a unix socket's folder). */
function serverOf(u: URL): string {
  return u.host || u.searchParams.get('host') || '';
}

/**
 * Why `url` is not a PostgreSQL URL, or undefined: postgres:// or postgresql:// (a server by host,
 * postgres://USER@HOST/DB, by the `host` of the query as a unix socket is named,
 * postgres:///DB?host=/run/postgresql, or none, pg's default), or socket:///run/postgresql?db=DB:
 * every form pg takes.
 */
export function databaseUrlProblem(url: string): { en: string; zh: string } | undefined {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  const shown = maskDatabaseUrl(url);
  const pgUrl = u !== undefined && (u.protocol === 'postgres:' || u.protocol === 'postgresql:' || (u.protocol === 'socket:' && u.pathname.length > 1));
  const timeout = connectTimeoutParam(url);
  if (pgUrl && timeout !== undefined && !/^\d{1,6}$/.test(timeout)) {
    return {
      en: `${JSON.stringify(shown)}: connect_timeout ${JSON.stringify(timeout)} is not a whole number of seconds (0 waits for ever; without it ${DEFAULT_CONNECT_TIMEOUT_S} s)`,
      zh: `${shown}：connect_timeout（${timeout}）不是整数秒（0 表示一直等待；不写则为 ${DEFAULT_CONNECT_TIMEOUT_S} 秒）`,
    };
  }
  if (pgUrl) return undefined;
  return {
    en: `${JSON.stringify(shown)} is not a PostgreSQL URL; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or postgres:///DATABASE?host=/SOCKET/FOLDER)`,
    zh: `${shown} 不是 PostgreSQL 地址，应为 postgres://用户[:密码]@主机[:端口]/数据库（或 postgres:///数据库?host=/套接字目录）`,
  };
}

/** What PostgreSQL or the network said, in both languages, by its code (`timedOut`: pg's connect timeout, which has none). */
function reason(e: NodeJS.ErrnoException, url: string, timedOut: boolean): { en: string; zh: string } {
  const code = e.code ?? '';
  let db = '';
  let host = '';
  try {
    const u = new URL(url);
    db = u.protocol === 'socket:' ? u.searchParams.get('db') ?? '' : decodeURIComponent(u.pathname.slice(1));
    host = u.protocol === 'socket:' ? u.pathname : serverOf(u);
  } catch { /* shown whole below */ }
  if (code === '3D000') return { en: `the database ${JSON.stringify(db)} does not exist on ${host}; create it (createdb) or correct the name`, zh: `数据库 ${db} 在 ${host} 上不存在；请先创建（createdb）或改正库名` };
  if (timedOut) {
    const s = connectTimeoutMs(url) / 1000;
    return { en: `the server ${host} did not answer within ${s} s (a host that drops packets, a firewall, or a server that does not respond; DATABASE_URL's connect_timeout sets the wait, in seconds)`, zh: `数据库服务器 ${host} 在 ${s} 秒内没有应答（主机丢包、防火墙拦截或服务器无响应；等待时间由 DATABASE_URL 的 connect_timeout 设置，单位为秒）` };
  }
  if (code.startsWith('28')) return { en: `the server ${host} refused the login (wrong user or password)`, zh: `服务器 ${host} 拒绝登录（用户名或密码不对）` };
  return { en: `cannot connect to the server ${host}`, zh: `无法连接数据库服务器 ${host}` };
}

/**
 * `err` as DATABASE_URL's fault when it is the connection's (a system error of node's, an
 * AggregateError of several addresses, or PostgreSQL's classes 08 connection, 28 authorization
 * and 3D no such database); else `err` as it was.
 */
export function databaseUrlError(err: unknown, url: string | undefined): unknown {
  if (!url || isEdgeError(err) || !(err instanceof Error)) return err;
  const e = err as NodeJS.ErrnoException;
  // pg's connect timeout is a bare Error("timeout expired"), without a code
  const timedOut = e.code === undefined && CONNECT_TIMED_OUT.test(err.message);
  if (!timedOut && e.syscall === undefined && !(err instanceof AggregateError) && !/^(08|28|3D)/.test(e.code ?? '')) return err;
  const said = [e.code, err.message || (err instanceof AggregateError ? err.errors.map((x: Error) => x.message).join('; ') : '')].filter(Boolean).join(': ');
  const why = reason(e, url, timedOut);
  const shown = maskDatabaseUrl(url);
  return new EdgeError(ErrorCode.DB_IO, `DATABASE_URL ${shown}: ${why.en} (${said})`, { zh: `DATABASE_URL（${shown}）：${why.zh}（${said}）`, cause: err });
}
