/**
 * The signed texts the sync writes without serialising twice: an envelope's wire text from the
 * canonical form it was signed over, and the ack's row digests from the payload texts the
 * signature's check wrote. Each must say exactly what the slower way says.
 */
import { describe, expect, it } from 'vitest';
import { ackDigests, RowChecker } from '../../cloud-sync/ledger/row-check.ts';
import { rowsMessage } from '../../cloud-sync/agent/rows.ts';
import { checkEnvelope, envelopeText, newKeyPair, privateEd25519, publicEd25519, rowDigest, signedEnvelopeText, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { canonicalJson, memberTexts } from '../../lib/canonical-json.ts';
import { checkers, decode, type Envelope } from '../../cloud-sync/protocol/payloads.ts';
import type { StoreRecord } from '../../cloud-sync/ledger/tables.ts';

const NOW = Date.parse('2026-12-03T08:00:00.000Z');
const k = newKeyPair();
const key = privateEd25519('ledger-1', k.privatePem);
const ring = new Map([['ledger-1', publicEd25519(k.publicPem)]]);

describe('an envelope as text', () => {
  it('parses to the envelope signEnvelope made, which verifies; escapes and key order as canonical JSON writes them', () => {
    const env = signEnvelope({
      v: 1, id: 'entries:s1:1', kind: 'entries', village: 'qianjin', seq: 7, issued_at: new Date(NOW).toISOString(), expires_at: new Date(NOW + 60_000).toISOString(),
      body: { entries: [{ villager: '张三', id: 'e1', kind: 'award', points: 5, reason: '扫 "村道"\n', created_at: new Date(NOW).toISOString() }] },
    }, key);
    const text = envelopeText(env);
    expect(text).not.toBe(JSON.stringify(env));
    const parsed = JSON.parse(text) as Envelope;
    expect(parsed).toEqual(env);
    expect(checkEnvelope(parsed, ring, NOW, 0)).toBeUndefined();
  });

  it('of an envelope signEnvelope did not make (a copy, one read back) is JSON.stringify', () => {
    const env = signEnvelope({ v: 1, id: 'x', kind: 'entries', village: 'qianjin', seq: 1, issued_at: new Date(NOW).toISOString(), expires_at: new Date(NOW).toISOString(), body: { entries: [] } }, key);
    const copy = { ...env };
    expect(envelopeText(copy)).toBe(JSON.stringify(copy));
  });
});

describe("an ack's digests from the signature's check", () => {
  it('are the digests of the payloads, for every row the ack names', () => {
    const s = newKeyPair();
    const payloads = [{ id: 'e1', villager: '张三', kind: 'redemption', points: -5, created_at: '2026-12-03T07:59:00.000Z' }, { op: 'add', id: 'li', name: '李四', village: 'qianjin' }];
    const rows = payloads.map((p, i) => ({ seq: i + 1, topic: (i === 0 ? 'entry' : 'villager') as 'entry' | 'villager', payload: p, payloadText: canonicalJson(p), createdAt: '2026-12-03T07:59:00.000Z', ackedAt: null }));
    const message = Buffer.from(rowsMessage({ village: 'qianjin', store: 's1' }, privateEd25519('store', s.privatePem), rows, NOW));
    const record: StoreRecord = {
      village: 'qianjin', id: 's1', keyId: 'store', publicKey: s.publicPem, contiguousSeq: 0, gaps: 0, status: null, lastHeartbeat: null,
      inboundSeq: null, lastAckedSeq: null, outboxPending: null, behindSince: null, heals: 0,
    };
    const v = new RowChecker(() => NOW, 0).check('qianjin', 's1', message, record);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.texts.size).toBe(2);
    const ids = ['s1:2', 's1:1'];
    expect(ackDigests(v.rows, ids, v.texts)).toEqual([rowDigest(payloads[1]), rowDigest(payloads[0])]);
    expect(ackDigests(v.rows, ids, v.texts)).toEqual(ackDigests(v.rows, ids));
  });
});

describe('a signature checked over the text as it arrived', () => {
  const s = newKeyPair();
  const storeKey = privateEd25519('store', s.privatePem);
  const storeRing = new Map([['store', publicEd25519(s.publicPem)]]);
  const payloads = [
    { id: 'e1', villager: '张三', kind: 'redemption', points: -5, reason: '"油" {1,2} [a]\\ \u0001', created_at: '2026-12-03T07:59:00.000Z' },
    { op: 'add', id: 'li', name: '李四', village: 'qianjin', payload: { payload: 'nested' } },
  ];
  const rows = payloads.map((p, i) => ({ seq: i + 1, topic: (i === 0 ? 'entry' : 'villager') as 'entry' | 'villager', payload: p, payloadText: canonicalJson(p), createdAt: '2026-12-03T07:59:00.000Z', ackedAt: null }));
  const wire = rowsMessage({ village: 'qianjin', store: 's1' }, storeKey, rows, NOW);

  it('verifies a rows message and gives each payload the text canonical JSON writes, nested "payload" keys and escapes too', () => {
    const e = decode(Buffer.from(wire), checkers.envelope);
    expect(e.ok).toBe(true);
    if (!e.ok) return;
    const keep = new Map<unknown, string>((e.value.body as { rows: { payload: unknown }[] }).rows.map((r) => [r.payload, '']));
    expect(checkEnvelope(e.value, storeRing, NOW, 0, keep)).toBeUndefined();
    expect([...keep.values()]).toEqual(payloads.map((p) => canonicalJson(p)));
  });

  it('refuses as forged a text changed after signing, in a payload or in the sig in front', () => {
    for (const bad of [wire.replace('"points":-5', '"points":-50'), wire.replace('李四', '王五'), `{"sig":"${'A'.repeat(86)}",${wire.slice(wire.indexOf(',') + 1)}`]) {
      const e = decode(Buffer.from(bad), checkers.envelope);
      expect(e.ok).toBe(true);
      if (e.ok) expect(checkEnvelope(e.value, storeRing, NOW, 0)).toBe('forged');
    }
  });

  it('still verifies the same envelope sent as JSON.stringify writes it (older stores), with the same texts', () => {
    const { sig, ...rest } = JSON.parse(wire) as Envelope;
    const e = decode(Buffer.from(JSON.stringify({ ...rest, sig })), checkers.envelope);
    expect(e.ok).toBe(true);
    if (!e.ok) return;
    const keep = new Map<unknown, string>((e.value.body as { rows: { payload: unknown }[] }).rows.map((r) => [r.payload, '']));
    expect(checkEnvelope(e.value, storeRing, NOW, 0, keep)).toBeUndefined();
    expect([...keep.values()]).toEqual(payloads.map((p) => canonicalJson(p)));
  });

  it('checks the bytes as they came, not a form written again: a text its key signed as it is verifies, even with its keys out of canonical order', async () => {
    const { sign } = await import('node:crypto');
    const body = `{"v":1,"kind":"rows","id":"s1:rows:1-1","key_id":"store","village":"qianjin","store":"s1","seq":1,"issued_at":"${new Date(NOW).toISOString()}","expires_at":"${new Date(NOW + 60_000).toISOString()}","body":{"rows":[]}}`;
    expect(body).not.toBe(canonicalJson(JSON.parse(body)));
    const sig = sign(null, Buffer.from(body), storeKey.key).toString('base64url');
    const e = decode(Buffer.from(`{"sig":"${sig}",${body.slice(1)}`), checkers.envelope);
    expect(e.ok).toBe(true);
    if (e.ok) expect(checkEnvelope(e.value, storeRing, NOW, 0)).toBeUndefined();
  });

  it('takes the sig in front only when it is the envelope\'s own: a second "sig" inside is checked the slow way and refused', () => {
    const inner = `{"sig":"${JSON.parse(wire).sig as string}",${wire.slice(wire.indexOf(',') + 1, -1)},"sig":"${'B'.repeat(86)}"}`;
    const e = decode(Buffer.from(inner), checkers.envelope);
    expect(e.ok).toBe(true);
    if (e.ok) expect(checkEnvelope(e.value, storeRing, NOW, 0)).toBe('forged');
  });
});

describe('memberTexts', () => {
  it('finds the values of a key at one depth only, skipping strings that look like JSON', () => {
    const text = '{"a":{"payload":1},"body":{"rows":[{"payload":{"payload":"}],{\\"payload\\":"},"x":"payload"},{ "payload" : [1, {"b":2}] },{"payload":"s,}"}]}}';
    expect(memberTexts(text, 'payload', 4)).toEqual(['{"payload":"}],{\\"payload\\":"}', '[1, {"b":2}]', '"s,}"']);
    expect(memberTexts(text, 'payload', 2)).toEqual(['1']);
    expect(memberTexts(text, 'none', 4)).toEqual([]);
  });
});

describe('the text a message arrived as', () => {
  it('is not kept beside its value once the signature was checked (a snapshot part held until the last arrives)', async () => {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
    const AT = '2026-12-01T08:00:00.000Z';
    const part = (index: number) => signedEnvelopeText({
      v: 1, id: `snapshot:s1:9:1:${index}`, kind: 'snapshot', village: 'v', store: 's1', seq: 9, issued_at: AT, expires_at: AT,
      body: { villagers: [], entries: Array.from({ length: 1200 }, (_, i) => ({ id: `v-e${index}-${i}`, villager: `v-v${i % 300}`, kind: 'award', points: 1 + (i % 9), reason: '打扫村道', created_at: AT })), part: { of: 'snapshot:s1:9:1', index, count: 32 } },
    }, key);
    const texts = Array.from({ length: 32 }, (_, i) => Buffer.from(part(i)));
    const h0 = heap();
    const parsed = texts.map((b) => JSON.parse(b.toString('utf8')) as unknown);
    const h1 = heap();
    const held = texts.map((b) => {
      const d = decode(b, checkers.envelope);
      if (!d.ok) throw new Error(d.why);
      expect(checkEnvelope(d.value, ring, Date.parse(AT), 0)).toBeUndefined();
      return d.value;
    });
    const h2 = heap();
    expect(parsed.length + held.length).toBe(64);
    // The decoded parts hold about what the parsed ones do; with each text kept, 2.5 times that.
    expect(h2 - h1).toBeLessThan((h1 - h0) * 1.5);
  });
});
