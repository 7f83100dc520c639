/** The door part of the daemon: the inference worker is restarted when it dies. */
import { describe, it, expect, afterAll } from 'vitest';
import { pino } from 'pino';
import { EntryPart } from '../../edge/entry-part.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { doorDetector, resolveEntryConfig } from '../../edge/entry/config.ts';
import { tempLedger } from '../ledger/helpers.ts';
import { failWhen } from '../session/rig.ts';
import { addVillager } from '../../edge/ledger/villagers.ts';
import { addCard } from '../../edge/ledger/credentials.ts';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

const ledger = tempLedger();
afterAll(() => ledger.cleanup());

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('EntryPart', () => {
  it('restarts a dead inference worker, reports it degraded meanwhile, and cards still work', async () => {
    const health = new HealthBoard();
    const unlocks: number[] = [];
    const part = new EntryPart(
      {
        config: resolveEntryConfig({}),
        dataDir: ledger.dir,
        db: () => ledger.db,
        lock: () => ({ unlock: async (ms: number) => void unlocks.push(ms) }),
        store: { isStoreBusy: () => false },
        health,
        withoutCamera: true,
      },
      pino({ level: 'silent' }),
    );
    await part.start();
    try {
      expect(health.report().parts['face engine']?.health).toBe('ok');
      const engine = part.faceEngine!;
      // kill the worker as a native crash would
      await (engine as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      expect(health.report().parts['face engine']?.health).toBe('degraded');
      // meanwhile a code still reaches the policy (an unknown card is refused, not crashed on)
      const d = await part.pipeline!.presentCode('CARD-0000-0001');
      expect(d.unlocked).toBe(false);
      await until(() => health.report().parts['face engine']?.health === 'ok', 15_000, 'the worker to restart');
      expect(engine.running).toBe(true);
    } finally {
      await part.stop();
    }
  }, 60_000);
});

describe('EntryPart on the ONNX engine', () => {
  it('runs on onnx by default; when the graphs cannot be written it runs on tfjs, degraded, with the reason', async () => {
    const start = async (dataDir: string) => {
      const health = new HealthBoard();
      const part = new EntryPart(
        {
          config: resolveEntryConfig({ liveness: { enabled: false } }),
          dataDir,
          db: () => ledger.db,
          lock: () => ({ unlock: async () => undefined }),
          store: { isStoreBusy: () => false },
          health,
          withoutCamera: true,
        },
        pino({ level: 'silent' }),
      );
      await part.start();
      return { part, health };
    };
    const ok = await start(ledger.dir);
    try {
      expect(ok.part.faceEngine?.engine).toBe('onnx');
      expect(ok.health.report().parts['face engine']?.health).toBe('ok');
    } finally {
      await ok.part.stop();
    }
    // a file where the cache folder should be: the conversion cannot write its graphs
    const blocked = mkdtempSync(path.join(tmpdir(), 'entry-onnx-'));
    writeFileSync(path.join(blocked, 'cache'), 'not a folder');
    cpSync(path.join(ledger.dir, 'keys'), path.join(blocked, 'keys'), { recursive: true });
    const bad = await start(blocked);
    try {
      expect(bad.part.faceEngine?.engine).toBe('tfjs');
      expect(bad.health.report().parts['face engine']).toMatchObject({ health: 'degraded' });
      expect(JSON.stringify(bad.health.report().parts['face engine'])).toMatch(/ONNX engine unavailable, running on tfjs/);
    } finally {
      await bad.part.stop();
      rmSync(blocked, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('EntryPart: the ONNX conversion in the log', () => {
  it('logs a line per converted net on a first start (not at a terminal), none when the graphs are cached', async () => {
    // a data folder of its own: an empty conversion cache (the template key is made, no template exists)
    const dataDir = mkdtempSync(path.join(tmpdir(), 'entry-convert-'));
    const start = async () => {
      const lines: Array<{ event?: string; net?: string; phase?: string; index?: number; total?: number; ms?: number; msg: string }> = [];
      const sink = new Writable({ write(chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
      const part = new EntryPart(
        { config: resolveEntryConfig({ liveness: { enabled: false } }), dataDir, db: () => ledger.db, lock: () => ({ unlock: async () => undefined }), store: { isStoreBusy: () => false }, health: new HealthBoard(), withoutCamera: true },
        pino({ level: 'info' }, sink),
      );
      await part.start();
      await part.stop();
      return lines.filter((l) => l.event === 'onnx_conversion');
    };
    const detector = doorDetector(resolveEntryConfig({})) === 'ssd' ? 'ssdMobilenetv1' : 'tinyFaceDetector';
    try {
      const first = await start();
      expect(first.map((l) => `${l.index}/${l.total} ${l.net} ${l.phase}`)).toEqual([
        '1/3 faceRecognition converting', '1/3 faceRecognition converted',
        '2/3 faceLandmark68 converting', '2/3 faceLandmark68 converted',
        `3/3 ${detector} converting`, `3/3 ${detector} converted`,
      ]);
      expect(first[1]!.msg).toMatch(/^onnx: faceRecognition converted in \d+\.\d s \(1\/3\) \/ 人脸模型 faceRecognition 已转换/);
      expect(typeof first[1]!.ms).toBe('number');
      expect(await start()).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('EntryPart and the health board', () => {
  it('reports a door decision that could not be written as a fault, cleared by the next written one', async () => {
    const health = new HealthBoard();
    health.setPhase('running');
    const part = new EntryPart(
      {
        config: resolveEntryConfig({ face_enabled: false }),
        dataDir: ledger.dir,
        db: () => ledger.db,
        lock: () => ({ unlock: async () => undefined }),
        store: { isStoreBusy: () => false },
        health,
        withoutCamera: true,
      },
      pino({ level: 'silent' }),
    );
    await part.start();
    try {
      // the table a decision goes to is gone: every write fails as on a broken disk
      ledger.db.exec('ALTER TABLE entry_events RENAME TO entry_events_away');
      const refused = await part.pipeline!.presentCode('CARD-0000-0009');
      expect(refused.unlocked).toBe(false);
      expect(health.report()).toMatchObject({ status: 'fault', faults: [{ source: 'door records', code: 'LEDGER_WRITE' }] });
      ledger.db.exec('ALTER TABLE entry_events_away RENAME TO entry_events');
      await part.pipeline!.presentCode('CARD-0000-0009');
      expect(health.report().faults).toEqual([]);
    } finally {
      await part.stop();
    }
  }, 60_000);

  it('reports a villager\'s standing that could not be read as a fault; the door stays shut and goes on, cleared by the next decision', async () => {
    const health = new HealthBoard();
    health.setPhase('running');
    const unlocks: number[] = [];
    addVillager(ledger.db, { id: 'li', name: '李四', village: 'v' });
    addCard(ledger.db, 'PB-2001', 'li', new Date().toISOString());
    const part = new EntryPart(
      {
        config: resolveEntryConfig({ face_enabled: false }),
        dataDir: ledger.dir,
        db: () => ledger.db,
        lock: () => ({ unlock: async (ms: number) => void unlocks.push(ms) }),
        store: { isStoreBusy: () => false },
        health,
        withoutCamera: true,
      },
      pino({ level: 'silent' }),
    );
    await part.start();
    const heal = failWhen(ledger.db, (sql) => sql.includes('face_consent_at, debt, balance'));
    try {
      const refused = await part.pipeline!.presentCode('PB-2001');
      expect(refused).toMatchObject({ decision: 'matched', villagerId: 'li', unlocked: false, detail: { refused: 'ledger_error' } });
      expect(unlocks).toEqual([]);
      expect(health.report()).toMatchObject({ status: 'fault', faults: [{ source: 'door ledger', code: 'LEDGER_READ', detail: 'disk I/O error' }] });
      heal();
      expect(await part.pipeline!.presentCode('PB-2001')).toMatchObject({ decision: 'matched', unlocked: true });
      expect(health.report().faults).toEqual([]);
    } finally {
      heal();
      await part.stop();
    }
  }, 60_000);
});
