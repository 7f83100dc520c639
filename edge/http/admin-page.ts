/**
 * The admin page (`/`) and how it stays current without reloading: its script
 * (assets/admin.js) asks `GET /api/admin-page?villagers=N` for the HTML of the page's changing
 * parts (pages.ts adminParts) when the live stream says something changed, and every few
 * seconds otherwise (the sync and the parts' health are not on the stream), and puts the parts
 * that differ in place.
 *
 * Many tablets asking the same thing cost one rendering: the parts are kept with the version of
 * what they were made from (the ledger's change counters, the live feed's changes, the session
 * phase, health and sync) and made again only when that moved; an unchanged answer is a 304.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FormRefusal } from './form-fields.ts';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Db } from '../ledger/db.ts';
import { KeptReplies, ledgerVersion, NotModified } from './kept-reply.ts';
import type { StoreConfig } from '../config/schema.ts';
import type { HealthBoard } from '../parts.ts';
import { listSessions } from '../ledger/sessions.ts';
import { villagerPage } from '../ledger/admin-views.ts';
import { listAudit } from '../ledger/audit.ts';
import { listOpenReviewWithTotal } from '../ledger/review.ts';
import { listAdminAccounts } from '../ledger/admin-accounts.ts';
import { adminPage, adminParts, type AdminPartData } from './pages.ts';
import { recentEntryEvents, recentReceipts, stockByProduct, storeState, syncState, type StoreStateSource, type SyncStateSource } from './queries.ts';
import { AdminPageQuery } from './schemas.ts';
import type { LiveFeed } from './live-feed.ts';
import type { AlarmRow } from '../ledger/alarms.ts';
import { PUBLIC_PAGE } from './auth.ts';
import { langOf, rememberLang } from './lang.ts';
import { takeKeptForm } from './signed-out.ts';
import type { Lang } from './door-words.ts';

/** Villagers per admin page (the rest are a link away): the page stays cheap as the village grows. */
export const VILLAGERS_PER_PAGE = 100;
const SCRIPT = readFileSync(path.join(import.meta.dirname, 'assets', 'admin.js'), 'utf8');

/** Villager pages whose parts are kept, per language (the first few are the ones tablets keep open). */
const CACHED_PAGES = 16;

export interface AdminPageDeps {
  store: StoreConfig;
  health: HealthBoard;
  db: () => Db;
  session?: StoreStateSource;
  sync?: SyncStateSource;
  /** Its changes tell when the session, the cart, the door's decisions or the alarms moved; absent: parts are made afresh each time. */
  live?: LiveFeed;
  /** The active alarms (edge/ops/alarms.ts); absent or undefined with alarms.enabled false. */
  alarms?: () => AlarmRow[] | undefined;
  /** The store's time zone (`jobs.timezone`); absent: the system's. */
  timeZone?: string;
}

export const AdminPartsReply = Type.Object({
  parts: Type.Record(Type.String(), Type.String(), { description: 'The HTML of each changing part of the admin page, by its data-part name' }),
});

function partData(deps: AdminPageDeps, page: number, lang: Lang): AdminPartData {
  const db = deps.db();
  const villagers = villagerPage(db, VILLAGERS_PER_PAGE, (page - 1) * VILLAGERS_PER_PAGE);
  // the oldest 20 open review lines and how many are open, in one statement
  const queue = listOpenReviewWithTotal(db, 20);
  return {
    store: deps.store,
    health: deps.health.report(),
    villagers: villagers.villagers,
    villagerPage: { page, perPage: VILLAGERS_PER_PAGE, total: villagers.total },
    sessions: listSessions(db, { limit: 20 }),
    state: storeState(db, deps.session),
    events: recentEntryEvents(db, 20),
    receipts: recentReceipts(db, 10),
    stock: stockByProduct(db),
    sync: syncState(db, deps.sync),
    audit: listAudit(db, { limit: 20 }),
    review: queue.items,
    reviewOpen: queue.total,
    alarms: deps.alarms?.(),
    lang,
    timeZone: deps.timeZone,
  };
}

/** What the parts are made from, as one string: equal strings, equal parts (the ledger's version as in ./kept-reply.ts). */
function version(deps: AdminPageDeps, page: number): string | null {
  if (deps.session && !deps.live) return null;
  return JSON.stringify([page, ledgerVersion(deps.db()), deps.live?.changes ?? 0, deps.session?.phase ?? null, deps.health.report(), deps.sync?.state() ?? null]);
}

/** The whole admin page (villager list page `page`, in the maintainer's language); with a refusal (edge/http/form-refusal.ts), the refused form shows why, with what was typed. */
export function adminPageHtml(deps: AdminPageDeps, req: FastifyRequest, reply: FastifyReply, page: number, refusal?: FormRefusal): string {
  return adminPage({ ...partData(deps, page, langOf(req)), user: req.adminUser!, csrf: reply.generateCsrf(), accounts: listAdminAccounts(deps.db()), ...(refusal ? { refusal } : {}) });
}

export function registerAdminPage(scope: FastifyInstance, deps: AdminPageDeps): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  // the parts made once per change for every tablet, a 304 for one that has them (./kept-reply.ts)
  const kept = new KeptReplies(CACHED_PAGES);

  app.get('/', { schema: { querystring: AdminPageQuery } }, async (req, reply) => {
    rememberLang(req, reply);
    return reply.type('text/html; charset=utf-8').send(adminPageHtml(deps, req, reply, req.query.villagers, takeKeptForm(req)));
  });

  // the page's script, from this origin (the CSP runs no other)
  app.get('/assets/admin.js', { config: PUBLIC_PAGE }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SCRIPT));

  app.get('/api/admin-page', { schema: { querystring: AdminPageQuery, response: { 200: AdminPartsReply, 304: NotModified } } }, async (req, reply) => {
    const page = req.query.villagers;
    const lang = langOf(req);
    return kept.send(reply, `${lang}:${page}`, version(deps, page), () => ({ parts: adminParts(partData(deps, page, lang)) }));
  });
}
