/**
 * The public board's routes, answered without a login: the page, its live part alone (what
 * the page's script fetches) and that script. The page is the one place a script runs, so
 * these replace the admin pages' policy (no script at all) with one that allows only the
 * store's own script: nothing from another origin, no inline script, no CDN.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Db } from '../../ledger/db.ts';
import type { SyncStateSource } from '../queries.ts';
import { boardView } from './view.ts';
import { boardLive, boardPage } from './page.ts';
import { BOARD_SCRIPT } from './client.ts';

export interface BoardRoutesDeps {
  db: () => Db;
  storeName: string;
  sync?: SyncStateSource | undefined;
  clock?: () => Date;
  /** The store's time zone (`jobs.timezone`); undefined: the system's. */
  timeZone?: string | undefined;
}

/** Seconds between the page's refreshes unless `?refresh=N` asks otherwise (2–600). */
export const BOARD_REFRESH_S = 30;

const BOARD_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

const send = (reply: FastifyReply, type: string, body: string) =>
  reply.header('content-security-policy', BOARD_CSP).header('cache-control', 'no-store').type(type).send(body);

export function registerBoardRoutes(app: FastifyInstance, deps: BoardRoutesDeps): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const view = () => boardView(deps.db(), { storeName: deps.storeName, sync: deps.sync, now: (deps.clock ?? (() => new Date()))() });
  typed.get('/board', {
    config: { public: true },
    schema: { querystring: Type.Object({ refresh: Type.Integer({ minimum: 2, maximum: 600, default: BOARD_REFRESH_S }) }) },
  }, async (req, reply) => send(reply, 'text/html; charset=utf-8', boardPage(view(), req.query.refresh, deps.timeZone)));
  typed.get('/board/live', { config: { public: true } }, async (_req, reply) => send(reply, 'text/html; charset=utf-8', boardLive(view(), deps.timeZone)));
  typed.get('/board/board.js', { config: { public: true } }, async (_req, reply) => send(reply, 'text/javascript; charset=utf-8', BOARD_SCRIPT));
}
