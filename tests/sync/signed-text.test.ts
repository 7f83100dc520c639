/**
 * The signed texts the sync writes without serialising twice: an envelope's wire text from the
 * canonical form it was signed over, and the ack's row digests from the payload texts the
 * signature's check wrote. Each must say exactly what the slower way says.
 */
import { describe, expect, it } from 'vitest';
import { ackDigests, RowChecker } from '../../cloud-sync/ledger/row-check.ts';
import { rowsMessage } from '../../cloud-sync/agent/rows.ts';
import { checkEnvelope, envelopeText, newKeyPair, privateEd25519, publicEd25519, rowDigest, signEnvelope } from '../../cloud-sync/protocol/sign.ts';
import { canonicalJson } from '../../lib/canonical-json.ts';
import type { Envelope } from '../../cloud-sync/protocol/payloads.ts';
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
