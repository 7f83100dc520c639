/**
 * DATABASE_URL, the village ledger's PostgreSQL database, said back to whoever set it: shown with
 * its password masked, refused when it is not a PostgreSQL URL, and a server that cannot be
 * reached or will not let the ledger in named as DATABASE_URL's fault (exit 1) with what is
 * wrong (no such database, cannot connect, login refused), never as an internal error.
 */
import { EdgeError, ErrorCode, isEdgeError } from '../../edge/errors.ts';

/** The URL with any password replaced by `***` (and what cannot be parsed shown without its user part). */
export function maskDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Why `url` is not a PostgreSQL URL (postgres:// or postgresql:// with a host), or undefined. */
export function databaseUrlProblem(url: string): { en: string; zh: string } | undefined {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (u && (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname) return undefined;
  const shown = maskDatabaseUrl(url);
  return {
    en: `${JSON.stringify(shown)} is not a PostgreSQL URL; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`,
    zh: `${shown} 不是 PostgreSQL 地址，应为 postgres://用户[:密码]@主机[:端口]/数据库`,
  };
}

/** What PostgreSQL or the network said, in both languages, by its code. */
function reason(e: NodeJS.ErrnoException, url: string): { en: string; zh: string } {
  const code = e.code ?? '';
  let db = '';
  let host = '';
  try {
    const u = new URL(url);
    db = decodeURIComponent(u.pathname.slice(1));
    host = u.host;
  } catch { /* shown whole below */ }
  if (code === '3D000') return { en: `the database ${JSON.stringify(db)} does not exist on ${host}; create it (createdb) or correct the name`, zh: `数据库 ${db} 在 ${host} 上不存在；请先创建（createdb）或改正库名` };
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
  if (e.syscall === undefined && !(err instanceof AggregateError) && !/^(08|28|3D)/.test(e.code ?? '')) return err;
  const said = [e.code, err.message || (err instanceof AggregateError ? err.errors.map((x: Error) => x.message).join('; ') : '')].filter(Boolean).join(': ');
  const why = reason(e, url);
  const shown = maskDatabaseUrl(url);
  return new EdgeError(ErrorCode.DB_IO, `DATABASE_URL ${shown}: ${why.en} (${said})`, { zh: `DATABASE_URL（${shown}）：${why.zh}（${said}）`, cause: err });
}
