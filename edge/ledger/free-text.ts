/**
 * Free text a maintainer types (a refund's reason, an entry's reason, an alarm's note) goes into
 * the ledger and, for entries, to the village ledger: control characters (NUL, line breaks,
 * tabs) are refused where it is typed. A NUL cannot be stored on a PostgreSQL village ledger
 * at all (it holds such an entry unapplied), and the admin page's boxes are single lines.
 */
import { EdgeError, ErrorCode } from '../errors.ts';

/** C0 controls and DEL, by code point (a regular expression of control characters is what lint refuses). */
const isControl = (code: number): boolean => code < 0x20 || code === 0x7f;

/** Throws a 400 naming `field` when `text` holds a control character. */
export function refuseControlChars(field: string, text: string | null | undefined): void {
  if (text == null || ![...text].some((c) => isControl(c.codePointAt(0)!))) return;
  throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${field} must not contain control characters (line breaks, tabs, NUL)`, {
    zh: `${field} 不能包含控制字符（换行、制表符、NUL 等）`,
    details: { field },
  });
}
