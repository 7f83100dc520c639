/** QR tokens (signed, single use, strictly decoded) and passbook cards (masked, random numbers, throttled). Split from units.test.ts. */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CARD_ALPHABET, CardThrottle, classifyScan, issueQrToken, maskCard, proposeCardNumber, publicKeyFromPem, verifyQrToken } from '../../edge/entry/credentials.ts';
import { addCard, consumeQrToken, getCard, revokeCard } from '../../edge/ledger/credentials.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';

describe('QR tokens and cards', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }));
  const limits = { maxLifetimeS: 300, clockSkewS: 30 };
  const now = Date.parse('2026-06-01T10:00:00Z');

  it('accepts a fresh token once; refuses a replay, an expired, a forged or a tampered one', () => {
    const l = tempLedger();
    try {
      const t = issueQrToken(privateKey, 'v1', 120, now);
      expect(classifyScan(`${t}\r`)).toEqual({ kind: 'qr', token: t });
      const claims = verifyQrToken(t, pub, limits, now + 1000);
      expect(claims.vid).toBe('v1');
      consumeQrToken(l.db, claims, now + 1000);
      expect(() => consumeQrToken(l.db, claims, now + 2000)).toThrow(expect.objectContaining({ code: 'TOKEN_INVALID', details: { why: 'already used' } }) as Error);
      expect(() => verifyQrToken(t, pub, limits, now + 200_000)).toThrow(expect.objectContaining({ details: { why: 'expired' } }) as Error);
      const other = generateKeyPairSync('ed25519').privateKey;
      expect(() => verifyQrToken(issueQrToken(other, 'v1', 120, now), pub, limits, now)).toThrow(expect.objectContaining({ details: { why: 'bad signature' } }) as Error);
      const [head, payload, sig] = t.split('.') as [string, string, string];
      const forged = Buffer.from(JSON.stringify({ ...claims, vid: 'v2' })).toString('base64url');
      expect(() => verifyQrToken(`${head}.${forged}.${sig}`, pub, limits, now)).toThrow(expect.objectContaining({ details: { why: 'bad signature' } }) as Error);
      expect(() => verifyQrToken(`${head}.${payload}`, pub, limits, now)).toThrow(expect.objectContaining({ details: { why: 'malformed' } }) as Error);
      expect(() => verifyQrToken(issueQrToken(privateKey, 'v1', 86_400, now), pub, limits, now)).toThrow(expect.objectContaining({ details: { why: 'lifetime too long' } }) as Error);
    } finally {
      l.cleanup();
    }
  });

  it('looks up a card and honours its revocation', () => {
    const l = tempLedger();
    try {
      addVillager(l.db, { id: 'v1', name: 'v1', village: 'v' });
      addCard(l.db, 'PB-000123', 'v1', 'now');
      expect(classifyScan('PB-000123\n')).toEqual({ kind: 'card', cardNo: 'PB-000123' });
      expect(getCard(l.db, 'PB-000123')).toMatchObject({ villagerId: 'v1', revokedAt: null });
      expect(revokeCard(l.db, 'PB-000123', 'later')).toBe(true);
      expect(revokeCard(l.db, 'PB-000123', 'later')).toBe(false);
      expect(getCard(l.db, 'PB-000123')?.revokedAt).toBe('later');
      expect(classifyScan('a b\u0000c').kind).toBe('garbage');
    } finally {
      l.cleanup();
    }
  });
});

/** A token over any payload text, signed with the right key (a buggy or hostile issuer). */
function signedToken(key: KeyObject, payloadJson: string): string {
  const payload = Buffer.from(payloadJson).toString('base64url');
  return `VSQ1.${payload}.${sign(null, Buffer.from(payload), key).toString('base64url')}`;
}

describe('QR token decoding is strict', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }));
  const limits = { maxLifetimeS: 300, clockSkewS: 30 };
  const now = Date.parse('2026-06-01T10:00:00Z');
  const why = (token: string): unknown => {
    try {
      verifyQrToken(token, pub, limits, now);
      return 'verified';
    } catch (err) {
      return (err as { code?: string }).code === 'TOKEN_INVALID' ? (err as { details: { why: string } }).details.why : err;
    }
  };

  it('refuses every other spelling of a valid signature: padding, stray characters, unused bits, wrong length', () => {
    const t = issueQrToken(privateKey, 'v1', 120, now);
    expect(why(t)).toBe('verified');
    const [head, payload, sig] = t.split('.') as [string, string, string];
    expect(sig).toHaveLength(86); // 64 bytes: the last character carries 2 unused bits
    const last = sig.at(-1)!;
    // the characters that differ from the last one only in its 2 unused bits: Node decodes them to the same bytes
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const idx = alphabet.indexOf(last);
    const lenient = [0, 1, 2, 3].map((k) => alphabet[(idx & ~3) | k]!).filter((c) => c !== last);
    expect(lenient).toHaveLength(3);
    for (const c of lenient) expect(why(`${head}.${payload}.${sig.slice(0, -1)}${c}`)).toBe('signature is not in canonical base64url');
    expect(why(`${head}.${payload}.${sig}==`)).toBe('signature is not base64url');
    expect(why(`${head}.${payload}.${sig.slice(0, 40)}+${sig.slice(40)}`)).toBe('signature is not base64url');
    expect(why(`${head}.${payload}.${sig.slice(0, 40)} ${sig.slice(40)}`)).toBe('signature is not base64url');
    expect(why(`${head}.${payload}.${sig}A`)).toBe('signature length'); // 65 bytes
    const longer = Buffer.concat([Buffer.from(sig, 'base64url'), Buffer.from([0])]).toString('base64url');
    expect(why(`${head}.${payload}.${longer}`)).toBe('signature length');
    expect(why(`${head}.${payload}.`)).toBe('signature is not base64url');
    expect(why(`${head}.${payload}=.${sig}`)).toBe('payload is not base64url');
  });

  it('refuses a validly signed payload of the wrong shape with TOKEN_INVALID, never a TypeError', () => {
    const iat = Math.floor(now / 1000);
    const good = { tid: '0123456789ab', vid: 'v1', iat, exp: iat + 60 };
    expect(why(signedToken(privateKey, JSON.stringify(good)))).toBe('verified');
    const bad: unknown[] = [
      null, 42, 'text', true, [], [good], {},
      { ...good, tid: undefined }, { ...good, vid: undefined }, { ...good, iat: undefined }, { ...good, exp: undefined },
      { ...good, tid: 12345678 }, { ...good, tid: 'short' }, { ...good, vid: '' }, { ...good, vid: 'has space' }, { ...good, vid: 'has:colon' }, { ...good, vid: 7 },
      { ...good, iat: '1' }, { ...good, exp: 1.5 }, { ...good, exp: null }, { ...good, iat: -1 },
    ];
    for (const claims of bad) expect(why(signedToken(privateKey, JSON.stringify(claims))), JSON.stringify(claims)).toBe('payload fields');
    expect(why(signedToken(privateKey, '{"tid":'))).toBe('payload is not JSON');
    expect(why(signedToken(privateKey, ''))).toBe('payload is not base64url');
  });

  it('of 20,000 mutations of a valid token string, only the unchanged one verifies', () => {
    const t = issueQrToken(privateKey, 'v1', 120, now);
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. \t\u00e9\u4e2d';
    const charArb = fc.constantFrom(...chars.split(''));
    type Mutation = { op: 'set' | 'insert' | 'delete'; at: number; c: string } | { op: 'append'; s: string };
    const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
      fc.record({ op: fc.constantFrom<'set' | 'insert' | 'delete'>('set', 'insert', 'delete'), at: fc.nat({ max: t.length - 1 }), c: charArb }),
      fc.record({ op: fc.constant<'append'>('append'), s: fc.string({ unit: charArb, minLength: 1, maxLength: 4 }) }),
    );
    const apply = (s: string, m: Mutation): string => {
      if (m.op === 'append') return s + m.s;
      const at = Math.min(m.at, s.length);
      if (m.op === 'insert') return s.slice(0, at) + m.c + s.slice(at);
      if (m.op === 'delete') return s.slice(0, at) + s.slice(at + 1);
      return s.slice(0, at) + m.c + s.slice(at + 1);
    };
    let runs = 0;
    let verifiedChanged = 0;
    let unchanged = 0;
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (ms) => {
        runs++;
        const m = ms.reduce(apply, t);
        const result = why(m);
        if (m === t) {
          unchanged++;
          expect(result).toBe('verified');
        } else if (result === 'verified') {
          verifiedChanged++;
        } else {
          expect(typeof result).toBe('string'); // a refusal, not some other error
        }
      }),
      { numRuns: 20_000 },
    );
    expect(runs).toBe(20_000);
    expect(verifiedChanged).toBe(0);
    expect(unchanged).toBeLessThan(runs);
  }, 120_000);
});

describe('card numbers: masked, random, throttled', () => {
  it('masks a number to its prefix and last two characters, whatever its length', () => {
    expect(maskCard('PB-0001')).toBe('PB-****01');
    expect(maskCard('PB-7KQ9-XM4T')).toBe('PB-****4T');
    expect(maskCard('12345678')).toBe('****78');
    expect(maskCard('PB-12')).toBe('PB-****');
    expect(maskCard('ABCD')).toBe('****CD');
  });

  it('proposes random numbers of the unambiguous alphabet that the scanner reads as cards', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const n = proposeCardNumber();
      expect(n).toMatch(/^PB-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
      expect(classifyScan(n)).toEqual({ kind: 'card', cardNo: n });
      seen.add(n);
    }
    expect(seen.size).toBe(500);
    expect(CARD_ALPHABET).not.toMatch(/[01ILO]/);
  });

  it('pauses card scans after 5 unknown numbers in a minute, doubling each time up to 15 minutes, and forgets after an hour', () => {
    const t = new CardThrottle();
    let now = 1_000_000;
    const burst = (): { pauseMs: number } | null => {
      let pause = null;
      for (let i = 0; i < 5; i++) {
        expect(t.gate(now)).toEqual({ open: true });
        pause = t.unknown(now);
        if (i < 4) expect(pause).toBeNull();
        now += 1000;
      }
      return pause;
    };
    expect(burst()).toEqual({ pauseMs: 30_000, unknownCards: 5 });
    expect(t.gate(now)).toEqual({ open: false, retryAfterMs: 29_000 });
    const pauses: number[] = [];
    for (let k = 0; k < 6; k++) {
      now += t.gate(now).open ? 0 : (t.gate(now) as { retryAfterMs: number }).retryAfterMs;
      expect(t.gate(now)).toEqual({ open: true });
      pauses.push(burst()!.pauseMs);
    }
    expect(pauses).toEqual([60_000, 120_000, 240_000, 480_000, 900_000, 900_000]);
    // slow guessing, under 5 a minute, never pauses
    now += 900_000;
    for (let i = 0; i < 20; i++) {
      expect(t.unknown(now)).toBeNull();
      now += 15_000;
    }
    // an hour and more after the last pause, the doubling starts over
    now += 3_600_000;
    expect(burst()).toEqual({ pauseMs: 30_000, unknownCards: 5 });
  });
});
