/**
 * What a broker's URL and its TLS files must be, for the store's `sync.*` config and the
 * ledger's `--broker`/`--broker-*-file` alike: one rule, so that a value refused by one is
 * refused by the other. Each returns the problem in both languages, or undefined.
 */
const BROKER_SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);
const TLS_SCHEMES = new Set(['mqtts:', 'wss:']);

export interface Problem { en: string; zh: string }

/** An MQTT broker's URL: mqtt://, mqtts://, ws:// or wss:// with a host. */
export function brokerUrlProblem(value: string): Problem | undefined {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url && BROKER_SCHEMES.has(url.protocol) && url.hostname !== '') return undefined;
  return { en: `must be a broker URL such as mqtt://127.0.0.1:1883 (mqtt, mqtts, ws or wss), got ${JSON.stringify(value)}`, zh: '必须是 MQTT 代理地址，例如 mqtt://127.0.0.1:1883（mqtt、mqtts、ws 或 wss）' };
}

/**
 * TLS files (the broker's CA, a client certificate and its key) need a TLS URL: with mqtt:// the
 * CA alone would be ignored and the password sent in clear. A certificate needs its key.
 */
export function brokerTlsProblem(url: string, files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }, names: { ca: string; cert: string; key: string; url: string }): Problem | undefined {
  const given = (['ca', 'cert', 'key'] as const).filter((k) => files[k]);
  if (given.length === 0) return undefined;
  let scheme: string | undefined;
  try {
    scheme = new URL(url).protocol;
  } catch {
    scheme = undefined;
  }
  if (!scheme || !TLS_SCHEMES.has(scheme)) {
    const list = given.map((k) => names[k]).join(', ');
    return { en: `${list} given, but ${names.url} ${JSON.stringify(url)} is not TLS: use mqtts:// (or wss://), or leave the TLS files out; the broker password would otherwise cross the network in clear`, zh: `已设置 ${list}，但 ${names.url} 不是 TLS 地址：请使用 mqtts://（或 wss://），或去掉 TLS 文件；否则密码将以明文传输` };
  }
  if (Boolean(files.cert) !== Boolean(files.key)) {
    return { en: `${names.cert} and ${names.key} go together: give both or neither`, zh: `${names.cert} 和 ${names.key} 必须同时设置或同时不设置` };
  }
  return undefined;
}
