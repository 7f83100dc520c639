/**
 * `store-edge simulate --data-dir DIR`: a scenario whose ids the ledger would refuse is refused
 * before anything is written (exit 2, naming the entry in both languages); DIR is not made.
 * Run in this process (edge/cli/index.ts `main`).
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../entry/cli-run.ts';
import { tempDir } from '../ledger/helpers.ts';
import { parseScenario } from '../../harness/scenario/scenario.ts';

const t = tempDir('simulate-check-');
afterAll(() => t.cleanup());

const base = {
  products: [{ sku: 'salt', name: '食盐', price: 3, unit_g: 400, tolerance_g: 10 }],
  slots: [{ slot: 'A1', scale: 11, sku: 'salt', stock: 2 }],
  villagers: [{ id: 'zhang', name: '张三', balance: 10, card: 'PB-0001' }],
  steps: [{ enter: { villager: 'zhang' } }, { exit: {} }],
};

describe('store-edge simulate checks every id before writing', () => {
  it.each<[string, Record<string, unknown>, string, string]>([
    ['a villager id the ledger refuses', { villagers: [{ ...base.villagers[0], id: 'zhang san' }], steps: [] }, 'scenario villagers[0]: villager id "zhang san"', '场景文件 villagers[0]：村民编号'],
    ['a card number the ledger refuses', { villagers: [{ ...base.villagers[0], card: 'P1' }] }, 'scenario villagers[0]: ', '场景文件 villagers[0]：'],
    ['a scale address beyond the bus', { slots: [{ ...base.slots[0], scale: 300 }] }, 'scenario slots[0]: slot A1: bus address must be 1–247, got 300', '场景文件 slots[0]：秤的总线地址'],
    ['a slot name the ledger refuses', { slots: [{ ...base.slots[0], slot: 'A 1' }], steps: [] }, 'scenario slots[0]: slot "A 1"', '场景文件 slots[0]：货位编号'],
  ])('%s: exit 2 naming the entry, the data folder not made', async (_name, change, message, zh) => {
    const file = path.join(t.dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...base, ...change }));
    const dir = path.join(t.dir, `run-${Math.random().toString(36).slice(2)}`);
    const r = await runCli(['simulate', '--scenario', file, '--data-dir', dir, '--in-process', '--json']);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain(zh);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);
});

describe('a scenario\'s session: step', () => {
  it('takes every key of the daemon\'s session config and passes it through', () => {
    const session = { door_settle_ms: 500, leave_hold_ms: 0, resume_scales_timeout_ms: 1000, stability_wait_ms: 800, weight: { drift_allowance_g: 5 } };
    expect(parseScenario({ ...base, session }).session).toEqual(session);
  });

  it('still refuses a key the session config does not have, naming it', () => {
    expect(() => parseScenario({ ...base, session: { door_setle_ms: 500 } })).toThrow(expect.objectContaining({ message: expect.stringContaining('scenario session: unknown key "door_setle_ms"') }));
  });
});

describe('scenario errors in both languages', () => {
  /** The Chinese text after the location (场景文件 step 1 (take)：…). */
  const zhOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      const zh = (err as { zh?: string }).zh ?? '';
      return zh.slice(zh.indexOf('：') + 1);
    }
    throw new Error('expected an error');
  };
  it.each<[string, Record<string, unknown>]>([
    ['unknown key', { steps: [{ take: { slot: 'A1', cuont: 1 } }] }],
    ['unknown slot', { steps: [{ take: { slot: 'Z9' } }] }],
    ['unknown villager', { steps: [{ enter: { villager: 'nobody' } }] }],
    ['unknown action', { steps: [{ dance: {} }] }],
    ['no face', { steps: [{ enter: { villager: 'zhang', by: 'face' } }] }],
    ['two actions in a step', { steps: [{ enter: { villager: 'zhang' }, exit: {} }] }],
    ['unknown sku', { slots: [{ slot: 'A1', scale: 11, sku: 'sugar' }] }],
    ['no slot', { slots: [] }],
    ['a text that is empty', { villagers: [{ id: '', name: '张三' }] }],
    ['not true or false', { villagers: [{ id: 'zhang', name: '张三', maintainer: 'yes' }] }],
    ['not one of', { steps: [{ exit: { by: 'window' } }] }],
    ['not a maintainer', { steps: [{ restock: { maintainer: 'zhang', add: [] } }] }],
    ['credit_floor above 0', { credit_floor: 5 }],
  ])('%s: the Chinese says what is wrong', (_name, change) => {
    const zh = zhOf(() => parseScenario({ ...base, ...change }));
    expect(zh).toMatch(/[\u4e00-\u9fff]/);
  });

  it('a step the store cannot do (taking more than the shelf holds) stops the run in both languages', async () => {
    const file = path.join(t.dir, 'too-many.json');
    writeFileSync(file, JSON.stringify({ ...base, steps: [{ enter: { villager: 'zhang' } }, { take: { slot: 'A1', count: 3 } }] }));
    const r = await runCli(['simulate', '--scenario', file, '--in-process', '--json']);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('第 2 步：货位 A1 只有 2 件，不能拿 3 件');
    expect(r.err).toContain('step 2: slot A1 holds 2 items; cannot take 3');
  }, 120_000);
});

describe('a power cut armed for a phase the session never reaches', () => {
  it.each<[string, Array<Record<string, unknown>>, string, string]>([
    ['a restock cut in a scenario without a restock', [{ power_cut: { when: 'restocking' } }, { enter: { villager: 'zhang' } }, { take: { slot: 'A1' } }, { exit: {} }],
      'step 1 (power_cut when: restocking): the session never reached restocking by the end of the run', '第 1 步（断电 when: restocking）：直到场景结束，购物流程都没有进入 restocking'],
    ['an exiting cut after the last exit', [{ enter: { villager: 'zhang' } }, { exit: {} }, { power_cut: { when: 'exiting' } }],
      'step 3 (power_cut when: exiting): the session never reached exiting by the end of the run', '第 3 步（断电 when: exiting）'],
    ['a cut armed again before the first fell', [{ power_cut: { when: 'restocking' } }, { power_cut: { when: 'shopping' } }, { enter: { villager: 'zhang' } }, { exit: {} }],
      'step 1 (power_cut when: restocking): the session never reached restocking before step 2 armed another cut', '直到第 2 步再次设定断电'],
  ])('%s: the run fails with exit 2, naming the step in both languages', async (_name, steps, message, zh) => {
    const file = path.join(t.dir, `cut-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ ...base, steps }));
    const r = await runCli(['simulate', '--scenario', file, '--in-process', '--json']);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain(zh);
  }, 120_000);
});
