/**
 * The page language: Chinese unless the maintainer switched to English. `?lang=en` (or `zh`) on
 * any page switches and is remembered in the `lang` cookie (a preference, not a secret).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Lang } from './door-words.ts';

export const LANG_COOKIE = 'lang';

/** The `lang` query field every page accepts (`...LangQuery` in its querystring schema). */
export const LangQuery = { lang: Type.Optional(Type.Union([Type.Literal('zh'), Type.Literal('en')], { description: 'Switch the pages\' language (remembered in the `lang` cookie)' })) };
/** The querystring of a page that takes nothing else. */
export const PageQuery = Type.Object(LangQuery);

export function langOf(req: FastifyRequest): Lang {
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  if (q === 'en' || q === 'zh') return q;
  const c = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies?.[LANG_COOKIE];
  return c === 'en' ? 'en' : 'zh';
}

/** Remember a switch made with `?lang=`; a year, for every page. */
export function rememberLang(req: FastifyRequest, reply: FastifyReply): void {
  const q = (req.query as Record<string, unknown> | undefined)?.lang;
  if (q !== 'en' && q !== 'zh') return;
  (reply as FastifyReply & { setCookie?: (n: string, v: string, o: Record<string, unknown>) => unknown }).setCookie?.(LANG_COOKIE, q, { path: '/', sameSite: 'strict', httpOnly: true, maxAge: 365 * 24 * 3600 });
}
