/**
 * A browser that opens a page and is refused (an unknown villager, `?page=-1`, a page that does
 * not exist) gets a page in its language with the message and a way back, not the JSON an API
 * client gets. A browser is a GET or HEAD asking for HTML (`Accept: text/html`) of a path
 * outside /api/; everything else keeps the one bilingual JSON body (./errors.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { refusalOf, notFoundBody, type Refusal } from './errors.ts';
import { esc } from './admin-sections.ts';
import { layout } from './pages.ts';
import { langOf } from './lang.ts';

const T = {
  zh: { title: (status: number) => (status === 404 ? '没有找到' : status >= 500 ? '出错了' : '无法显示'), back: '返回管理页' },
  en: { title: (status: number) => (status === 404 ? 'Not found' : status >= 500 ? 'Something went wrong' : 'Cannot be shown'), back: 'Back to admin' },
};

/** A browser opening a page, to be answered with one. */
export function wantsHtmlPage(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (req.url.startsWith('/api/') || req.url === '/api') return false;
  return (req.headers.accept ?? '').includes('text/html');
}

/** The refusal as a page: its language's message first, the other's below, a link home. */
export function errorPage(r: Refusal, req: FastifyRequest, storeName: string): string {
  let lang: 'zh' | 'en' = 'zh';
  try {
    lang = langOf(req);
  } catch {
    // a query that could not be read: Chinese, the store's language
  }
  const t = T[lang];
  const [first, second] = lang === 'en' ? [r.body.message, r.body.zh] : [r.body.zh, r.body.message];
  const title = t.title(r.status);
  return layout(`${storeName} · ${title}`, `<h1>${esc(storeName)} · ${esc(title)}</h1><p class="bad" id="message" role="alert">${esc(first)}<br><small>${esc(second)}</small></p><p><a href="/" id="back">${t.back}</a></p>`, undefined, lang);
}

/** The app's error handler: a page for a browser opening a page, the JSON body for everyone else. */
export function errorPageOrReply(err: unknown, req: FastifyRequest, reply: FastifyReply, storeName: string): FastifyReply {
  const r = refusalOf(err, req);
  if (wantsHtmlPage(req)) return reply.status(r.status).type('text/html; charset=utf-8').send(errorPage(r, req, storeName));
  return reply.status(r.status).send(r.body);
}

/** The app's not-found handler, likewise. */
export function notFoundPageOrReply(req: FastifyRequest, reply: FastifyReply, storeName: string): FastifyReply {
  const body = notFoundBody(req);
  if (wantsHtmlPage(req)) return reply.status(404).type('text/html; charset=utf-8').send(errorPage({ status: 404, body }, req, storeName));
  return reply.status(404).send(body);
}
