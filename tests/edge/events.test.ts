/**
 * The daemon's event contract: events forwarded under their names and logged with an `event`
 * field, listeners removed at stop, a listener's error kept from the emitting part, `{err}`
 * logged with its code and stack, and a stop bounded in time when a part never stops.
 */
import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { createLogger } from '../../edge/log.ts';
import { DaemonEventRelay } from '../../edge/events.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import { validateConfig } from '../../edge/config/load.ts';
import { StoreDaemon } from '../../edge/main.ts';
import { tempDir } from '../ledger/helpers.ts';
import type { StateChange } from '../../edge/session/engine.ts';
import type { Part } from '../../edge/parts.ts';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  return { log: createLogger({ level: 'info', pretty: false }, out), lines };
}

interface PartEvents { state: [StateChange]; fault: [{ where: string; message: string }] }

describe('DaemonEventRelay', () => {
  it('forwards under the contract name, logs with an event field, and removes its listeners at stop', () => {
    const { log, lines } = capture();
    const part = new EventEmitter<PartEvents>();
    const relay = new DaemonEventRelay(log);
    relay.forward(part, 'state', 'session_state', (s) => s, (s) => ({ fields: { phase: s.phase }, msg: 'session' }));
    relay.forward(part, 'fault', 'fault', (f) => ({ source: 'session', ...f }));
    const seen: string[] = [];
    relay.on('session_state', (s) => seen.push(s.phase));
    relay.on('fault', (f) => seen.push(`${f.source}:${f.where}`));
    part.emit('state', { phase: 'shopping', sessionId: 's1', villagerId: 'V1', at: 1 });
    part.emit('fault', { where: 'settle', message: 'disk full' });
    expect(seen).toEqual(['shopping', 'session:settle']);
    expect(lines).toEqual([expect.objectContaining({ event: 'session_state', phase: 'shopping', msg: 'session' })]);
    expect(part.listenerCount('state') + part.listenerCount('fault')).toBe(2);
    relay.stop();
    expect(part.listenerCount('state') + part.listenerCount('fault')).toBe(0);
  });

  it("keeps a listener's error from the part that emitted, and logs it", () => {
    const { log, lines } = capture();
    const part = new EventEmitter<PartEvents>();
    const relay = new DaemonEventRelay(log);
    relay.forward(part, 'fault', 'fault', (f) => ({ source: 'entry', ...f }));
    relay.on('fault', () => {
      throw new Error('listener broke');
    });
    expect(() => part.emit('fault', { where: 'record', message: 'x' })).not.toThrow();
    expect(lines[0]).toMatchObject({ event: 'fault', err: { message: 'listener broke' } });
  });
});

describe('logging {err}', () => {
  it('carries the EdgeError code, the Chinese text, details and the stack', () => {
    const { log, lines } = capture();
    log.error({ err: new EdgeError(ErrorCode.DB_FULL, 'settling: the disk is full', { zh: '磁盘已满', details: { session: 's1' } }) }, 'failed');
    expect(lines[0]!.err).toMatchObject({ type: 'EdgeError', code: 'DB_FULL', zh: '磁盘已满', details: { session: 's1' }, message: 'settling: the disk is full' });
    expect(String((lines[0]!.err as { stack: string }).stack)).toContain('events.test.ts');
  });
});

describe('the daemon', () => {
  it('relays its parts\' events and, stopped, leaves no listener on the scanner, the session or the door', async () => {
    const t = tempDir('events-');
    try {
      const config = validateConfig({ data_dir: t.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false } });
      const { log } = capture();
      const daemon = new StoreDaemon(config, log);
      await daemon.start();
      const scanner = daemon.hardware!.scanner!;
      const session = daemon.session!;
      const pipeline = daemon.entry!.pipeline!;
      const counts = () => [scanner.listenerCount('code'), session.listenerCount('state'), session.listenerCount('fault'), pipeline.listenerCount('decision')];
      expect(counts().every((n) => n >= 1)).toBe(true);
      const before = counts();
      await daemon.stop();
      const after = counts();
      expect(after[0]).toBe(before[0]! - 1);
      // the relay's, and the idle-shelf watch's (edge/ops/idle-shelf-watch.ts) stopped with it
      expect(after[1]).toBe(before[1]! - 2);
      expect(after[2]).toBe(before[2]! - 1);
      expect(after[3]).toBeLessThanOrEqual(before[3]! - 1);
    } finally {
      t.cleanup();
    }
  }, 120_000);

  it('stops within its overall bound: a part that never stops is named (logged and returned), the parts started before it still stop', async () => {
    const t = tempDir('events-');
    try {
      const config = validateConfig({ data_dir: t.dir, demo: true, demo_loop: false, http: { port: 0 }, log: { level: 'silent' }, entry: { face_enabled: false } });
      const { log, lines } = capture();
      const stuck: Part = { name: 'stuck part', critical: false, start: () => undefined, stop: () => new Promise<void>(() => undefined) };
      const daemon = new StoreDaemon(config, log, {}, [{ parts: () => ({ last: [stuck] }) }]);
      await daemon.start();
      // the bound (STOP_LIMIT_MS by default) passes while the part's stop still hangs
      expect(await daemon.stop(500)).toEqual({ stopped: false, notStopped: ['stuck part'] });
      expect(lines).toContainEqual(expect.objectContaining({ level: 50, part: 'stuck part', limitMs: 500 }));
      const parts = daemon.health.report().parts;
      expect(parts['stuck part']?.health).toBe('ok');
      // the ledger, started first, stopped last, is still closed
      expect(parts.ledger?.health).toBe('stopped');
      expect(parts.http?.health).toBe('stopped');
    } finally {
      t.cleanup();
    }
  }, 120_000);
});
