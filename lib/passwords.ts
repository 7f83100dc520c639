/**
 * Password hashing for the store's admin accounts and the village ledger's staff accounts:
 * scrypt from node:crypto (a memory-hard KDF, as argon2 is), so no native addon with an
 * install script is needed. Parameters follow OWASP's
 * minimum for scrypt (N = 2^17, r = 8, p = 1) and are stored in the hash, so they can be
 * raised later without breaking existing accounts. Hashing runs on libuv's thread pool
 * (async scrypt): a login never blocks the door or the shelves.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 2 ** 17;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: n, r, p, maxmem: 128 * n * r * p + 16 * 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFC'), salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/**
 * `scrypt$N$r$p$salt$hash` (salt and hash in base64). `cost` (N) is for tests only, whose
 * accounts need no protection and whose machine is loaded: the verifier reads N from the hash.
 */
export async function hashPassword(password: string, cost = N): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, cost, R, P);
  return `scrypt$${cost}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [tag, n, r, p, salt, hash] = stored.split('$');
  if (tag !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A hash of a random password: checked against when the username is unknown, so timing does not tell. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}

/** The shortest password either login accepts. */
export const MIN_PASSWORD = 10;

/**
 * Why a new password of the village ledger's staff is refused, in both languages, or undefined:
 * shorter than MIN_PASSWORD, blanks only, or one character over and over (long, yet guessed at once).
 */
export function passwordWeakness(password: string): { message: string; zh: string } | undefined {
  const chars = [...password];
  if (chars.length < MIN_PASSWORD) return { message: `at least ${MIN_PASSWORD} characters`, zh: `密码至少 ${MIN_PASSWORD} 位` };
  if (password.trim() === '') return { message: 'a password of blanks only is guessed at once; choose another', zh: '密码不能全为空格' };
  if (new Set(chars).size === 1) return { message: 'a password of one character repeated is guessed at once; choose another', zh: '密码不能是同一个字符的重复' };
  return undefined;
}
/** A login name: 2 to 32 lower-case letters, digits, `.`, `_`, `-`. */
export const USERNAME = /^[a-z0-9_.-]{2,32}$/;
