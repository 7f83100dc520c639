/**
 * The admission is on disk before the door opens: the entry pipeline with the session engine
 * as its store, a recording lock, and a ledger that can be made to refuse writes (disk full).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { resolveEntryConfig } from '../../edge/entry/config.ts';
import { addCard, issueQrToken } from '../../edge/entry/credentials.ts';
import { EntryPipeline, type EntryDecision, type StoreOccupancy } from '../../edge/entry/pipeline.ts';
import type { Db } from '../../edge/ledger/db.ts';
import type { Announcement } from '../../edge/session/receipt.ts';
import { failWhen, seedLedger, store } from './rig.ts';

const keys = generateKeyPairSync('ed25519');
const stops: Array<() => void> = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
  vi.useRealTimers();
});

/** What the ledger held at each unlock pulse. */
interface Pulse { sessions: Array<{ villager_id: string; status: string; state: string }>; slips: number }

function door(opts: { unlock?: () => Promise<void>; db?: Db; occupancy?: (engine: ReturnType<typeof store>['engine']) => StoreOccupancy; enteringMs?: number } = {}) {
  const s = store({ db: opts.db ?? seedLedger(), config: { entering_timeout_ms: opts.enteringMs ?? 600_000 } });
  stops.push(() => s.engine.stop());
  addCard(s.db, 'PB-0001', 'A', new Date().toISOString());
  const pulses: Pulse[] = [];
  const pipeline = new EntryPipeline({
    config: resolveEntryConfig({}), db: s.db, recogniser: null, camera: null, templateKey: Buffer.alloc(32),
    store: opts.occupancy ? opts.occupancy(s.engine) : s.engine,
    qrPublicKey: keys.publicKey, logger: pino({ level: 'silent' }),
    lock: {
      unlock: () => {
        pulses.push({
          sessions: s.db.prepare('SELECT villager_id, status, state FROM store_sessions').all() as Pulse['sessions'],
          slips: s.db.prepare('SELECT count(*) FROM qr_tokens_used').pluck().get() as number,
        });
        return opts.unlock ? opts.unlock() : Promise.resolve();
      },
    },
  });
  const decisions: EntryDecision[] = [];
  const said: Announcement[] = [];
  pipeline.on('decision', (d) => {
    decisions.push(d);
    s.engine.onEntryDecision(d);
  });
  s.engine.on('announce', (a) => said.push(a));
  return { ...s, pipeline, pulses, decisions, said };
}

const slipsUsed = (db: Db): number => db.prepare('SELECT count(*) FROM qr_tokens_used').pluck().get() as number;

describe('the admission is written before the unlock pulse', () => {
  it('the visit row (entering, with its baseline) is in the ledger when the lock is pulsed', async () => {
    const d = door();
    const decision = await d.pipeline.presentCode('PB-0001');
    expect(decision).toMatchObject({ decision: 'matched', unlocked: true, villagerId: 'A' });
    expect(d.pulses).toEqual([{ sessions: [{ villager_id: 'A', status: 'open', state: 'entering' }], slips: 0 }]);
    expect(d.engine.phase).toBe('entering');
    expect(d.session('A')?.context).toMatchObject({ baseline: { S1: 1000, S2: 1000 } });
    expect(d.said.map((a) => a.reason)).toEqual(['welcome']);
  });

  it('disk full: the door stays locked, says so, and records a decision with the reason; nothing is half-written', async () => {
    const d = door();
    const stop = failWhen(d.db, (sql) => sql.startsWith('INSERT INTO store_sessions'));
    const token = issueQrToken(keys.privateKey, 'A', 60, Date.now(), 'v');
    const decision = await d.pipeline.presentCode(token);
    expect(decision).toMatchObject({ decision: 'matched', unlocked: false, detail: { refused: 'not_recorded' } });
    expect(d.pulses).toEqual([]);
    expect(d.engine.phase).toBe('idle');
    expect(d.said.map((a) => a.reason)).toEqual(['not_recorded']);
    expect(d.said[0]?.text).toContain('门未打开');
    expect(slipsUsed(d.db)).toBe(0); // the slip was not used up with the refused admission
    stop();
    // the same slip works once the disk has room again
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'matched', unlocked: true });
    expect(d.pulses).toEqual([{ sessions: [{ villager_id: 'A', status: 'open', state: 'entering' }], slips: 1 }]);
  });

  it('a disk error reading the villager\'s standing: the door stays locked and says so, no visit, no slip used; the next scan is let in', async () => {
    const d = door();
    const faults: string[] = [];
    d.pipeline.on('fault', (f) => faults.push(`${f.where}: ${f.message}`));
    const stop = failWhen(d.db, (sql) => sql.includes('face_consent_at, debt, balance') || sql.includes('FROM villagers'));
    const token = issueQrToken(keys.privateKey, 'A', 60, Date.now(), 'v');
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'matched', villagerId: 'A', unlocked: false, detail: { refused: 'ledger_error' } });
    expect(faults).toEqual(['ledger: disk I/O error']);
    expect(d.pulses).toEqual([]);
    expect(d.engine.phase).toBe('idle');
    // the villager's name cannot be read either: the door speaks without it
    expect(d.said).toMatchObject([{ reason: 'not_recorded', villagerId: null }]);
    expect(d.said[0]?.text).toContain('门未打开');
    expect(slipsUsed(d.db)).toBe(0);
    stop();
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'matched', unlocked: true });
  });

  it('a disk error looking the card up: the door stays locked and says so, the refusal is recorded with its reason, a ledger fault is raised; the next scan is let in', async () => {
    const d = door();
    const faults: string[] = [];
    d.pipeline.on('fault', (f) => faults.push(`${f.where}: ${f.message}`));
    const stop = failWhen(d.db, (sql) => sql.includes('FROM cards WHERE card_no'));
    stops.push(stop);
    expect(await d.pipeline.presentCode('PB-0001')).toMatchObject({ by: 'card', decision: 'invalid_code', villagerId: null, unlocked: false, detail: { refused: 'ledger_error', card: 'PB-****01', why: 'the card could not be looked up: disk I/O error' } });
    expect(faults).toEqual(['ledger: disk I/O error']);
    expect(d.pulses).toEqual([]);
    expect(d.engine.phase).toBe('idle');
    expect(d.said).toMatchObject([{ reason: 'not_recorded', villagerId: null }]);
    expect(d.said[0]?.text).toContain('门未打开');
    const row = d.db.prepare('SELECT decision, detail FROM entry_events').get() as { decision: string; detail: string };
    expect({ decision: row.decision, detail: JSON.parse(row.detail) as unknown }).toMatchObject({ decision: 'invalid_code', detail: { refused: 'ledger_error', unlocked: false } });
    stop();
    expect(await d.pipeline.presentCode('PB-0001')).toMatchObject({ by: 'card', decision: 'matched', unlocked: true });
  });
});

describe('an unlock that fails after the admission', () => {
  it('cancels the visit and gives the QR slip back, so the same slip opens the door next time', async () => {
    let broken = true;
    const d = door({ unlock: () => (broken ? Promise.reject(new Error('relay stuck')) : Promise.resolve()) });
    const token = issueQrToken(keys.privateKey, 'A', 60, Date.now(), 'v');
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'matched', unlocked: false, detail: { unlockError: 'relay stuck' } });
    expect(d.pulses[0]?.slips).toBe(1); // used up with the admission, before the pulse
    expect(slipsUsed(d.db)).toBe(0); // and given back
    expect(d.engine.phase).toBe('idle');
    expect(d.session('A')?.status).toBe('cancelled');
    broken = false;
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'matched', unlocked: true });
    expect(d.engine.phase).toBe('entering');
    expect(slipsUsed(d.db)).toBe(1);
  });

  it('a store without admissions: the pipeline gives the slip back itself', async () => {
    const d = door({ unlock: () => Promise.reject(new Error('relay stuck')), occupancy: (e) => ({ isStoreBusy: (v) => e.isStoreBusy(v) }) });
    const token = issueQrToken(keys.privateKey, 'A', 60, Date.now(), 'v');
    expect(await d.pipeline.presentCode(token)).toMatchObject({ unlocked: false });
    expect(d.pulses[0]?.slips).toBe(1);
    expect(slipsUsed(d.db)).toBe(0);
  });

  it('a second scan by the villager already entering keeps the visit when its unlock fails', async () => {
    let broken = false;
    const d = door({ unlock: () => (broken ? Promise.reject(new Error('relay stuck')) : Promise.resolve()) });
    await d.pipeline.presentCode('PB-0001');
    const id = d.engine.current?.sessionId;
    broken = true;
    expect(await d.pipeline.presentCode('PB-0001')).toMatchObject({ unlocked: false });
    expect(d.engine.phase).toBe('entering');
    expect(d.engine.current?.sessionId).toBe(id);
    expect(d.session('A')?.status).toBe('open');
  });
});

describe('a QR slip and the visit it let in', () => {
  it('the villager whose unlock ran out scans the same code again: let in on the same visit; once the door opened, the code is used up', async () => {
    const d = door();
    const token = issueQrToken(keys.privateKey, 'A', 90, Date.now(), 'v');
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'matched', unlocked: true });
    const visit = d.engine.current?.sessionId;
    // the pulse ran out before they pushed the door; the phone still shows the same code
    expect(d.engine.phase).toBe('entering');
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'matched', villagerId: 'A', unlocked: true });
    expect(d.engine.current?.sessionId).toBe(visit);
    expect(d.pulses).toHaveLength(2);
    expect(slipsUsed(d.db)).toBe(1);
    // they go in: the code opened the door, and never opens it again (their own visit included)
    d.lock.door('open');
    expect(d.engine.phase).toBe('shopping');
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'invalid_code', unlocked: false, detail: { why: 'already used' } });
    expect(d.pulses).toHaveLength(2);
  });

  it('a code used for one visit does not open the door on the next visit of the same villager', async () => {
    const d = door();
    const token = issueQrToken(keys.privateKey, 'A', 90, Date.now(), 'v');
    await d.pipeline.presentCode(token);
    d.lock.door('open');
    d.lock.door('closed');
    d.lock.exit();
    d.scales.sweep();
    expect(d.engine.phase).toBe('idle');
    // they walk out
    d.lock.door('open');
    d.lock.door('closed');
    expect(d.engine.isStoreBusy('A')).toBe(false);
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'invalid_code', detail: { why: 'already used' } });
  });

  it('a re-scan whose unlock fails keeps the code used up for the visit still entering', async () => {
    let broken = false;
    const d = door({ unlock: () => (broken ? Promise.reject(new Error('relay stuck')) : Promise.resolve()) });
    const token = issueQrToken(keys.privateKey, 'A', 90, Date.now(), 'v');
    await d.pipeline.presentCode(token);
    broken = true;
    expect(await d.pipeline.presentCode(token)).toMatchObject({ unlocked: false });
    expect(d.engine.phase).toBe('entering');
    // the re-scan used nothing up, so it gives nothing back: the slip still belongs to the open visit
    expect(slipsUsed(d.db)).toBe(1);
    d.lock.door('open');
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'invalid_code' });
  });

  it('the door never opened (the visit is cancelled when entering times out): the slip is given back with the visit', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const d = door({ enteringMs: 1000 });
    const token = issueQrToken(keys.privateKey, 'A', 90, Date.now(), 'v');
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'matched', unlocked: true });
    expect(slipsUsed(d.db)).toBe(1);
    // nobody pushes the door
    vi.advanceTimersByTime(1000);
    expect(d.engine.phase).toBe('idle');
    expect(d.session('A')).toMatchObject({ status: 'cancelled' });
    expect(slipsUsed(d.db)).toBe(0);
    expect(await d.pipeline.presentCode(token)).toMatchObject({ decision: 'matched', unlocked: true });
    expect(slipsUsed(d.db)).toBe(1);
  });
});
