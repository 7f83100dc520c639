/**
 * Passbook cards at the door: the number is never stored or shown in full, and a brute force
 * of numbers at the scanner stalls while villagers' other ways in keep working.
 */
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { issueQrToken, publicKeyFromPem } from '../../edge/entry/credentials.ts';
import { EntryPipeline, type EntryDecision } from '../../edge/entry/pipeline.ts';
import { loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { addCard } from '../../edge/ledger/credentials.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { tempLedger } from '../ledger/helpers.ts';

const cleanups: Array<() => void> = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

function setup() {
  const l = tempLedger();
  cleanups.push(l.cleanup);
  addVillager(l.db, { id: 'wang', name: '王五', village: 'v' });
  addCard(l.db, 'PB-7KQ9-XM4T', 'wang', 'now');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const clock = { now: Date.parse('2026-06-01T10:00:00Z') };
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  const pipeline = new EntryPipeline({
    config: resolveEntryConfig({}), db: l.db, recogniser: null, store: { isStoreBusy: () => false }, camera: null,
    lock: { unlock: () => Promise.resolve() },
    templateKey: loadOrCreateTemplateKey(path.join(l.dir, 'k')), qrPublicKey: publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' })),
    logger: pino({ level: 'info' }, sink), now: () => clock.now,
  });
  const decisions: EntryDecision[] = [];
  pipeline.on('decision', (d) => decisions.push(d));
  return { pipeline, decisions, logLines, clock, db: l.db, privateKey };
}

describe('passbook cards at the door', () => {
  it('stores and reports only the masked number, for a known and an unknown card', async () => {
    const { pipeline, db, logLines } = setup();
    await pipeline.start();
    expect(await pipeline.presentCode('PB-7KQ9-XM4T')).toMatchObject({ by: 'card', decision: 'matched', villagerId: 'wang', unlocked: true, detail: { card: 'PB-****4T' } });
    expect(await pipeline.presentCode('PB-7KQ9-XM4X')).toMatchObject({ decision: 'invalid_code', detail: { why: 'unknown card', card: 'PB-****4X' } });
    const rows = db.prepare('SELECT detail FROM entry_events').all() as { detail: string }[];
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.detail).not.toMatch(/7KQ9/);
    expect(JSON.stringify(logLines)).not.toMatch(/7KQ9/);
  });

  it('a run of unknown numbers pauses every card scan, logged with a reason; QR still opens; the card works after the pause', async () => {
    const { pipeline, decisions, logLines, clock, privateKey } = setup();
    await pipeline.start();
    for (let i = 1; i <= 5; i++) {
      expect(await pipeline.presentCode(`PB-000${i}`)).toMatchObject({ decision: 'invalid_code', detail: { why: 'unknown card' } });
      clock.now += 2000;
    }
    expect(logLines.filter((l) => l.event === 'card_scans_paused')).toMatchObject([{ level: 40, pauseMs: 30_000, unknownCards: 5 }]);
    // the brute force stalls: the next numbers are not even looked up, the right one included
    expect(await pipeline.presentCode('PB-0006')).toMatchObject({ decision: 'invalid_code', detail: { why: 'card scans paused', retryAfterS: 28 } });
    expect(await pipeline.presentCode('PB-7KQ9-XM4T')).toMatchObject({ decision: 'invalid_code', unlocked: false, detail: { why: 'card scans paused', card: 'PB-****4T' } });
    // a signed QR code cannot be guessed, so it is not paused
    const qr = await pipeline.presentCode(issueQrToken(privateKey, 'wang', 60, clock.now, 'v'));
    expect(qr).toMatchObject({ by: 'qr', decision: 'matched', unlocked: true });
    clock.now += 28_000;
    expect(await pipeline.presentCode('PB-7KQ9-XM4T')).toMatchObject({ decision: 'matched', unlocked: true });
    // the next run pauses for twice as long
    for (let i = 1; i <= 5; i++) await pipeline.presentCode(`PB-100${i}`);
    expect(await pipeline.presentCode('PB-7KQ9-XM4T')).toMatchObject({ detail: { why: 'card scans paused', retryAfterS: 60 } });
    expect(decisions.filter((d) => d.unlocked).map((d) => d.by)).toEqual(['qr', 'card']);
  });
});
