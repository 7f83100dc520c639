/**
 * The village beside the demo store (`npm start`): the embedded aedes broker and the village
 * ledger (`store-edge ledger serve`'s code, on SQLite in `<data_dir>/village/`), so that the
 * demo's points come the way a real store's do: awarded at the village ledger through its API,
 * signed, and carried to the store over MQTT by the sync agent.
 *
 * On first start it makes the village's files, readable by this user only (the folder 0700,
 * files 0600): the ledger's signing key, the API token file (a `town` token, which creates the
 * village, and two named village tokens: `office`, which enters its store, villagers and points
 * and files the good deeds, and `review`, which approves them, since a named token does not
 * approve what it filed itself) and the database. On every start it registers the village, this store's public key and the demo's
 * villagers with the ledger through the API, and awards their opening points there (ids
 * `demo-opening:<villager>`, so a restart awards nothing twice).
 *
 * The store's sync agent starts after this part and reads the broker's address and the
 * ledger's public key from it (index.ts), known only once the broker is listening.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../edge/log.ts';
import type { Part } from '../../edge/parts.ts';
import { loadOrCreateStoreKey } from '../../cloud-sync/agent/identity.ts';
import { runLedger } from '../../cloud-sync/ledger/run.ts';
import { newKeyPair } from '../../cloud-sync/protocol/sign.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.ts';
import type { DemoStore } from './store.ts';

/** The key id the demo ledger signs with, as the store's `sync.ledger_public_keys` names it. */
export const DEMO_LEDGER_KEY_ID = 'village-ledger-1';
const VILLAGE_NAME = '示范村';

export interface DemoVillageDeps {
  store: DemoStore;
  dataDir: string;
  address: { village: string; store: string };
  storeKeyId: string;
  /** Whether the store's ledger is the demo's own: only then are the demo's villagers registered. */
  isDemoLedger: () => boolean;
}

interface Running {
  broker: EmbeddedBroker;
  stop: () => Promise<void>;
  apiUrl: string;
  token: string;
  /** The village office's token, named `office` (files the demo's good deeds, and everything else the village does). */
  villageToken: string;
  /** The village's second token, named `review`: it approves the good deeds `office` filed. */
  reviewToken: string;
  ledgerPublicPem: string;
}

/** An entry of the tokens file (cloud-sync/ledger/run.ts loadTokens). */
export type TokenEntry = { token: string; role: string; village?: string; name?: string };

/**
 * The village office's own tokens in the demo's tokens file, added to it where missing (the town
 * reads villages, it files nothing in them): `office` files the demo's good deeds and `review`
 * approves them, as two people of the office would (a named token does not approve what it filed
 * itself, governance/duties.ts). An older demo's unnamed village token becomes `office`.
 */
export function officeTokens(tokens: TokenEntry[], village: string): { office: string; review: string } {
  const ours = (t: TokenEntry) => t.role === 'village' && t.village === village;
  // names are one across the whole file, whatever the case (run.ts loadTokens refuses a second `Office`)
  const same = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();
  const taken = (name: string): boolean => tokens.some((t) => same(t.name, name));
  const older = tokens.find((t) => ours(t) && t.name === undefined);
  if (older && !taken('office')) older.name = 'office';
  const named = (name: string): string => {
    let t = tokens.find((e) => ours(e) && same(e.name, name));
    if (t) return t.token;
    // the name is another village's (the demo's village id changed): this village's own, with its id
    const own = taken(name) ? `${name}-${village.replace(/[^A-Za-z0-9._-]/g, '_')}`.slice(0, 64) : name;
    t = tokens.find((e) => ours(e) && same(e.name, own));
    if (!t) tokens.push((t = { token: randomBytes(24).toString('base64url'), role: 'village', village, name: own }));
    return t.token;
  };
  return { office: named('office'), review: named('review') };
}

/** A file of ours, created 0600 with `content()` when absent, its mode tightened when found open. */
function privateFile(file: string, content: () => string): string {
  if (!existsSync(file)) writeFileSync(file, content(), { mode: 0o600, flag: 'wx' });
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return readFileSync(file, 'utf8');
}

export class DemoVillage implements Part {
  readonly name = 'village ledger';
  /** The demo without its village would sell on points that never come: it does not start. */
  readonly critical = true;
  private running: Running | undefined;

  constructor(private readonly deps: DemoVillageDeps, private readonly log: Logger) {}

  /** The village's folder: database, signing key and API tokens. */
  get dir(): string {
    return path.join(this.deps.dataDir, 'village');
  }

  async start(): Promise<void> {
    const dir = this.dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const keyFile = path.join(dir, 'ledger-key.pem');
    const ledgerPublicPem = createPublicKey(createPrivateKey(privateFile(keyFile, () => newKeyPair().privatePem))).export({ type: 'spki', format: 'pem' }).toString();
    const tokensFile = path.join(dir, 'api-tokens.json');
    const tokens = JSON.parse(privateFile(tokensFile, () => `${JSON.stringify([{ token: randomBytes(24).toString('base64url'), role: 'town' }], null, 2)}\n`)) as TokenEntry[];
    const token = tokens.find((t) => t.role === 'town')?.token;
    if (!token) throw new Error(`${tokensFile} holds no town token / 令牌文件中没有镇级令牌`);
    const before = JSON.stringify(tokens);
    const { office: villageToken, review: reviewToken } = officeTokens(tokens, this.deps.address.village);
    if (JSON.stringify(tokens) !== before) writeFileSync(tokensFile, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
    const sqliteFile = path.join(dir, 'ledger.sqlite');
    privateFile(sqliteFile, () => '');

    const broker = await startEmbeddedBroker();
    try {
      // The demo store trusts the opening's QR key (demo.ts, keys/demo-qr-private.pem): the
      // village ledger signs its villagers' phone QR codes with it, so /m/ codes open the door.
      const qrKeyFile = path.join(this.deps.dataDir, 'keys', 'demo-qr-private.pem');
      const run = await runLedger({ brokerUrl: broker.url, databaseUrl: undefined, sqliteFile, keyFile, keyId: DEMO_LEDGER_KEY_ID, tokensFile, host: '127.0.0.1', port: 0, log: this.log, qrKeyFile: existsSync(qrKeyFile) ? qrKeyFile : undefined });
      this.running = { broker, stop: run.stop, apiUrl: run.url, token, villageToken, reviewToken, ledgerPublicPem };
    } catch (err) {
      await broker.close();
      throw err;
    }
    try {
      await this.register();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.log.info({ api: this.running.apiUrl, broker: broker.url, tokens: tokensFile, villager_page: `${this.running.apiUrl}/m/`, rollup_page: `${this.running.apiUrl}/town` }, `village ledger / 村账本: ${this.running.apiUrl} (token in ${tokensFile}), MQTT ${broker.url}; villager page ${this.running.apiUrl}/m/, roll-up ${this.running.apiUrl}/town`);
  }

  async stop(): Promise<void> {
    const r = this.running;
    this.running = undefined;
    if (!r) return;
    await r.stop();
    await r.broker.close();
  }

  /** The village ledger's JSON API (once started); its token is in `<dir>/api-tokens.json`. */
  get apiUrl(): string {
    return this.required().apiUrl;
  }

  /** The embedded broker's address (once started). */
  get brokerUrl(): string {
    return this.required().broker.url;
  }

  /** The ledger's public key, for the store's `sync.ledger_public_keys` (once started). */
  get ledgerPublicKeys(): Array<{ id: string; pem: string }> {
    return [{ id: DEMO_LEDGER_KEY_ID, pem: this.required().ledgerPublicPem }];
  }

  private required(): Running {
    if (!this.running) throw new Error('the demo village is not running / 演示村账本未启动');
    return this.running;
  }

  /** An award made at the village ledger through its API; resolves once the ledger holds it (201, or 200 for an id it already had). */
  async award(villager: string, points: number, id: string, reason: string): Promise<void> {
    await this.api('POST', `/api/villages/${this.deps.address.village}/entries`, { id, villager, kind: 'award', points, reason }, [200, 201]);
  }

  /** The village, this store and the demo's villagers, as the village office would enter them. */
  private async register(): Promise<void> {
    const { address, store, storeKeyId, dataDir } = this.deps;
    const v = address.village;
    // 200: the village is there from an earlier start (the same id and name: a retry)
    await this.api('POST', '/api/villages', { id: v, name: VILLAGE_NAME }, [200, 201], 'town');
    const storeKey = loadOrCreateStoreKey(dataDir, storeKeyId);
    await this.api('PUT', `/api/villages/${v}/stores/${address.store}`, { key_id: storeKeyId, public_key: createPublicKey(storeKey.key).export({ type: 'spki', format: 'pem' }).toString() }, [200]);
    if (!this.deps.isDemoLedger()) return;
    for (const p of store.villagers) {
      const known = await this.api('GET', `/api/villages/${v}/villagers/${p.id}`, undefined, [200, 404]);
      if (known === 404) await this.api('PUT', `/api/villages/${v}/villagers/${p.id}`, { name: p.name }, [200]);
      if (p.balance > 0) await this.award(p.id, p.balance, `demo-opening:${p.id}`, '演示开业积分 / demo opening balance');
    }
    await this.goodDeeds();
  }

  /**
   * A few good deeds filed by the village office (`office`) and approved by another of its tokens
   * (`review`), once (on a fresh demo ledger), so
   * the public board's red list and good deeds are not empty: points earned from rule items, as
   * in a real village (opening balances are plain awards and do not rank).
   */
  private async goodDeeds(): Promise<void> {
    const v = this.deps.address.village;
    const r = this.required();
    const existing = (await this.call('GET', `/api/villages/${v}/claims`, undefined, [200], r.villageToken)) as { claims: unknown[] };
    if (existing.claims.length > 0) return;
    const maintainer = this.deps.store.maintainer?.id;
    const who = this.deps.store.villagers.filter((p) => p.id !== maintainer).slice(0, 3);
    const deeds = [
      { item: 'CIV-GOOD-DEED', points: 10, evidence: 'witness:村委会', note: '拾到钱包交还失主' },
      { item: 'CIV-FILIAL', points: 6, evidence: 'witness:邻居', note: '照顾独居老人' },
      { item: 'ENV-SORT-GARBAGE', points: 1, note: '垃圾分类投放到位' },
    ];
    for (const [i, p] of who.entries()) {
      const d = deeds[i % deeds.length]!;
      const claim = (await this.call('POST', `/api/villages/${v}/reports`, { ...d, villager: p.id }, [201], r.villageToken)) as { id: string };
      await this.call('POST', `/api/villages/${v}/claims/${claim.id}/approve`, {}, [200], r.reviewToken);
    }
  }

  /** With the village's token, or the town's (which creates villages, and reads but manages none of them). */
  private async api(method: string, route: string, body: unknown, ok: number[], as: 'town' | 'village' = 'village'): Promise<number> {
    const r = this.required();
    return (await this.request(method, route, body, ok, as === 'town' ? r.token : r.villageToken)).status;
  }

  /** A request with the given token; its JSON answer. */
  private async call(method: string, route: string, body: unknown, ok: number[], token: string): Promise<unknown> {
    const { text } = await this.request(method, route, body, ok, token);
    return text ? JSON.parse(text) : undefined;
  }

  private async request(method: string, route: string, body: unknown, ok: number[], token: string): Promise<{ status: number; text: string }> {
    const r = this.required();
    const res = await fetch(new URL(route, r.apiUrl), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!ok.includes(res.status)) throw new Error(`village ledger ${method} ${route}: ${res.status} ${text.slice(0, 300)} / 村账本请求失败`);
    return { status: res.status, text };
  }
}
