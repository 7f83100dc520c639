/**
 * A refused form as its page shows it (edge/http/form-refusal.ts answers with the page): the
 * message beside each wrong field, what was typed kept. Only markup helpers, so the pages can
 * import them without importing the route code.
 */
import { randomUUID } from 'node:crypto';
import type { FieldErrors } from './errors.ts';
import { esc } from './admin-sections.ts';

export interface FormRefusal {
  /** Which form on the page was refused (`enrol`, `card`, `status`, ...). */
  form: string;
  status: number;
  zh: string;
  en: string;
  fields: FieldErrors;
  /** What the form sent, to put back in its fields (never the CSRF token nor a file). */
  values: Record<string, string>;
}

/**
 * The refusal's message at the top of its form (only on the form refused), unless every field
 * it names has its own message beside it (`fields`: the form's visible fields).
 */
export function formMessage(refusal: FormRefusal | undefined, form: string, fields: readonly string[] = []): string {
  if (!refusal || refusal.form !== form) return '';
  if (Object.keys(refusal.fields).every((f) => fields.includes(f))) return '';
  return `<p class="bad form-error" role="alert" id="form-error" data-form="${esc(form)}">${esc(refusal.zh)}<br>${esc(refusal.en)}</p>`;
}

/** The message beside one field of the refused form. */
export function fieldMessage(refusal: FormRefusal | undefined, form: string, field: string): string {
  const e = refusal && refusal.form === form ? refusal.fields[field] : undefined;
  return e ? `<div class="field-error" role="alert" data-field="${esc(field)}">${esc(e.zh)} / ${esc(e.message)}</div>` : '';
}

/**
 * ` autofocus` on the first of the form's fields that is wrong: the browser brings it into view
 * (the form may be far down a long page) with no script.
 */
export function focusIfWrong(refusal: FormRefusal | undefined, form: string, field: string, fields: readonly string[]): string {
  if (!refusal || refusal.form !== form) return '';
  return fields.find((f) => refusal.fields[f]) === field ? ' autofocus' : '';
}

/** What was typed in a field of the refused form (empty for other forms). */
export function kept(refusal: FormRefusal | undefined, form: string, field: string): string {
  return refusal && refusal.form === form ? refusal.values[field] ?? '' : '';
}

/**
 * A form's one-time `request` id, made when the page is shown: the same form sent twice (a
 * double tap, a browser's resend) acts once (a refund, a card).
 */
export const requestField = (): string => `<input type="hidden" name="request" value="${randomUUID()}">`;
