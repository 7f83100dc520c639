/**
 * A broker a test can lock: aedes in-process, on TLS with certificates made for the run (openssl,
 * in a temporary folder removed by `close`), and/or asking for a user name and password. For the
 * ways a store or the ledger fails to reach its broker (a wrong password, a CA it does not trust,
 * a client certificate it lacks), which the shared broker cannot be made to refuse.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';

export interface TestCerts {
  dir: string;
  /** The town's own CA, which signed the broker's and the client's certificates. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Another CA, which signed none of them. */
  otherCa: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a broker certificate for 127.0.0.1/localhost and a client certificate, made afresh (EC P-256: fast). */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'test-certs-'));
  const key = (name: string): void => openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);
  const ca = (name: string, cn: string): void => {
    key(`${name}.key`);
    openssl(dir, ['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '2', '-out', `${name}.pem`]);
  };
  const signed = (name: string, cn: string, ext: string): void => {
    key(`${name}.key`);
    openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  };
  ca('ca', 'Test town CA');
  ca('other-ca', 'Some other CA');
  signed('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  signed('client', 'test-client', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string): string => path.join(dir, f);
  return { dir, ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), clientCert: p('client.pem'), clientKey: p('client.key'), otherCa: p('other-ca.pem') };
}

export interface LockedBroker {
  url: string;
  /** Client ids that connected (CONNACK accepted), in order. */
  connected: string[];
  close(): Promise<void>;
}

/**
 * aedes on 127.0.0.1: TLS when `certs` is given (`clientCerts`: a client certificate signed by
 * the CA is required), a user name and password when `password` is given.
 */
export async function startLockedBroker(opts: { certs?: TestCerts; clientCerts?: boolean; username?: string; password?: string }): Promise<LockedBroker> {
  const connected: string[] = [];
  const aedes = await Aedes.createBroker({
    authenticate: (_client, username, password, done) => {
      if (opts.password === undefined) return done(null, true);
      const ok = username === opts.username && password?.toString() === opts.password;
      if (ok) return done(null, true);
      done(Object.assign(new Error('bad user name or password'), { returnCode: 4 }) as Parameters<typeof done>[0], false);
    },
  });
  aedes.on('client', (c) => connected.push(c.id));
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    aedes.handle(s);
  };
  const c = opts.certs;
  const server: net.Server = c
    ? tls.createServer({ key: readFileSync(c.serverKey), cert: readFileSync(c.serverCert), ca: readFileSync(c.ca), requestCert: opts.clientCerts ?? false, rejectUnauthorized: opts.clientCerts ?? false }, track)
    : net.createServer(track);
  if (c) server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${c ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    connected,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

/** Removes the certificates' folder. */
export function removeTestCerts(certs: TestCerts): void {
  rmSync(certs.dir, { recursive: true, force: true });
}
