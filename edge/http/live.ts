/**
 * The live page: the door and the lock, who is inside and their cart, the door's last
 * decisions in plain words and the alarms, pushed to every signed-in tablet over Server-Sent
 * Events (`GET /api/live`) as they change; `GET /api/live/now` is the same picture once, as JSON.
 *
 * Each change is turned into its message once, whatever the number of tablets watching, and a
 * burst of cart changes (a villager lifting goods off a scale) is sent at most every
 * `STORE_COALESCE_MS`; the weights on the shelves (`shelves`, also followed by the /shelves
 * page) only when one changed, at most every `SHELVES_MIN_MS`. A tablet that stops reading is dropped rather than buffered without end.
 * The picture itself (`/api/live/now`, and the first message of each stream) is made once per
 * change for all tablets (./kept-reply.ts): unchanged, it is the same text, and a 304 for a
 * tablet that sends its ETag.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../ledger/db.ts';
import type { StoreConfig } from '../config/schema.ts';
import { getAdminAccount, getAdminSession } from '../ledger/admin-accounts.ts';
import { PUBLIC_PAGE, type SessionEnds } from './auth.ts';
import { recentEntryEvents, storeState, type StoreStateSource } from './queries.ts';
import { PHASE_EN, PHASE_ZH } from './admin-sections.ts';
import { decisionWords } from './door-words.ts';
import type { LiveFeed, LiveTopic } from './live-feed.ts';
import { livePage } from './live-page.ts';
import { LiveNowReply } from './live-schemas.ts';
import { KeptReplies, ledgerVersion, NotModified, scalesVersion } from './kept-reply.ts';
import { langOf, PageQuery, rememberLang } from './lang.ts';
import { shelfItems } from './shelf-actions.ts';
import type { ShelfScales } from './shelf-math.ts';

/** Door decisions the live page lists. */
export const LIVE_DECISIONS = 10;
/** At most one cart/phase message per this many ms (the scales report several times a second). */
export const STORE_COALESCE_MS = 150;
/** At most one shelf-weights message per this many ms (a villager handling goods changes them in bursts). */
export const SHELVES_MIN_MS = 500;
/** A comment line this often keeps proxies and the browser from deciding the stream is dead. */
const HEARTBEAT_MS = 20_000;
/** Tablets watching at once; a village store has one or two. */
const MAX_WATCHERS = 32;
/** A watcher with this much unsent is not reading: it is dropped (its browser reconnects). */
const MAX_BACKLOG_BYTES = 1 << 20;

export interface LiveDeps {
  db: () => Db;
  store: StoreConfig;
  session?: StoreStateSource;
  live?: LiveFeed;
  /** The store's IANA time zone for times on the page. */
  timeZone?: string;
  /** The shelf scales, for the weight on each slot (absent: weights shown as unknown). */
  scales?: () => ShelfScales | undefined;
  /** Told when a session ends in this process (logout): its streams end at once. */
  sessionEnds?: SessionEnds;
}

const asset = (name: string): string => readFileSync(path.join(import.meta.dirname, 'assets', name), 'utf8');
const SCRIPT = asset('live.js');
/** The /shelves page's script: the weights from this stream into its table. */
const SHELVES_SCRIPT = asset('shelves.js');
/** Following the stream, for both: loaded before either (assets/follow-live.js). */
const FOLLOW_SCRIPT = asset('follow-live.js');

export function liveNow(deps: LiveDeps) {
  return { at: new Date().toISOString(), door: doorPart(deps), store: storePart(deps), decisions: decisionsPart(deps), alarms: deps.live?.alarms() ?? [], open_alarms: deps.live?.openAlarms() ?? null, shelves: shelvesPart(deps) };
}

/**
 * What the live picture is made from, as one string (./kept-reply.ts): the ledger, the feed's
 * change count (door, session, cart, decisions, alarms), the session, and what the scales show.
 * Without the feed, changes are not signalled: null, the picture is made afresh.
 */
export function liveVersion(deps: LiveDeps): string | null {
  const scales = scalesVersion(deps.scales);
  if (!deps.live || scales === null) return null;
  const session = deps.session;
  return `${ledgerVersion(deps.db())}|${deps.live.changes}|${session?.phase ?? ''}|${session?.current?.sessionId ?? ''}|${scales}`;
}

/** Each slot: its product, stock, the weight at rest on its scale and the count it makes (as on /shelves). */
const shelvesPart = (deps: LiveDeps) => shelfItems({ db: deps.db, store: deps.store, ...(deps.scales ? { scales: deps.scales } : {}) });

const doorPart = (deps: LiveDeps) => deps.live?.door() ?? { door: 'unknown' as const, lock: 'unknown' as const, unlocked_until: null, since: null };

function storePart(deps: LiveDeps) {
  const s = storeState(deps.db(), deps.session);
  return { ...s, phase_zh: PHASE_ZH[s.phase] ?? s.phase, phase_en: PHASE_EN[s.phase] ?? s.phase };
}

function decisionsPart(deps: LiveDeps) {
  return recentEntryEvents(deps.db(), LIVE_DECISIONS).map((e) => ({
    id: e.id,
    at: e.at,
    decision: e.decision,
    by: e.by,
    villager: e.villager,
    villager_name: e.villager_name,
    unlocked: e.unlocked,
    words_zh: decisionWords(e, 'zh'),
    words_en: decisionWords(e, 'en'),
  }));
}

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * Whether the session a stream was opened with still signs someone in: a logout, a new
 * password (`store-edge admin password`, another process) or the end of the working day ends
 * it, and the stream with it at its next message or heartbeat.
 */
function sessionAlive(db: Db, sid: string): boolean {
  const user = (getAdminSession(db, sid) as { user?: { username?: string } } | undefined)?.user;
  return typeof user?.username === 'string' && getAdminAccount(db, user.username) !== undefined;
}

/** Every tablet watching, and the one listener on the feed that writes to them. */
class Watchers {
  /** Each stream with the session id it was opened with. */
  private readonly replies = new Map<FastifyReply['raw'], string>();
  private storeTimer: NodeJS.Timeout | null = null;
  private shelvesTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly onChange = (topic: LiveTopic): void => this.changed(topic);

  constructor(private readonly deps: LiveDeps) {}

  get size(): number {
    return this.replies.size;
  }

  add(raw: FastifyReply['raw'], sid: string): void {
    if (this.replies.size === 0) {
      this.deps.live?.on('change', this.onChange);
      this.heartbeat = setInterval(() => this.broadcast(': heartbeat\n\n'), HEARTBEAT_MS);
      this.heartbeat.unref();
    }
    this.replies.set(raw, sid);
    raw.on('close', () => this.remove(raw));
  }

  /** Ends the streams of a session that ended here (logout). */
  endSession(sid: string): void {
    for (const [raw, s] of this.replies) if (s === sid) raw.end();
  }

  private remove(raw: FastifyReply['raw']): void {
    if (!this.replies.delete(raw) || this.replies.size > 0) return;
    this.deps.live?.off('change', this.onChange);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.storeTimer) clearTimeout(this.storeTimer);
    if (this.shelvesTimer) clearTimeout(this.shelvesTimer);
    this.heartbeat = this.storeTimer = this.shelvesTimer = null;
  }

  /** Ends every stream (the server is closing: an open stream would hold it open). */
  closeAll(): void {
    for (const raw of [...this.replies.keys()]) raw.end();
  }

  private changed(topic: LiveTopic): void {
    if (topic === 'store') {
      this.storeTimer ??= setTimeout(() => {
        this.storeTimer = null;
        this.send('store', () => storePart(this.deps));
      }, STORE_COALESCE_MS);
      return;
    }
    if (topic === 'shelves') {
      this.shelvesTimer ??= setTimeout(() => {
        this.shelvesTimer = null;
        this.send('shelves', () => shelvesPart(this.deps));
      }, SHELVES_MIN_MS);
      return;
    }
    if (topic === 'door') this.send('door', () => doorPart(this.deps));
    else if (topic === 'decisions') this.send('decisions', () => decisionsPart(this.deps));
    else if (topic === 'open_alarms') this.send('open_alarms', () => this.deps.live?.openAlarms() ?? null);
    else this.send('alarms', () => this.deps.live?.alarms() ?? []);
  }

  private send(event: string, build: () => unknown): void {
    if (this.replies.size === 0) return;
    let text: string;
    try {
      text = frame(event, build());
    } catch (err) {
      // a ledger read that failed now may work at the next change; the stream stays open
      text = frame('problem', { message: (err as Error).message, zh: '读取门店状态失败，稍后自动重试' });
    }
    this.broadcast(text);
  }

  private broadcast(text: string): void {
    let db: Db | null = null;
    for (const [raw, sid] of this.replies) {
      let alive: boolean;
      try {
        alive = sessionAlive((db ??= this.deps.db()), sid);
      } catch {
        alive = false; // the session cannot be confirmed: nothing is sent on it
      }
      if (!alive) {
        raw.end();
        continue;
      }
      if (raw.writableLength > MAX_BACKLOG_BYTES) {
        raw.destroy();
        continue;
      }
      raw.write(text);
    }
  }
}

export function registerLive(app: FastifyInstance, deps: LiveDeps): KeptReplies {
  const watchers = new Watchers(deps);
  // the JSON reply, and the stream's first message (serialised without the route schema)
  const kept = new KeptReplies(2);
  const onSessionEnd = (sid: string): void => watchers.endSession(sid);
  deps.sessionEnds?.on('ended', onSessionEnd);
  app.addHook('onClose', (_app, done) => {
    deps.sessionEnds?.off('ended', onSessionEnd);
    done();
  });
  app.addHook('preClose', (done) => {
    watchers.closeAll();
    done();
  });

  app.get('/api/live/now', { schema: { response: { 200: LiveNowReply, 304: NotModified } } }, async (_req, reply) => kept.send(reply, 'now', liveVersion(deps), () => liveNow(deps)));

  app.get('/api/live', async (req: FastifyRequest, reply: FastifyReply) => {
    if (watchers.size >= MAX_WATCHERS) {
      return reply.status(503).send({ error: 'BUSY', message: `too many live pages open (${MAX_WATCHERS}); close one`, zh: `打开的实时页面太多（最多 ${MAX_WATCHERS} 个），请关掉一个` });
    }
    const first = `event: snapshot\ndata: ${kept.body(reply, 'snapshot', liveVersion(deps), () => liveNow(deps)).body}\n\n`;
    reply.hijack();
    const raw = reply.raw;
    // hijacked: the security headers fastify's hooks would add are written here
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    // a reconnecting browser waits 3 s, and gets a fresh snapshot
    raw.write(`retry: 3000\n\n${first}`);
    watchers.add(raw, req.session.sessionId);
    req.log.debug({ watchers: watchers.size }, 'live page watching');
  });

  app.get('/live', { schema: { querystring: PageQuery } }, async (req, reply) => {
    rememberLang(req, reply);
    return reply.type('text/html; charset=utf-8').send(livePage({ store: deps.store, lang: langOf(req), now: liveNow(deps), timeZone: deps.timeZone }));
  });

  // The pages' scripts that follow this stream, served from here (no CDN; the CSP allows scripts from this origin only).
  app.get('/assets/live.js', { config: PUBLIC_PAGE }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SCRIPT));
  app.get('/assets/shelves.js', { config: PUBLIC_PAGE }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SHELVES_SCRIPT));
  app.get('/assets/follow-live.js', { config: PUBLIC_PAGE }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(FOLLOW_SCRIPT));
  return kept;
}
