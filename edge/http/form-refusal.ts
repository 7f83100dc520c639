/**
 * A refused form from a browser gets its page back, with the bilingual message beside the
 * field that is wrong and what was typed still in the fields; an API client (JSON, or a form
 * post that asks for JSON) gets the JSON error body as from every /api route. Used as the
 * route's `errorHandler`, so schema refusals, CSRF refusals and the handlers' own refusals all
 * come this way.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { refusalOf, type FieldErrors } from './errors.ts';
import { ErrorCode, isEdgeError } from '../errors.ts';
import type { FormRefusal } from './form-fields.ts';
import { loginPage, messagePage } from './auth-pages.ts';
import { fromOwnPages, keptText, keptValues, SESSION_ENDED, SESSION_ENDED_NOT_KEPT, SESSION_ENDED_PHOTO, SESSION_ENDED_TOO_LARGE, SignedOutError } from './signed-out.ts';

export type { FormRefusal };

/**
 * A browser's form post, to be answered with a page: a form body whose sender does not ask for
 * JSON (an upload must ask for HTML, as a browser does; curl sends `*\/*`).
 */
/** A plain HTML form post (answered with a redirect to its page), as opposed to an API client's JSON. */
export const isUrlencodedForm = (req: FastifyRequest): boolean => (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');

export function wantsPage(req: FastifyRequest): boolean {
  const type = req.headers['content-type'] ?? '';
  const accept = req.headers.accept ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) return !(accept.includes('application/json') && !accept.includes('text/html'));
  return type.startsWith('multipart/form-data') && accept.includes('text/html');
}

/** What a form sent, as text, for its fields. */
export function formValues(body: unknown): Record<string, string> {
  if (body === null || typeof body !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (k === '_csrf') continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

/** The pages a villager form may be on: a villager's page (`_page=villager`) or the admin page. */
export interface FormPages {
  villager(req: FastifyRequest, reply: FastifyReply, id: string, refusal: FormRefusal): string;
  admin(req: FastifyRequest, reply: FastifyReply, refusal: FormRefusal): string;
}

/** Which page a form was sent from: its hidden `_page` field. */
export const fromVillagerPage = (req: FastifyRequest): boolean => (req.body as { _page?: unknown } | undefined)?._page === 'villager';

export type PageRenderer = (req: FastifyRequest, reply: FastifyReply, refusal: FormRefusal) => string;

/**
 * What a browser's form with a token that is no longer good is told: its page was shown under a
 * session that has since ended (the maintainer signed in again in another tab, or the page was
 * open for longer than a login lasts). Nothing was done; the page comes back with what was typed
 * and a fresh token, so pressing the button again does it. Not the API's wording (a header, /api/me):
 * a maintainer at a tablet never sees a token.
 */
export const PAGE_EXPIRED = {
  zh: '页面已过期，请重新提交：您在别处重新登录过，或页面打开太久，本次没有保存任何更改；填写的内容已保留，请核对后再按一次',
  en: 'The page has expired (you signed in again elsewhere, or it was open too long): nothing was saved. What you typed is kept; check it and press the button again',
} as const;

/**
 * A route's error handler: a browser's form gets `render`'s page (or, when even that page
 * cannot be shown, a page with the message and the way back); everyone else the JSON error.
 * `mainField` is where a refusal that names no field is shown.
 */
export function formErrorHandler(form: (req: FastifyRequest) => string, mainField: (form: string) => string, render: PageRenderer, back: (req: FastifyRequest) => string, storeName: string) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    const r = refusalOf(err, req);
    if (!wantsPage(req)) {
      void reply.status(r.status).send(r.body);
      return;
    }
    if (err instanceof SignedOutError) {
      // signed out meanwhile: the sign-in page, carrying what was typed back to this form's page
      // (only from the store's own pages: another site's form is not the maintainer's typing;
      // a form too big to be theirs and a photo are never read)
      const name = form(req);
      const own = err.why === 'ended' && fromOwnPages(req);
      const kept = own ? keptText({ form: name, field: mainField(name), values: keptValues(req.body) }) : undefined;
      const notice = err.why === 'photo' ? SESSION_ENDED_PHOTO : err.why === 'too_large' ? SESSION_ENDED_TOO_LARGE : own ? SESSION_ENDED : SESSION_ENDED_NOT_KEPT;
      void reply.status(401).type('text/html; charset=utf-8').send(loginPage({ storeName, csrf: err.csrf, next: back(req), notice, kept }));
      return;
    }
    if (r.body.error === 'CSRF_REJECTED') r.body = { ...r.body, zh: PAGE_EXPIRED.zh, message: PAGE_EXPIRED.en };
    const name = form(req);
    const fields: FieldErrors = r.body.fields && Object.keys(r.body.fields).length > 0 ? r.body.fields : { [mainField(name)]: { message: r.body.message, zh: r.body.zh } };
    const refusal: FormRefusal = { form: name, status: r.status, zh: r.body.zh, en: r.body.message, fields, values: formValues(req.body) };
    let page: string;
    try {
      page = render(req, reply, refusal);
    } catch (renderErr) {
      req.log.warn({ err: renderErr }, 'the refused form\'s page cannot be shown; answering with the message / 无法显示表单所在页面，仅显示提示');
      page = messagePage(storeName, '未完成 Not done', r.body.zh, r.body.message, { href: back(req), text: '返回 Back' });
    }
    void reply.status(r.status).type('text/html; charset=utf-8').send(page);
  };
}

/**
 * A page's form action that redirects when done: back to `page.back` (303); refused as not found
 * or invalid (the thing changed meanwhile), a page saying why in both languages, with the
 * refusal's status (`details.status`, else 404) and a link back. Other errors go on to the
 * route's error handler. The /alarms page's actions and the /door page's use it.
 */
export function pageAction(reply: unknown, page: { storeName: string; title: string; back: string; backText: string }, act: () => unknown): FastifyReply {
  const r = reply as FastifyReply; // a typed route's reply knows only its JSON answer's status; these are pages
  try {
    act();
  } catch (err) {
    if (!isEdgeError(err) || (err.code !== ErrorCode.NOT_FOUND && err.code !== ErrorCode.INVALID_ARGUMENT)) throw err;
    const status = typeof err.details?.status === 'number' ? err.details.status : 404;
    return r.status(status).type('text/html; charset=utf-8').send(messagePage(page.storeName, page.title, err.zh ?? err.message, err.message, { href: page.back, text: page.backText }));
  }
  return r.redirect(page.back, 303);
}
