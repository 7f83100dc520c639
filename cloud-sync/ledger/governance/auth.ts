/**
 * The villager role: a villager id and a PIN set by the village, hashed with scrypt (a salt
 * per PIN). A login answers a session token that lives in the ledger's memory for 12 hours
 * (a restart logs villagers out). Five wrong PINs lock the villager's logins for 15 minutes.
 */
import { randomBytes, scrypt, timingSafeEqual, createHash, type ScryptOptions } from 'node:crypto';
import { ErrorCode } from '../../../edge/errors.ts';
import type { SqlDb } from '../sql.ts';
import { villagerOf } from '../tables.ts';
import { audit, fieldError } from './rules.ts';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };
const SESSION_MS = 12 * 3_600_000;
const MAX_FAILURES = 5;
const LOCK_MS = 15 * 60_000;

const derive = (pin: string, salt: Buffer, o: ScryptOptions & { keylen: number }) =>
  new Promise<Buffer>((resolve, reject) => scrypt(pin, salt, o.keylen, { N: o.N, r: o.r, p: o.p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));

/** `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPin(pin: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(pin, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPin(pin: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const got = await derive(pin, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p), keylen: want.length });
  return got.length === want.length && timingSafeEqual(got, want);
}

export async function setPin(db: SqlDb, village: string, villager: string, pin: string, actor: string, now: Date): Promise<void> {
  const hash = await hashPin(pin);
  await db.transaction(async (tx) => {
    const v = await villagerOf(tx, villager);
    if (!v || v.village !== village) throw fieldError('villager', `no villager ${villager} in this village`, `本村没有村民 ${villager}`, 404, ErrorCode.UNKNOWN_VILLAGER);
    await tx.run('INSERT INTO gov_pins (villager_id, pin_hash, updated_at) VALUES ($1, $2, $3) ON CONFLICT (villager_id) DO UPDATE SET pin_hash = excluded.pin_hash, updated_at = excluded.updated_at', [villager, hash, now.toISOString()]);
    await audit(tx, village, `villager:${villager}`, 'pin.set', actor, {}, now);
  });
}

export interface VillagerSession { village: string; villager: string; expires: number }

export class VillagerSessions {
  private readonly sessions = new Map<string, VillagerSession>();
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** A session token, or an error that says nothing about which of id or PIN was wrong. */
  async login(db: SqlDb, village: string, villager: string, pin: string): Promise<{ token: string; expires_at: string }> {
    return this.loginWith(village, villager, 'pin', async () => {
      const v = await villagerOf(db, villager);
      const row = v && v.village === village && v.status === 'active' ? (await db.query<{ pin_hash: string }>('SELECT pin_hash FROM gov_pins WHERE villager_id = $1', [villager]))[0] : undefined;
      // A missing villager costs the same scrypt as a wrong PIN.
      return row ? verifyPin(pin, row.pin_hash) : (await hashPin(pin), false);
    });
  }

  /**
   * A session after `check` (a PIN or a one-time code) says yes. Wrong answers of either kind
   * count together towards the lock, so codes cannot be guessed beside PINs.
   */
  async loginWith(village: string, villager: string, field: 'pin' | 'code', check: () => Promise<boolean>): Promise<{ token: string; expires_at: string }> {
    const now = this.clock();
    const key = `${village}/${villager}`;
    const f = this.failures.get(key);
    if (f && f.count >= MAX_FAILURES && f.until > now) throw fieldError(field, 'too many wrong PINs or codes; try again later', '密码错误次数过多，请稍后再试', 429);
    if (!(await check())) {
      const count = f && f.until > now ? f.count + 1 : 1;
      this.failures.set(key, { count, until: now + LOCK_MS });
      throw field === 'pin' ? fieldError('pin', 'wrong villager id or PIN', '村民编号或密码不正确', 401) : fieldError('code', 'wrong, used or expired one-time code', '登录码不正确、已用过或已过期', 401);
    }
    this.failures.delete(key);
    this.prune(now);
    const token = randomBytes(32).toString('base64url');
    const expires = now + SESSION_MS;
    this.sessions.set(sha(token), { village, villager, expires });
    return { token, expires_at: new Date(expires).toISOString() };
  }

  of(token: string): VillagerSession | undefined {
    const s = this.sessions.get(sha(token));
    return s && s.expires > this.clock() ? s : undefined;
  }

  /** Logging out: the token is forgotten at once. */
  end(token: string): void {
    this.sessions.delete(sha(token));
  }

  private prune(now: number): void {
    for (const [k, s] of this.sessions) if (s.expires <= now) this.sessions.delete(k);
    for (const [k, f] of this.failures) if (f.until <= now) this.failures.delete(k);
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest('base64url');
