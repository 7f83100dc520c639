/**
 * The admin page must never starve the store's own work on this event loop: the scale sweeps,
 * the lock poll and the session timers. When the loop falls behind (its delay measured by
 * `@fastify/under-pressure`), page and API requests are shed with a cheap bilingual 503 and a
 * Retry-After until it catches up; the public board and `/healthz` are still answered.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';

/** Answered even under pressure: the wall screen, and the probes and metrics that report it. */
const ALWAYS = new Set(['/healthz', '/readyz', '/metrics', '/board', '/board/live', '/board/board.js']);
const RETRY_AFTER_S = 2;
/**
 * A busy loop alone is not the page's doing (a start-up, a settlement): requests are shed only
 * while more than this many are in flight at once, the crowd that keeps the loop full.
 */
export const CROWD = 8;

export async function registerPressureGuard(app: FastifyInstance, maxUtilization: number, crowd = CROWD): Promise<void> {
  if (maxUtilization <= 0 || maxUtilization >= 1) return;
  let inFlight = 0;
  app.addHook('onRequest', (_req, _reply, done) => {
    inFlight += 1;
    done();
  });
  const leave = (_req: FastifyRequest, _reply: FastifyReply, done: () => void): void => {
    inFlight -= 1;
    done();
  };
  app.addHook('onResponse', leave);
  app.addHook('onRequestAbort', (req, done) => leave(req, undefined as unknown as FastifyReply, done));
  await app.register(underPressure, {
    maxEventLoopUtilization: maxUtilization,
    // Sampled often enough that a burst is shed within a fraction of a stability wait.
    sampleInterval: 250,
    // The plugin goes on to the route when this returns nothing, and sends what it returns
    // otherwise (its types say void, hence the cast).
    pressureHandler: ((req: FastifyRequest, reply: FastifyReply, _type: string, value: number | undefined) => {
      if (inFlight <= crowd || ALWAYS.has(req.url.split('?')[0]!)) return undefined;
      const pct = Math.round((value ?? 1) * 100);
      reply.status(503).header('Retry-After', String(RETRY_AFTER_S));
      return {
        error: 'BUSY',
        message: `the store is busy (event loop ${pct} % in use, ${inFlight} page requests at once); the page is paused so the shelves keep being weighed; try again in ${RETRY_AFTER_S} s`,
        zh: `门店系统繁忙（事件循环占用 ${pct}%，同时有 ${inFlight} 个页面请求），为保证货架称重，页面暂停响应，请 ${RETRY_AFTER_S} 秒后重试`,
      };
    }) as unknown as (req: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => void,
  });
}
