/**
 * The ledger's check of a store's rows message (cloud-sync/ledger/row-check.ts): a message
 * checked on arrival against the key the ledger last read for its store is taken as checked
 * only if that store's key is still the same when its turn comes; otherwise it is checked again.
 */
import { describe, expect, it } from 'vitest';
import { RowChecker } from '../../cloud-sync/ledger/row-check.ts';
import { newKeyPair, privateEd25519, signedEnvelopeText } from '../../cloud-sync/protocol/sign.ts';
import { rowsMessage } from '../../cloud-sync/agent/rows.ts';
import { canonicalJson } from '../../lib/canonical-json.ts';
import type { StoreRecord } from '../../cloud-sync/ledger/tables.ts';

const NOW = Date.parse('2026-12-02T10:00:00.000Z');
const k1 = newKeyPair();
const k2 = newKeyPair();
const record = (keyId: string, pem: string): StoreRecord => ({
  village: 'v1', id: 's1', keyId, publicKey: pem, contiguousSeq: 0, gaps: 0, status: null, lastHeartbeat: null,
  inboundSeq: null, lastAckedSeq: null, outboxPending: null, behindSince: null, heals: 0,
});
const payload = { id: 'e1', villager: 'zhang', kind: 'redemption', points: -5, created_at: '2026-12-02T09:59:00.000Z' };
const message = (keyId: string, pem: string, store = 's1'): Buffer => Buffer.from(rowsMessage({ village: 'v1', store }, privateEd25519(keyId, pem), [
  { seq: 1, topic: 'entry', payload, payloadText: canonicalJson(payload), createdAt: '2026-12-02T09:59:00.000Z', ackedAt: null },
], NOW));
const checker = () => new RowChecker(() => NOW, 300_000);

describe('a rows message checked on arrival', () => {
  it('is taken as checked in its turn while its store keeps the key it was checked against', () => {
    const c = checker();
    c.remember([record('store', k1.publicPem)]);
    const m = message('store', k1.privatePem);
    c.onArrival('v1', 's1', m);
    const v = c.check('v1', 's1', m, record('store', k1.publicPem));
    expect(v.ok && v.rows.map((r) => r.id)).toEqual(['s1:1']);
  });

  it('is checked again when the store\'s key changed in between: a verdict against the old key never stands', () => {
    const c = checker();
    c.remember([record('store', k1.publicPem)]);
    // signed with the old key, arrived before the rotation: forged once the new key is registered
    const old = message('store', k1.privatePem);
    c.onArrival('v1', 's1', old);
    expect(c.check('v1', 's1', old, record('store', k2.publicPem))).toEqual({ ok: false, reason: 'forged' });
    // signed with the new key while the ledger still knew the old one: good in its turn
    const fresh = message('store', k2.privatePem);
    c.onArrival('v1', 's1', fresh);
    expect(c.check('v1', 's1', fresh, record('store', k2.publicPem)).ok).toBe(true);
    // a store no longer registered: forged
    expect(c.check('v1', 's1', fresh, undefined)).toEqual({ ok: false, reason: 'forged' });
  });

  it('is checked in its turn when its store was not known on arrival, and refused for what is wrong with it', () => {
    const c = checker();
    const m = message('store', k1.privatePem);
    c.onArrival('v1', 's1', m);
    expect(c.check('v1', 's1', m, record('store', k1.publicPem)).ok).toBe(true);
    expect(c.check('v1', 's1', Buffer.from('{not json'), record('store', k1.publicPem))).toEqual({ ok: false, reason: 'invalid' });
    // another store's rows under this store's topic
    const other = message('store', k1.privatePem, 's2');
    c.remember([record('store', k1.publicPem)]);
    c.onArrival('v1', 's1', other);
    expect(c.check('v1', 's1', other, record('store', k1.publicPem))).toEqual({ ok: false, reason: 'invalid' });
  });

  it('says what the store reads in its ack: this store digests and foreign (:f:d), an older one only digests (:d), the oldest neither', () => {
    const c = checker();
    const store = record('store', k1.publicPem);
    const reads = (m: Buffer) => {
      const v = c.check('v1', 's1', m, store);
      return v.ok ? { digests: v.digests, foreign: v.foreign } : v;
    };
    expect(reads(message('store', k1.privatePem))).toEqual({ digests: true, foreign: true });
    const older = (suffix: string) => Buffer.from(signedEnvelopeText({
      v: 1, id: `s1:rows:1-1${suffix}`, kind: 'rows', village: 'v1', store: 's1', seq: 1, issued_at: new Date(NOW).toISOString(), expires_at: new Date(NOW + 86_400_000).toISOString(),
      body: { rows: [{ id: 's1:1', seq: 1, topic: 'entry', payload, created_at: '2026-12-02T09:59:00.000Z' }] },
    }, privateEd25519('store', k1.privatePem)));
    expect(reads(older(':d'))).toEqual({ digests: true, foreign: false });
    expect(reads(older(''))).toEqual({ digests: false, foreign: false });
  });
});
