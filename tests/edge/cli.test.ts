/** The `store-edge` command as a maintainer runs it: a real process, stdout, stderr, exit codes. */
// Each test spawns the real CLI several times (tsx compiles on every start): generous timeouts for a loaded machine.
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../ledger/helpers.ts';
import { closeLedger, openLedger } from '../../edge/ledger/db.ts';
import { firstStartKey } from '../entry/store-key.ts';
import { loadConfig } from '../../edge/config/load.ts';
import { demoAddOn } from '../../harness/demo/index.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/store-edge.mjs');
const t = tempDir('cli-');
afterAll(() => t.cleanup());
// the store's ledger and face-template key, as its first start leaves them (commands refuse a folder without one, and make no key)
beforeAll(() => {
  closeLedger(openLedger(path.join(t.dir, 'ledger.sqlite')));
  firstStartKey(t.dir);
});

/** The CLI on the data folder `dir`, with no config file (the defaults: the demo's config). */
function runIn(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data-dir', dir], { env: { ...process.env, STORE_EDGE_CONFIG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const run = (...args: string[]) => runIn(t.dir, ...args);

describe('store-edge CLI', () => {
  it('adds a villager, awards points, reports the balance as JSON', async () => {
    expect((await run('villagers', 'add', '--id', 'V001', '--name', '王大妈', '--village', '前进村')).code).toBe(0);
    const award = await run('points', 'award', '--villager', 'V001', '--points', '15', '--reason', '清扫街道', '--id', 'e-1');
    expect(award.code).toBe(0);
    const replay = await run('points', 'award', '--villager', 'V001', '--points', '15', '--reason', '清扫街道', '--id', 'e-1', '--json');
    expect(JSON.parse(replay.stdout)).toMatchObject({ status: 'duplicate' });
    const bal = await run('balance', '--villager', 'V001', '--json');
    expect(bal.code).toBe(0);
    expect(JSON.parse(bal.stdout)).toEqual({ villager: 'V001', balance: 15 });
    const list = await run('villagers', 'list');
    expect(list.stdout).toContain('王大妈');
  }, 240_000);

  it('issues and revokes a passbook card', async () => {
    const add = await run('cards', 'add', '--card', 'PB-0001', '--villager', 'V001', '--json');
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ cardNo: 'PB-0001', villagerId: 'V001', revokedAt: null });
    const again = await run('cards', 'add', '--card', 'PB-0001', '--villager', 'V001');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('已被使用');
    const revoke = await run('cards', 'revoke', '--card', 'PB-0001', '--json');
    expect(JSON.parse(revoke.stdout)).toEqual({ card: 'PB-0001', revoked: true });
    expect((await run('cards', 'add', '--card', 'PB-0002', '--villager', 'NOBODY')).stderr).toContain('UNKNOWN_VILLAGER');
    // without --card, a random number nobody can count up to
    const random = await Promise.all([run('cards', 'add', '--villager', 'V001', '--json'), run('cards', 'add', '--villager', 'V001', '--json')]);
    const numbers = random.map((r) => (JSON.parse(r.stdout) as { cardNo: string }).cardNo);
    for (const n of numbers) expect(n).toMatch(/^PB-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
    expect(numbers[0]).not.toBe(numbers[1]);
  }, 240_000);

  it('explains mistakes on stderr with a non-zero exit, in Chinese and English', async () => {
    const unknown = await run('balance', '--villager', 'NOBODY', '--json');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('UNKNOWN_VILLAGER');
    expect(unknown.stderr).toContain('未知村民');
    const frac = await run('points', 'award', '--villager', 'V001', '--points', '1.5', '--reason', 'x');
    expect(frac.code).toBe(2);
    expect(frac.stderr).toContain('--points');
    const missing = await run('points', 'award', '--villager', 'V001');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/缺少必填选项 --points <n> \/ required option '--points <n>' not specified/);
    expect(missing.stderr).toContain('store-edge points award --help');
    const dup = await run('villagers', 'add', '--id', 'V001', '--name', 'x', '--village', 'y');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('DUPLICATE_ID');
  }, 240_000);

  it('prints what an entry really did: a penalty stops at the floor and the rest is debt, the next award repays it first', async () => {
    expect((await run('villagers', 'add', '--id', 'V002', '--name', '李四', '--village', '前进村')).code).toBe(0);
    expect((await run('points', 'award', '--villager', 'V002', '--points', '47', '--reason', '修水渠')).stdout).toContain('+47，余额 47');
    const penalty = await run('points', 'penalty', '--villager', 'V002', '--points', '67', '--reason', '占道', '--json');
    expect(penalty.code, penalty.stderr).toBe(0);
    expect(JSON.parse(penalty.stdout)).toMatchObject({ status: 'applied', penalty: 67, charged: 47, debtAdded: 20, balance: 0, debt: 20 });
    const award = await run('points', 'award', '--villager', 'V002', '--points', '50', '--reason', '清扫街道');
    expect(award.stdout).toContain('V002: +50，偿还欠分 20，余额 30 / +50, repaid debt 20, balance 30');
    const big = await run('points', 'penalty', '--villager', 'V002', '--points', '1000', '--reason', '违规', '--json');
    expect(JSON.parse(big.stdout)).toMatchObject({ penalty: 1000, charged: 30, debtAdded: 970, balance: 0, debt: 970 });
    const blank = await run('points', 'award', '--villager', 'V002', '--points', '5', '--reason', '  ');
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain('事由不能为空');
    expect(JSON.parse((await run('balance', '--villager', 'V002', '--json')).stdout)).toEqual({ villager: 'V002', balance: 0, debt: 970 });
  }, 240_000);

  it('refuses an entry id that another villager\'s or another amount\'s entry holds (exit 2); the same entry again stays a harmless duplicate', async () => {
    expect((await run('villagers', 'add', '--id', 'V003', '--name', '赵六', '--village', '前进村')).code).toBe(0);
    expect((await run('villagers', 'add', '--id', 'V004', '--name', '钱七', '--village', '前进村')).code).toBe(0);
    expect((await run('points', 'award', '--villager', 'V003', '--points', '20', '--reason', '修路', '--id', 'road-1')).code).toBe(0);
    for (const [villager, points] of [['V004', '20'], ['V003', '25']] as const) {
      const taken = await run('points', 'award', '--villager', villager, '--points', points, '--reason', '修路', '--id', 'road-1');
      expect(taken.code, `${villager} ${points}`).toBe(2);
      expect(taken.stderr).toContain('ENTRY_ID_TAKEN');
      expect(taken.stderr).toContain('流水编号 road-1 已被另一条记录使用');
    }
    const retry = await run('points', 'award', '--villager', 'V003', '--points', '20', '--reason', '修路', '--id', 'road-1', '--json');
    expect(retry.code).toBe(0);
    expect(JSON.parse(retry.stdout)).toMatchObject({ status: 'duplicate' });
    expect(JSON.parse((await run('balance', '--villager', 'V003', '--json')).stdout)).toEqual({ villager: 'V003', balance: 20 });
    expect(JSON.parse((await run('balance', '--villager', 'V004', '--json')).stdout)).toEqual({ villager: 'V004', balance: 0 });
  }, 240_000);

  // D1 weighed on unit 41, then (its module swapped) on 42, as the config says
  it("slots set keeps what is not given: a new scale address leaves the product and stock; taking the product off a slot with goods exits 2", async () => {
    const on41 = path.join(t.dir, 'd1-on-41.yaml');
    const on42 = path.join(t.dir, 'd1-on-42.yaml');
    writeFileSync(on41, 'drivers:\n  scales:\n    list:\n      - {slot: D1, unit_id: 41}\n');
    writeFileSync(on42, 'drivers:\n  scales:\n    list:\n      - {slot: D1, unit_id: 42}\n');
    expect((await run('products', 'set', '--sku', 'oil', '--name', '花生油', '--price', '30', '--unit-g', '920', '--tolerance-g', '20')).code).toBe(0);
    expect((await run('slots', 'set', '--slot', 'D1', '--address', '41', '--sku', 'oil', '--stock', '10', '--config', on41)).code).toBe(0);
    const moved = await run('slots', 'set', '--slot', 'D1', '--address', '42', '--json', '--config', on42);
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout)).toEqual({ slot: 'D1', address: 42, sku: 'oil', stock: 10 });
    const off = await run('slots', 'set', '--slot', 'D1', '--address', '42', '--sku', '', '--config', on42);
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('SLOT_NOT_EMPTY');
    expect(off.stderr).toContain('请先清空并盘点');
    // counted empty without naming its scale again: the slot keeps its address, as the README says of what is not given
    const counted = await run('slots', 'set', '--slot', 'D1', '--stock', '0', '--json', '--config', on42);
    expect(counted.code, counted.stderr).toBe(0);
    expect(JSON.parse(counted.stdout)).toEqual({ slot: 'D1', address: 42, sku: 'oil', stock: 0 });
    expect(JSON.parse((await run('slots', 'set', '--slot', 'D1', '--address', '42', '--sku', '', '--json', '--config', on42)).stdout)).toEqual({ slot: 'D1', address: 42, sku: null, stock: 0 });
    // a new slot the scale list does not name needs its address: exit 2 naming --address, nothing made
    const bare = await run('slots', 'set', '--slot', 'D9');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('--address');
    expect(bare.stderr).toContain('秤地址');
  }, 240_000);

  it('slots set refuses a product on a slot no scale weighs (exit 2, bilingual, naming the slot and the scale slots there are): it would never be charged', async () => {
    expect((await run('products', 'set', '--sku', 'tea', '--name', '茶叶', '--price', '12', '--unit-g', '250', '--tolerance-g', '5')).code).toBe(0);
    // the demo's (no config file): A1, A2, B1
    const demo = await run('slots', 'set', '--slot', 'E1', '--address', '51', '--sku', 'tea');
    expect(demo.code, demo.stderr).toBe(2);
    expect(demo.stderr).toContain('SLOT_WITHOUT_SCALE');
    expect(demo.stderr).toContain("slot E1 has no scale: the demo store's scales weigh only A1, A2, B1");
    expect(demo.stderr).toContain('货位 E1 没有秤');
    expect(demo.stderr).toContain('A1、A2、B1');
    // a config's list, named with its file
    const config = path.join(t.dir, 'only-b1.yaml');
    writeFileSync(config, 'drivers:\n  scales:\n    list:\n      - {slot: B1, unit_id: 21}\n');
    const listed = await run('slots', 'set', '--slot', 'E1', '--address', '51', '--sku', 'tea', '--config', config);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain(`slot E1 has no scale: drivers.scales.list of the config ${config} weighs only B1`);
    expect(JSON.parse((await run('slots', 'list', '--json')).stdout).map((x: { slot: string }) => x.slot)).not.toContain('E1');
    // a slot without a product may stay (or be made) on no scale: nothing on it is sold
    expect((await run('slots', 'set', '--slot', 'E1', '--address', '51', '--config', config)).code).toBe(0);
    const again = await run('slots', 'set', '--slot', 'E1', '--sku', 'tea', '--config', config);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('SLOT_WITHOUT_SCALE');
  }, 240_000);

  it('slots set refuses a scale address other than the one the config gives the slot (SCALE_ADDRESS_CONFIGURED, exit 2, bilingual), as the admin page does', async () => {
    const config = path.join(t.dir, 'scales.yaml');
    writeFileSync(config, 'drivers:\n  scales:\n    list:\n      - {slot: B1, unit_id: 21}\n');
    expect((await run('products', 'set', '--sku', 'soap', '--name', '肥皂', '--price', '5', '--unit-g', '120', '--tolerance-g', '5')).code).toBe(0);
    const wrong = await run('slots', 'set', '--slot', 'B1', '--address', '22', '--sku', 'soap', '--config', config);
    expect(wrong.code, wrong.stderr).toBe(2);
    expect(wrong.stderr).toContain('SCALE_ADDRESS_CONFIGURED');
    expect(wrong.stderr).toContain('drivers.scales.list');
    expect(wrong.stderr).toContain(`秤地址由配置文件 ${config} 中 drivers.scales.list`);
    expect(wrong.stderr).toContain(`drivers.scales.list in the config file ${config}`);
    expect(JSON.parse((await run('slots', 'list', '--json')).stdout).map((s: { slot: string }) => s.slot)).not.toContain('B1');
    // the configured address is taken; a slot the config has no scale for keeps what is given
    const right = await run('slots', 'set', '--slot', 'B1', '--address', '21', '--sku', 'soap', '--config', config, '--json');
    expect(right.code, right.stderr).toBe(0);
    expect(JSON.parse(right.stdout)).toEqual({ slot: 'B1', address: 21, sku: 'soap', stock: 0 });
    expect((await run('slots', 'set', '--slot', 'C9', '--address', '40', '--config', config)).code).toBe(0);
  }, 240_000);

  it("slots set on the demo's ledger (npm start, no config file) checks the address against the demo's own scales, the ones its daemon weighs on (exit 2, bilingual, naming where they come from)", async () => {
    // a fresh data folder as the demo's first start leaves it, and the demo's config (no file)
    const fresh = tempDir('cli-demo-');
    try {
      closeLedger(openLedger(path.join(fresh.dir, 'ledger.sqlite')));
      firstStartKey(fresh.dir);
      const { config } = loadConfig({ dataDir: fresh.dir, env: { STORE_EDGE_CONFIG: '' } });
      const daemonScales = demoAddOn(config)!.config(config).drivers.scales.list;
      const a1 = daemonScales.find((s) => s.slot === 'A1')!.unit_id;
      const inFresh = (...args: string[]) => runIn(fresh.dir, ...args);
      const wrong = await inFresh('slots', 'set', '--slot', 'A1', '--address', String(a1 + 50));
      expect(wrong.code, wrong.stderr).toBe(2);
      expect(wrong.stderr).toContain('SCALE_ADDRESS_CONFIGURED');
      expect(wrong.stderr).toContain(`unit_id ${a1}: the config gives no scales (drivers.scales.list is empty), so the demo (npm start) weighs on the demo store's scales`);
      expect(wrong.stderr).toContain('fixtures/scenarios/*.yaml');
      expect(wrong.stderr).toContain(`秤地址为 ${a1}：配置中没有秤`);
      expect(JSON.parse((await inFresh('slots', 'list', '--json')).stdout)).toEqual([]);
      const right = await inFresh('slots', 'set', '--slot', 'A1', '--address', String(a1), '--json');
      expect(right.code, right.stderr).toBe(0);
      expect(JSON.parse(right.stdout)).toEqual({ slot: 'A1', address: a1, sku: null, stock: 0 });
      // a config that lists scales is what the daemon weighs on, demo or not
      const own = path.join(fresh.dir, 'own-scales.yaml');
      writeFileSync(own, `demo: true\ndrivers:\n  scales:\n    list:\n      - {slot: A1, unit_id: ${a1 + 50}}\n`);
      const listed = await inFresh('slots', 'set', '--slot', 'A1', '--address', String(a1), '--config', own);
      expect(listed.code).toBe(2);
      expect(listed.stderr).toContain(`drivers.scales.list in the config file ${own}`);
      expect((await inFresh('slots', 'set', '--slot', 'A1', '--address', String(a1 + 50), '--config', own)).code).toBe(0);
    } finally {
      fresh.cleanup();
    }
  }, 240_000);

  it('products set refuses a product too light for the shelves to see one item (exit 2, the limit named)', async () => {
    const gum = await run('products', 'set', '--sku', 'gum', '--name', '口香糖', '--price', '5', '--unit-g', '8', '--tolerance-g', '1');
    expect(gum.code).toBe(2);
    expect(gum.stderr).toContain('drift_allowance_g (10 g)');
    expect(gum.stderr).toContain('单件太轻');
    expect(JSON.parse((await run('products', 'list', '--json')).stdout).map((p: { sku: string }) => p.sku)).not.toContain('gum');
  }, 240_000);

  it('bad input exits 2 in both languages: an unparseable config, a photo that is not an image, an unknown option', async () => {
    const config = path.join(t.dir, 'broken.yaml');
    writeFileSync(config, 'store: {id: [unclosed\n');
    const badConfig = await run('balance', '--villager', 'V001', '--config', config);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain('CONFIG_UNREADABLE');
    expect(badConfig.stderr).toContain('配置文件格式错误');
    const photo = path.join(t.dir, 'not-a-photo.jpg');
    writeFileSync(photo, 'plain text, not an image');
    const notImage = await run('faces', 'enroll', '--villager', 'V001', '--photo', photo, '--consent');
    expect(notImage.code, notImage.stderr).toBe(2);
    expect(notImage.stderr).toContain('无法解码图片');
    const option = await run('balance', '--villager', 'V001', '--bogus');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("未知选项 --bogus / unknown option '--bogus'");
    const command = await run('blance');
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('未知命令 blance');
  }, 240_000);

  it('villagers status: a villager who left is not made active or blocked here (exit 2, bilingual), as the admin page refuses; left stays left', async () => {
    expect((await run('villagers', 'add', '--id', 'V009', '--name', '孙九', '--village', '前进村')).code).toBe(0);
    expect((await run('villagers', 'status', '--id', 'V009', '--status', 'left')).code).toBe(0);
    for (const status of ['active', 'blocked']) {
      const back = await run('villagers', 'status', '--id', 'V009', '--status', status);
      expect(back.code, back.stderr).toBe(2);
      expect(back.stderr).toContain('已迁出');
      expect(back.stderr).toContain('has left the village');
    }
    expect((await run('villagers', 'status', '--id', 'V009', '--status', 'left')).code).toBe(0);
    const list = await run('villagers', 'list');
    expect(list.stdout).toMatch(/V009\t孙九\t前进村\tleft/);
  }, 120_000);
});
