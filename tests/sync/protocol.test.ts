import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, checkEnvelope, classifySeq, keyRing, newKeyPair, privateEd25519, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { checkers, decode, type Envelope } from '../../cloud-sync/protocol/payloads.ts';
import { parseTopic, storeTopic, villageEventsTopic } from '../../cloud-sync/protocol/topics.ts';
import { storeClientId } from '../../cloud-sync/agent/identity.ts';

const NOW = Date.parse('2026-06-01T10:00:00.000Z');
const pairA = newKeyPair();
const pairB = newKeyPair();

function award(seq: number, key = privateEd25519('k1', pairA.privatePem), expires = '2026-06-02T10:00:00.000Z'): Envelope {
  return signEnvelope({
    v: 1, id: `ev-${seq}`, kind: 'entry', village: 'v1', seq, issued_at: '2026-06-01T09:59:00.000Z', expires_at: expires,
    body: { id: `aw-${seq}`, villager: 'zhang', kind: 'award', points: 10, reason: '打扫卫生', created_at: '2026-06-01T09:59:00.000Z' },
  }, key);
}

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: null, y: 'x' }], c: undefined } })).toBe('{"a":{"d":[2,{"y":"x","z":null}]},"b":1}');
  });
  it('refuses numbers JSON cannot carry', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
  });
  it('writes strings with quotes, backslashes, control characters and surrogates as JSON.stringify does', () => {
    for (const s of ['', 'plain', '打扫卫生', 'a"b', 'a\\b', 'line\nbreak', '\u0000\u001f', '\ud83d\ude00', 'lone \ud800 high', 'lone \udfff low', '\u2028\u2029', '</script>']) {
      expect(canonicalJson(s)).toBe(JSON.stringify(s));
      expect(canonicalJson({ [s]: s })).toBe(`{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
    }
  });
  it('is the sorted-keys JSON of any JSON value (integer-like keys, unsorted and sorted objects)', () => {
    // The reference: every object rebuilt with its keys sorted, then JSON.stringify.
    const sortedCopy = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(sortedCopy);
      if (v === null || typeof v !== 'object') return v;
      // Integer-like keys would be put back in numeric order by any object: a Map keeps ours.
      return new Map(Object.keys(v).sort().map((k) => [k, sortedCopy((v as Record<string, unknown>)[k])]));
    };
    const write = (v: unknown): string => {
      if (v instanceof Map) return `{${[...v].filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`).join(',')}}`;
      if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : write(x))).join(',')}]`;
      return JSON.stringify(v);
    };
    const key = fc.oneof(fc.string(), fc.constantFrom('0', '1', '10', '9', 'a', 'B', '\ud800', 'é', '键'));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.string({ unit: 'binary' }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null),
        fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 5 })),
    })).v;
    fc.assert(fc.property(value, (v) => {
      expect(canonicalJson(v)).toBe(write(sortedCopy(v)));
    }), { numRuns: 2000 });
  });
});

describe('envelope checks', () => {
  const ring = keyRing([{ id: 'k1', pem: pairA.publicPem }]);
  it.each([
    ['a good award', (e: Envelope) => e, undefined],
    ['no signature', (e: Envelope) => ({ ...e, sig: undefined }), 'unsigned'],
    ['points changed after signing', (e: Envelope) => ({ ...e, body: { ...(e.body as object), points: 1000 } }), 'forged'],
    ['an unknown key id', (e: Envelope) => ({ ...e, key_id: 'k9' }), 'forged'],
    ['garbage signature', (e: Envelope) => ({ ...e, sig: 'AAAA' }), 'forged'],
  ] as const)('%s', (_name, mutate, verdict) => {
    expect(checkEnvelope(mutate(award(1)), ring, NOW, 60_000)).toBe(verdict);
  });
  it('refuses a message signed by a key the store does not hold', () => {
    expect(checkEnvelope(award(1, privateEd25519('k1', pairB.privatePem)), ring, NOW, 60_000)).toBe('forged');
  });
  it('refuses an expired message, and one issued in the future', () => {
    expect(checkEnvelope(award(1, undefined, '2026-06-01T09:59:30.000Z'), ring, NOW, 10_000)).toBe('expired');
    expect(checkEnvelope(award(1), ring, Date.parse('2026-05-30T00:00:00.000Z'), 60_000)).toBe('invalid');
  });
  it('rotates keys: both keys are accepted while both are configured, the retired one is refused after', () => {
    const both = keyRing([{ id: 'k1', pem: pairA.publicPem }, { id: 'k2', pem: pairB.publicPem }]);
    const onlyNew = keyRing([{ id: 'k2', pem: pairB.publicPem }]);
    const old = award(1);
    const fresh = award(2, privateEd25519('k2', pairB.privatePem));
    expect(checkEnvelope(old, both, NOW, 0)).toBeUndefined();
    expect(checkEnvelope(fresh, both, NOW, 0)).toBeUndefined();
    expect(checkEnvelope(old, onlyNew, NOW, 0)).toBe('forged');
    expect(checkEnvelope(fresh, onlyNew, NOW, 0)).toBeUndefined();
  });
});

describe('sequence rules', () => {
  it.each([
    [0, 1, 'next'], [5, 6, 'next'], [5, 5, 'replayed'], [5, 2, 'replayed'], [5, 7, 'gap'], [0, 3, 'gap'],
  ] as const)('last %i, received %i → %s', (last, seq, verdict) => {
    expect(classifySeq(last, seq)).toBe(verdict);
  });
});

describe('payloads and topics', () => {
  it('decodes a valid envelope and explains a bad one', () => {
    expect(decode(Buffer.from(JSON.stringify(award(1))), checkers.envelope).ok).toBe(true);
    const bad = decode(Buffer.from(JSON.stringify({ ...award(1), seq: -1 })), checkers.envelope);
    expect(bad).toMatchObject({ ok: false, why: expect.stringContaining('/seq') });
    expect(decode(Buffer.from('{nope'), checkers.envelope)).toEqual({ ok: false, why: 'payload is not JSON' });
  });
  it('gives two stores two MQTT client ids, whatever their ids hold', () => {
    expect(storeClientId({ village: 'qianjin-2', store: 'shop' })).not.toBe(storeClientId({ village: 'qianjin', store: '2-shop' }));
    const ids = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);
    fc.assert(fc.property(ids, ids, ids, ids, (v1, s1, v2, s2) => {
      fc.pre(v1 !== v2 || s1 !== s2);
      return storeClientId({ village: v1, store: s1 }) !== storeClientId({ village: v2, store: s2 });
    }));
  });
  it('parses its own topics and nothing else', () => {
    const a = { village: 'v1', store: 's-1' };
    expect(parseTopic(storeTopic(a, 'up/rows'))).toEqual({ kind: 'store', village: 'v1', store: 's-1', leaf: 'up/rows' });
    expect(parseTopic(villageEventsTopic('v1'))).toEqual({ kind: 'village-events', village: 'v1' });
    for (const t of ['vps/v2/v1/down/events', 'vps/v1/v1/store/s/up/other', 'vps/v1/v+/down/events', 'x', 'vps/v1//store/s/status']) expect(parseTopic(t)).toBeUndefined();
  });
});
