/**
 * Free text a maintainer types (a refund's reason, an entry's reason, an alarm's note) goes into
 * the ledger and, for entries, to the village ledger. A tab or a line break is whitespace: each
 * run of them becomes one space (a note pasted from a chat message; the admin page's boxes are
 * single lines, and a browser drops a line break pasted into one already). Any other control
 * character (NUL, ESC, a backspace, DEL) is refused where it is typed: a NUL cannot be stored on a
 * PostgreSQL village ledger at all (it holds such an entry unapplied), and the others are nothing
 * a maintainer means to keep.
 */
import { EdgeError, ErrorCode } from '../errors.ts';

/** A field's name in each language, for its refusal: `{ field: 'reason', zh: '退分原因' }`. */
export interface FreeTextField {
  /** As the request names it (the form's field, an option such as `--note`). */
  field: string;
  /** What a maintainer calls it in Chinese (a CLI option: the option with its Chinese name). */
  zh: string;
}

/** C0 controls and DEL, by code point (a regular expression of control characters is what lint refuses). */
const isControl = (code: number): boolean => code < 0x20 || code === 0x7f;

/** Tab, line feed, carriage return: whitespace, kept as a space. */
const WHITESPACE_CONTROLS = /[\t\n\r]+/g;

/** Throws a 400 naming the field when `text` holds a control character (a tab or line break too: see freeText). */
export function refuseControlChars(name: FreeTextField, text: string | null | undefined): void {
  if (text == null || ![...text].some((c) => isControl(c.codePointAt(0)!))) return;
  throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${name.field} must not contain control characters (NUL, escape, backspace and the like)`, {
    zh: `${name.zh}不能包含控制字符（如 NUL、ESC、退格）`,
    details: { field: name.field },
  });
}

/** The text as kept: each run of tabs and line breaks one space, trimmed; any other control character refused. */
export function freeText(name: FreeTextField, text: string): string {
  const kept = text.replace(WHITESPACE_CONTROLS, ' ').trim();
  refuseControlChars(name, kept);
  return kept;
}
