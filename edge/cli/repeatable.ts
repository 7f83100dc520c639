/**
 * Which options may be given more than once. Any other option given twice is refused
 * (edge/cli/index.ts): commander would silently take its last value.
 */
import type { Option } from 'commander';

/** The values of an option meant to repeat (`--photo a --photo b`); no default needed, so a required one given none is refused. */
export const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** A list: variadic (`--frames a b c`), collected with `collect`, or with a list as its default. */
export function isRepeatable(option: Option): boolean {
  return option.variadic || option.parseArg === collect || Array.isArray(option.defaultValue);
}
