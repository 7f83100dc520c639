/**
 * The CSRF token of the login and first-run setup forms, kept apart from the stored sessions:
 * a signed double-submit cookie. Nobody is signed in yet, so there is no session to keep a
 * secret in; a session made for every anonymous visit could be crowded out by anyone fetching
 * the login page (at most MAX_ANONYMOUS_SESSIONS are kept), and the maintainer's right password
 * would then be refused. The cookie `store_login` holds a random nonce (HTTP-only, SameSite
 * Strict); the form's token is that nonce with its HMAC under the session key, so a token is
 * good only with its own cookie and nobody without the key can make one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const LOGIN_CSRF_COOKIE = 'store_login';
const NONCE = /^[A-Za-z0-9_-]{24}$/;
const MAX_AGE_S = 8 * 3600;

export interface LoginCsrfOptions {
  /** The session key (it signs the cookie's nonce). */
  secret: string;
  /** The Secure flag, as on the session cookie. */
  secure: boolean;
}

const mac = (secret: string, nonce: string): string => createHmac('sha256', secret).update(`login-csrf\n${nonce}`).digest('base64url');

/** The token for a login or setup form; sets the cookie when the browser has none yet. */
export function loginCsrfToken(req: FastifyRequest, reply: FastifyReply, o: LoginCsrfOptions): string {
  let nonce = req.cookies[LOGIN_CSRF_COOKIE];
  if (!nonce || !NONCE.test(nonce)) {
    nonce = randomBytes(18).toString('base64url');
    // a Secure cookie would never come back over plain HTTP: none is set there (as for the session's)
    if (!o.secure || req.protocol === 'https') reply.setCookie(LOGIN_CSRF_COOKIE, nonce, { httpOnly: true, sameSite: 'strict', secure: o.secure, path: '/', maxAge: MAX_AGE_S });
  }
  return `${nonce}.${mac(o.secret, nonce)}`;
}

function sentToken(req: FastifyRequest): string | undefined {
  const body = req.body as { _csrf?: unknown } | undefined;
  if (body && typeof body === 'object' && typeof body._csrf === 'string') return body._csrf;
  const h = req.headers['x-csrf-token'] ?? req.headers['csrf-token'] ?? req.headers['x-xsrf-token'] ?? req.headers['xsrf-token'];
  return typeof h === 'string' ? h : undefined;
}

/** Whether the request carries a token made for its own `store_login` cookie. */
export function loginCsrfValid(req: FastifyRequest, o: LoginCsrfOptions): boolean {
  const nonce = req.cookies[LOGIN_CSRF_COOKIE];
  const token = sentToken(req);
  if (!nonce || !NONCE.test(nonce) || !token) return false;
  const expected = Buffer.from(`${nonce}.${mac(o.secret, nonce)}`);
  const got = Buffer.from(token);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
