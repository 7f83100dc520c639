/**
 * What a state-changing request without a session may cost the store. Such a request is never
 * done, but a browser's form is read to its body so the sign-in page can carry what was typed
 * (./signed-out.ts), and anyone on the store's network can send one. So:
 * - a form is read (and kept) only while its declared size is one the pages' forms have
 *   (`ANONYMOUS_FORM_BYTES`); a bigger one, or one without a length, is answered unread, nothing
 *   of it kept;
 * - a face photo is never read for nobody: a browser's upload from the store's own pages gets the
 *   sign-in page (face data is never stored for an anonymous request), anyone else the JSON 401;
 * - each address may send `ANONYMOUS_POSTS_PER_MINUTE` of them a minute, then 429 with
 *   Retry-After: a page in the page's language for a browser, the JSON error for an API client.
 *   The store PC itself (loopback), which runs the daemon, is not counted, as on the public pages.
 * The count is @fastify/rate-limit's (registered in ./auth.ts), one store for every route, made
 * once with its decorator, as the login's is (./auth-routes.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { esc } from './admin-sections.ts';
import { layout } from './pages.ts';
import { langOf } from './lang.ts';
import { isLoopback } from './loopback.ts';
import { fromOwnPages } from './signed-out.ts';

/**
 * The biggest form the pages send is an alarm's note (500 characters, 9 bytes each once a
 * Chinese character is URL-encoded) with its few other fields: well under 8 KiB.
 */
export const ANONYMOUS_FORM_BYTES = 8 * 1024;
/** A maintainer whose sign-in ended sends one or two forms before signing in again. */
export const ANONYMOUS_POSTS_PER_MINUTE = 30;

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const accepts = (req: FastifyRequest): string => req.headers.accept ?? '';
const typeOf = (req: FastifyRequest): string => req.headers['content-type'] ?? '';
const jsonOnly = (req: FastifyRequest): boolean => accepts(req).includes('application/json') && !accepts(req).includes('text/html');

/**
 * How a request without a session is answered: `form`, a browser's form, read to its body for
 * the sign-in page keeping it; `unread`, a browser's form or upload answered with the sign-in page
 * without reading it (`why`); `refused`, the JSON 401 (or the redirect to sign in).
 */
export type AnonymousPost = { kind: 'form' } | { kind: 'unread'; why: 'too_large' | 'photo' } | { kind: 'refused' };

export function anonymousPost(req: FastifyRequest): AnonymousPost {
  if (!UNSAFE.has(req.method)) return { kind: 'refused' };
  if (typeOf(req).startsWith('application/x-www-form-urlencoded') && !jsonOnly(req)) {
    const length = Number(req.headers['content-length']);
    return Number.isInteger(length) && length <= ANONYMOUS_FORM_BYTES ? { kind: 'form' } : { kind: 'unread', why: 'too_large' };
  }
  if (typeOf(req).startsWith('multipart/form-data') && accepts(req).includes('text/html') && fromOwnPages(req)) return { kind: 'unread', why: 'photo' };
  return { kind: 'refused' };
}

const TOO_MANY = {
  zh: (s: number) => `此地址未登录提交的表单过多，已拒绝，本次没有保存任何更改；请 ${s} 秒后再试，或先登录`,
  en: (s: number) => `too many forms sent from this address without signing in: refused, nothing was saved; try again in ${s} s, or sign in first`,
};

/** The 429 of an address over its count: its page (the page's language first) or JSON. */
function tooMany(req: FastifyRequest, reply: FastifyReply, storeName: string): FastifyReply {
  const s = Math.max(1, Number(reply.getHeader('retry-after')) || 60);
  const body = { error: 'RATE_LIMITED', message: TOO_MANY.en(s), zh: TOO_MANY.zh(s) };
  reply.status(429);
  if (UNSAFE.has(req.method) && !jsonOnly(req) && accepts(req).includes('text/html')) {
    const en = langOf(req) === 'en';
    const [title, first, second] = en ? ['Try again later', body.message, body.zh] : ['请稍后再试', body.zh, body.message];
    const html = layout(`${storeName} · ${title}`, `<h1>${esc(storeName)} · ${esc(title)}</h1><p id="message" role="alert">${esc(first)}<br>${esc(second)}</p><p><a href="/login">${en ? 'Sign in 登录' : '登录 Sign in'}</a></p>`, undefined, en ? 'en' : 'zh');
    return reply.type('text/html; charset=utf-8').send(html);
  }
  return reply.send(body);
}

/**
 * The per-address count of requests without a session that change something; call from the
 * auth hook for such a request. True: go on; false: the 429 is sent.
 */
export function anonymousPostLimit(app: FastifyInstance, storeName: string): (req: FastifyRequest, reply: FastifyReply) => Promise<boolean> {
  const count = app.rateLimit({ max: ANONYMOUS_POSTS_PER_MINUTE, timeWindow: 60_000, allowList: (req: FastifyRequest) => isLoopback(req.ip) });
  return async (req, reply) => {
    if (!UNSAFE.has(req.method)) return true;
    try {
      await count.call(app, req, reply);
      return true;
    } catch (err) {
      if ((err as { statusCode?: unknown }).statusCode !== 429) throw err;
      tooMany(req, reply, storeName);
      return false;
    }
  };
}
