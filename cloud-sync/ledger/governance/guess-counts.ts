/**
 * What the staff login (staff/login-counts.ts) and the villager login (auth.ts) share in counting
 * guesses: rows of gov_login_failures keyed by login (`failures` the wrong answers still counted,
 * `until_at` the window's end, LOCK_MS after the last), the write taken back that a refused
 * attempt makes so its work is a counted one's, and the rule that guesses counted during a flood
 * of made-up names add to a name's own count for their whole window, whatever the flood does.
 */
import type { SqlDb } from '../sql.ts';

/** Wrong answers that spend a name's guesses. */
export const MAX_GUESSES = 5;
/** How long a lock lasts, and how long a count of wrong answers lasts after its last attempt. */
export const GUESS_WINDOW_MS = 15 * 60_000;

export interface StoredCount { failures: number | string; until_at: string }

/** The row of `key`, ended or not. */
export const readCount = async (tx: SqlDb, key: string): Promise<StoredCount | undefined> =>
  (await tx.query<StoredCount>('SELECT failures, until_at FROM gov_login_failures WHERE login = $1', [key]))[0];

export const writeCount = (tx: SqlDb, key: string, failures: number, until: string) =>
  tx.run('INSERT INTO gov_login_failures (login, failures, until_at) VALUES ($1, $2, $3) ON CONFLICT (login) DO UPDATE SET failures = excluded.failures, until_at = excluded.until_at', [key, failures, until]);

/** The end of a window opened (or moved) by an attempt at `now`. */
export const windowEnd = (now: Date): string => new Date(now.getTime() + GUESS_WINDOW_MS).toISOString();

/** An attempt refused in a flood: a row written under `decoyKey` as a counted attempt's is, and taken back (the same write, nothing kept). */
export async function writeAndTakeBack(tx: SqlDb, decoyKey: string, until: string): Promise<void> {
  await writeCount(tx, decoyKey, 1, until);
  await tx.run('DELETE FROM gov_login_failures WHERE login = $1', [decoyKey]);
}

/**
 * Whether a name's guesses are spent: its own count and the one kept apart for it during a flood
 * (`inFlood`, still within its window, whether or not the flood lasts) reach MAX_GUESSES
 * together. A flood that lapses and comes back so buys no guesses: its attempt is counted and
 * answered as a wrong one, the right answer too, as a made-up name's would be at that step.
 */
export const guessesSpent = (own: number, inFlood: number): boolean => own + inFlood >= MAX_GUESSES;
