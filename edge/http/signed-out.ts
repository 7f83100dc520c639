/**
 * A browser's form sent after its sign-in ended (signed out in another tab, or the 8 hours
 * over): nothing is done; the tab gets the sign-in page saying so, with what was typed carried in
 * the login form (`kept`), and after signing in it is back on the form's page with those values
 * in the fields. The values are only shown: the page has the new session's token, and nothing is
 * done until the maintainer presses the button again, so a post from another site that lands
 * here can at most fill a form in, never act. Passwords and tokens are never kept, and nothing is
 * kept from a form another site sent (the session cookie is SameSite=Strict, so every such post
 * lands here as signed out): its values would be put before the maintainer as what they typed.
 *
 * The request is let through to its body (a urlencoded form of at most ANONYMOUS_FORM_BYTES,
 * ./anonymous-posts.ts, which also counts such posts per address) but never to its handler: the
 * auth hook's preValidation raises `SignedOutError` before the CSRF check and the schema, and the
 * route's form error handler (./form-refusal.ts) answers with the sign-in page; an API client gets
 * the JSON 401 as before. A bigger form and a photo upload get the sign-in page unread.
 *
 * Nothing is stored for such a request: the kept values travel in the sign-in page's hidden field
 * (no session is made before signing in), and after signing in they are one `keptForm` in that
 * session, shown once and gone, and gone with the session (8 hours at most) in any case.
 */
import type { FastifyRequest } from 'fastify';
import type { FormRefusal } from './form-fields.ts';

/** The refusal of a form sent without a session; `csrf` is the login form's token for this browser. */
export class SignedOutError extends Error {
  readonly statusCode = 401;
  readonly code = 'UNAUTHENTICATED';
  /**
   * `ended`: a form read to its body, kept when from the store's own pages; `too_large`: a form
   * bigger than the pages send, `photo`: an upload, both answered unread (./anonymous-posts.ts).
   */
  constructor(readonly csrf: string, readonly why: 'ended' | 'too_large' | 'photo' = 'ended') {
    super('sign in first: POST /login with username and password');
  }
}

/** What the sign-in page says above the form when it carries a kept form. */
export const SESSION_ENDED = {
  zh: '登录已结束（您在别处退出了登录，或登录已超过 8 小时），本次没有保存任何更改；填写的内容已保留，重新登录后会回到原来的页面',
  en: 'You were signed out (in another tab, or the sign-in was over 8 hours old): nothing was saved. What you typed is kept; sign in to go back to the page with it',
} as const;

/** The same, for a form that did not come from the store's own pages: nothing of it is kept. */
export const SESSION_ENDED_NOT_KEPT = {
  zh: '请先登录：本次没有保存任何更改（表单不是从本店的页面提交的，或登录已结束），填写的内容没有保留',
  en: 'Sign in first: nothing was saved (the form did not come from this store\'s own pages, or the sign-in had ended), and what it carried is not kept',
} as const;

/** The same, for a form too big to be one of the store's pages' (./anonymous-posts.ts): not read, nothing kept. */
export const SESSION_ENDED_TOO_LARGE = {
  zh: '请先登录：本次没有保存任何更改；表单内容超出本店页面表单的大小，没有读取，也没有保留',
  en: 'Sign in first: nothing was saved; the form was larger than the store\'s own forms, so it was not read and what it carried is not kept',
} as const;

/** The same, for a face photo uploaded without a session: never read, never kept (face data is stored only for a maintainer). */
export const SESSION_ENDED_PHOTO = {
  zh: '请先登录：本次没有保存任何更改；未登录时上传的照片不会读取，也不会保留（人脸数据只为已登录的管理员保存），登录后请重新上传照片',
  en: 'Sign in first: nothing was saved; a photo uploaded without signing in is neither read nor kept (face data is stored only for a signed-in maintainer): sign in and upload the photo again',
} as const;

/**
 * Whether a form came from the store's own pages: the browser's `Sec-Fetch-Site`, or, from a
 * browser that does not send it, an `Origin` naming this host. Neither: it cannot be told, so no.
 */
export function fromOwnPages(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = req.headers.origin;
  if (!origin || !req.headers.host) return false;
  try {
    // both through URL, so a default port written out (host:80) compares equal to none
    const o = new URL(origin);
    return o.host === new URL(`${o.protocol}//${req.headers.host}`).host;
  } catch {
    return false;
  }
}

/** What the form's page says once it is back, beside the form. */
export const RESTORED = {
  zh: '已重新登录：填写的内容已保留，尚未保存；请核对后再按一次',
  en: 'Signed in again: what you typed is kept but not saved yet; check it and press the button again',
} as const;

/** The form a sign-in carries: which form of which page, the field its message goes beside, the values. */
export interface KeptForm {
  form: string;
  field: string;
  values: Record<string, string>;
}

declare module 'fastify' {
  interface Session {
    /** A kept form to show once on `page` (a path) after signing in. */
    keptForm?: KeptForm & { page: string };
  }
}

const MAX_FIELDS = 40;
const MAX_VALUE = 2000;
/** Never kept, never shown again: the token, and any password (the account form's). */
const secret = (name: string): boolean => name === '_csrf' || /password/i.test(name);

/** What a form sent, as text, for its fields, without its token or a password. */
export function keptValues(body: unknown): Record<string, string> {
  if (body === null || typeof body !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>).slice(0, MAX_FIELDS)) {
    if (secret(k)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v).slice(0, MAX_VALUE);
  }
  return out;
}

/** The login form's hidden `kept` field. */
export const keptText = (k: KeptForm): string => JSON.stringify(k);

/** The `kept` field sent back with the login form, if it is one (anything else is ignored). */
export function parseKept(text: string | undefined): KeptForm | undefined {
  if (!text) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const { form, field, values } = v as Record<string, unknown>;
  if (typeof form !== 'string' || typeof field !== 'string' || form.length > 100 || field.length > 100) return undefined;
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return undefined;
  const kept = keptValues(values);
  if (Object.values(values).some((x) => typeof x !== 'string')) return undefined;
  return { form, field, values: kept };
}

/**
 * The form kept at the sign-in, for the page now shown: used once (taken from the session
 * whichever page is shown next), and only on the page it was sent from.
 */
export function takeKeptForm(req: FastifyRequest): FormRefusal | undefined {
  const k = req.session?.keptForm;
  if (!k) return undefined;
  delete req.session.keptForm;
  if (k.page.split(/[?#]/)[0] !== req.url.split('?')[0]) return undefined;
  return { form: k.form, status: 200, zh: RESTORED.zh, en: RESTORED.en, fields: { [k.field]: { zh: RESTORED.zh, message: RESTORED.en } }, values: k.values };
}
