/**
 * `store-edge alarms …` as a maintainer runs it at the store PC: list the alarms, acknowledge
 * one, clear a villager_id_taken by hand; audited as `cli`; bad input exit 2, both languages.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pino } from 'pino';
import { openLedger, closeLedger, type Db } from '../../edge/ledger/db.ts';
import { alarmById } from '../../edge/ledger/alarms.ts';
import { listAudit } from '../../edge/ledger/audit.ts';
import { AlarmBoard, villagerIdTakenAlarm } from '../../edge/ops/alarms.ts';
import { tempDir } from '../ledger/helpers.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('cli-alarms-');
afterAll(() => t.cleanup());

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'alarms', ...args, '--data-dir', t.dir], { env: { ...process.env, STORE_EDGE_CONFIG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

const ledger = <T>(fn: (db: Db) => T): T => {
  const db = openLedger(path.join(t.dir, 'ledger.sqlite'));
  try {
    return fn(db);
  } finally {
    closeLedger(db);
  }
};

describe('store-edge alarms', () => {
  let wei = 0;
  let scale = 0;
  beforeAll(() => ledger((db) => {
    const b = new AlarmBoard(() => db, pino({ level: 'silent' }));
    villagerIdTakenAlarm(b)(['wei']);
    wei = b.active()[0]!.id;
    scale = b.raise('scale_fault', 'A1', 'no reply').id;
  }));

  it('lists, acknowledges and clears by hand, audited as cli; refuses bad input with exit 2 in both languages', async () => {
    const list = await run('list', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ active: [{ id: wei, kind: 'villager_id_taken', subject: 'villager wei' }, { id: scale, kind: 'scale_fault' }] });
    const text = await run('list');
    expect(text.stdout).toContain(`#${wei}`);
    expect(text.stdout).toContain('村民编号已属别村');

    const ack = await run('acknowledge', String(scale), '--note', '已通知电工', '--json');
    expect(ack.code, ack.stderr).toBe(0);
    expect(JSON.parse(ack.stdout)).toMatchObject({ acknowledged: true, alarm: { id: scale, acknowledged_by: 'cli', ack_note: '已通知电工' } });

    const notClearable = await run('clear', String(scale));
    expect(notClearable.code).toBe(2);
    expect(notClearable.stderr).toMatch(/自动解除.*cannot be cleared by hand/s);
    const unknown = await run('clear', '9999');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('9999');
    const badId = await run('clear', 'abc');
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/整数.*whole number/s);
    const badNote = await run('clear', String(wei), '--note', '村委\u0007已核实');
    expect(badNote.code).toBe(2);
    expect(badNote.stderr).toContain('--note 备注不能包含控制字符');
    expect(ledger((db) => alarmById(db, wei))!.cleared_at).toBeNull();

    // a tab in the note is a space, as on the page
    const clear = await run('clear', String(wei), '--note', '村委已更正\t邻村的编号');
    expect(clear.code, clear.stderr).toBe(0);
    expect(clear.stdout).toContain(`#${wei}`);
    const again = await run('clear', String(wei), '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ cleared: false, audit_id: null });

    const after = ledger((db) => ({ alarm: alarmById(db, wei)!, audit: listAudit(db) }));
    expect(after.alarm.cleared_by).toBe('cli');
    expect(after.audit.map((a) => `${a.actor} ${a.action} ${a.target}`)).toEqual([`cli alarm.clear villager_id_taken villager wei #${wei}`, `cli alarm.acknowledge scale_fault A1 #${scale}`]);
    expect(after.audit[0]!.after).toMatchObject({ note: '村委已更正 邻村的编号' });
  }, 240_000);
});
