/**
 * What a form did, said once on the page it returns to: the action keeps the words under a
 * random token and redirects with `?done=TOKEN`; the page takes them (and forgets them), so a
 * reload of the same address says nothing again. Kept in memory, a few hundred at most: a
 * notice not shown (the redirect never followed) is dropped with the oldest.
 */
import { randomBytes } from 'node:crypto';
import type { Lang } from './door-words.ts';
import { esc } from './admin-sections.ts';

export interface DoneNotice { zh: string; en: string }

const MAX_KEPT = 256;
const kept = new Map<string, DoneNotice>();

/** Keeps the notice; its token, for the redirect's `done`. */
export function putDone(notice: DoneNotice): string {
  const token = randomBytes(9).toString('base64url');
  kept.set(token, notice);
  if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value!);
  return token;
}

/** The notice under `token`, once: a second take (a reload) finds nothing. */
export function takeDone(token: unknown): DoneNotice | undefined {
  if (typeof token !== 'string') return undefined;
  const n = kept.get(token);
  kept.delete(token);
  return n;
}

/** `url` with `done=TOKEN` added to its query (before any `#fragment`). */
export function withDone(url: string, notice: DoneNotice): string {
  const [path, hash] = url.split('#', 2) as [string, string | undefined];
  return `${path}${path.includes('?') ? '&' : '?'}done=${putDone(notice)}${hash !== undefined ? `#${hash}` : ''}`;
}

/** The notice as the page shows it, in its language. */
export function doneHtml(notice: DoneNotice | undefined, lang: Lang): string {
  return notice ? `<p class="ok" role="status" id="done-notice">${esc(lang === 'en' ? notice.en : notice.zh)}</p>` : '';
}
