/**
 * Transport URLs from the config. One parser, so `serial://`, `tcp://` and `sim://` mean the
 * same thing to every driver.
 */
import { DriverError } from '../errors.ts';

export type SerialParity = 'none' | 'even' | 'odd';

export type TransportSpec =
  | { kind: 'serial'; path: string; baudRate: number; parity: SerialParity; stopBits: 1 | 2; url: string }
  | { kind: 'tcp'; host: string; port: number; url: string }
  | { kind: 'sim'; name: string; baudRate: number; url: string };

export const DEFAULT_BAUD = 9600;

/**
 * `serial:///dev/ttyUSB0?baud=9600&parity=none&stop=1` (by-id links work too),
 * `tcp://192.168.1.50:4001` (RTU carried raw over TCP by a serial device server),
 * `sim://rs485` (a named endpoint of the in-process simulator network).
 */
export function parseTransportUrl(url: string): TransportSpec {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new DriverError('CONFIG_INVALID', `not a transport URL: ${url}`, { cause, zh: `${url} 不是连接地址（serial://、tcp:// 或 sim://）` });
  }
  checkParameters(u, url);
  const baudRate = parseBaud(u, url);
  switch (u.protocol) {
    case 'serial:': {
      const path = decodeURIComponent(u.pathname);
      if (!path || path === '/') throw new DriverError('CONFIG_INVALID', `serial URL without a device path: ${url}`, { zh: `串口地址 ${url} 缺少设备路径` });
      const parity = (u.searchParams.get('parity') ?? 'none') as SerialParity;
      if (!['none', 'even', 'odd'].includes(parity)) throw new DriverError('CONFIG_INVALID', `parity must be none, even or odd: ${url}`, { zh: `${url} 的校验位 parity 只能是 none、even 或 odd` });
      const stop = Number(u.searchParams.get('stop') ?? '1');
      if (stop !== 1 && stop !== 2) throw new DriverError('CONFIG_INVALID', `stop bits must be 1 or 2: ${url}`, { zh: `${url} 的停止位 stop 只能是 1 或 2` });
      return { kind: 'serial', path, baudRate, parity, stopBits: stop, url };
    }
    case 'tcp:': {
      const port = Number(u.port);
      if (!u.hostname || !Number.isInteger(port) || port <= 0) throw new DriverError('CONFIG_INVALID', `tcp URL needs host and port: ${url}`, { zh: `TCP 地址 ${url} 须有主机和端口` });
      return { kind: 'tcp', host: u.hostname, port, url };
    }
    case 'sim:': {
      const name = u.host + decodeURIComponent(u.pathname === '/' ? '' : u.pathname);
      if (!name) throw new DriverError('CONFIG_INVALID', `sim URL without a name: ${url}`, { zh: `模拟地址 ${url} 缺少名称` });
      return { kind: 'sim', name, baudRate, url };
    }
    default:
      throw new DriverError('CONFIG_INVALID', `unknown transport scheme ${u.protocol} in ${url} (use serial://, tcp:// or sim://)`, { zh: `${url} 的连接方式 ${u.protocol} 不认识（请用 serial://、tcp:// 或 sim://）` });
  }
}

/** The query parameters each scheme reads; any other is a typo that would be silently ignored. */
const PARAMETERS: Readonly<Record<string, readonly string[]>> = { 'serial:': ['baud', 'parity', 'stop'], 'tcp:': [], 'sim:': ['baud'] };

function checkParameters(u: URL, url: string): void {
  const known = PARAMETERS[u.protocol];
  if (!known) return; // the scheme itself is refused below
  const seen = new Set<string>();
  for (const key of u.searchParams.keys()) {
    if (!known.includes(key)) {
      const allowed = known.length > 0 ? known.join(', ') : 'none';
      throw new DriverError('CONFIG_INVALID', `unknown parameter "${key}" in ${url} (${u.protocol}// takes: ${allowed})`, {
        zh: `${url} 中的参数 ${key} 不认识（${u.protocol}// 可用的参数：${known.length > 0 ? known.join('、') : '无'}）`,
      });
    }
    if (seen.has(key)) throw new DriverError('CONFIG_INVALID', `parameter "${key}" given twice in ${url}`, { zh: `${url} 中的参数 ${key} 出现了两次` });
    seen.add(key);
  }
  if (u.hash) throw new DriverError('CONFIG_INVALID', `unexpected "${u.hash}" in ${url}`, { zh: `${url} 中的 ${u.hash} 不认识` });
}

function parseBaud(u: URL, url: string): number {
  const raw = u.searchParams.get('baud');
  if (raw === null) return DEFAULT_BAUD;
  const baud = Number(raw);
  if (!Number.isInteger(baud) || baud < 300 || baud > 4_000_000) throw new DriverError('CONFIG_INVALID', `bad baud rate in ${url} (an integer from 300 to 4000000)`, { zh: `${url} 的波特率 baud 无效（须为 300 到 4000000 的整数）` });
  return baud;
}

/** Time on the wire for `bytes` at `baud` with 8N1 framing (10 bits per byte). */
export function wireMs(bytes: number, baud: number): number {
  return (bytes * 10 * 1000) / baud;
}
