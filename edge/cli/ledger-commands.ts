/**
 * `villagers …`, `points …` (points.ts), `balance`, `products …`, `slots …`, `cards …`: the ledger
 * from a terminal. Every change is audited in its own transaction (cli-audit.ts).
 */
import type { Command } from 'commander';
import { weighedScales } from './weighed-scales.ts';
import { loadedConfig, readLedger, withCommon, withLedger, parseIntOption, print, type CommonOptions } from './context.ts';
import { addVillager, listVillagers, requireVillager, setVillagerStatus, type VillagerStatus } from '../ledger/villagers.ts';
import { registerPointsCommands } from './points.ts';
import { auditCli } from './cli-audit.ts';
import { maskCard } from '../ledger/card-mask.ts';
import { checkWeighable, getProduct, getSlot, listProducts, upsertProduct, changeSlot, listSlots, scaleAddressNotConfigured, slotWithoutScale, type WeighLimits, type Product, type Slot } from '../ledger/products.ts';
import type { Config } from '../config/schema.ts';
import { EdgeError, ErrorCode, isEdgeError } from '../errors.ts';
import { inTransaction } from '../ledger/db.ts';
import { addCard, getCard, revokeCard } from '../ledger/credentials.ts';
import { proposeCardNumber } from '../entry/credentials.ts';

const weighLimits = (c: Config): WeighLimits => ({ drift_allowance_g: c.session.weight.drift_allowance_g, change_threshold_g: c.drivers.scales.change_threshold_g });
const productView = (p: Product) => ({ sku: p.sku, name: p.name, price: p.price, unit_g: p.unitG, tolerance_g: p.toleranceG, active: p.active });
const slotView = (s: Slot) => ({ address: s.address, sku: s.sku, stock: s.stock });

export function registerLedgerCommands(program: Command): void {
  const villagers = program.command('villagers').description('enrolled villagers / 村民');
  withCommon(villagers.command('add').description('add a villager / 添加村民'), { json: true })
    .requiredOption('--id <id>', 'villager id / 村民编号')
    .requiredOption('--name <name>', 'name / 姓名')
    .requiredOption('--village <village>', 'village / 所属村')
    .option('--maintainer', 'may restock the store / 店铺维护员')
    .action((o: CommonOptions & { id: string; name: string; village: string; maintainer?: boolean }) => {
      const v = withLedger(o, (db) => inTransaction(db, 'adding a villager from the command line', () => {
        const added = addVillager(db, { id: o.id, name: o.name, village: o.village, isMaintainer: o.maintainer ?? false });
        auditCli(db, 'villagers add', { action: 'villager.add', target: added.id, before: null, after: { name: added.name, village: added.village, maintainer: added.isMaintainer } });
        return added;
      }));
      print(o, v, `已添加村民 added villager ${v.id} ${v.name} (${v.village})`);
    });
  withCommon(villagers.command('list').description('list villagers / 村民列表'), { json: true })
    .option('--village <village>', 'only this village\'s villagers / 只列出该村村民')
    .action((o: CommonOptions & { village?: string }) => {
      const list = readLedger(o, (db) => listVillagers(db, o.village ? { village: o.village } : {}));
      print(o, list, list.length === 0 ? '（无村民 no villagers）' : list.map((v) => `${v.id}\t${v.name}\t${v.village}\t${v.status}\t${v.balance}${v.debt ? `\t欠 ${v.debt}` : ''}${v.faceConsentAt ? '\t人脸已同意' : ''}`).join('\n'));
    });
  withCommon(villagers.command('status').description('block or unblock a villager / 设置村民状态'), { json: true })
    .requiredOption('--id <id>', 'villager id / 村民编号')
    .requiredOption('--status <status>', 'active, blocked or left (left: only the village ledger brings them back) / active 正常、blocked 冻结、left 已离村')
    .action((o: CommonOptions & { id: string; status: string }) => {
      if (!['active', 'blocked', 'left'].includes(o.status)) {
        throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--status must be active, blocked or left, got ${JSON.stringify(o.status)}`, { zh: '状态只能是 active、blocked 或 left' });
      }
      const v = withLedger(o, (db) => inTransaction(db, 'changing villager status from the command line', () => {
        // As the admin page refuses (edge/http/actions.ts): a villager who left comes back only
        // through the village ledger's registry, never by a store's own change.
        const before = requireVillager(db, o.id).status;
        if (before === 'left' && o.status !== 'left') {
          throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `villager ${o.id} has left the village; their status cannot change here (the village ledger's registry brings a villager back)`, { zh: `村民 ${o.id} 已迁出，不能在此更改状态（只能由村账本恢复）` });
        }
        const after = setVillagerStatus(db, o.id, o.status as VillagerStatus);
        auditCli(db, 'villagers status', { action: 'villager.status', target: o.id, before: { status: before }, after: { status: after.status } });
        return after;
      }));
      print(o, v, `${v.id}: ${v.status}`);
    });

  registerPointsCommands(program);

  withCommon(program.command('balance').description("a villager's balance / 查询余额"), { json: true })
    .requiredOption('--villager <id>', 'villager id / 村民编号')
    .action((o: CommonOptions & { villager: string }) => {
      const v = readLedger(o, (db) => requireVillager(db, o.villager));
      print(o, { villager: v.id, balance: v.balance, ...(v.debt ? { debt: v.debt } : {}) }, `${v.id} ${v.name}: ${v.balance} 分${v.debt ? `（欠 ${v.debt} 分）` : ''}`);
    });

  const products = program.command('products').description('products and prices / 商品');
  withCommon(products.command('set').description('add or change a product / 设置商品'), { json: true })
    .requiredOption('--sku <sku>', 'product code: letters, digits and _.- / 商品编码（字母、数字和 _.-）')
    .requiredOption('--name <name>', 'product name as the board and receipts show it / 商品名称')
    .requiredOption('--price <points>', 'price in points, a whole number / 价格（积分，整数）')
    .requiredOption('--unit-g <grams>', 'weight of one item in grams / 单件重量（克）')
    .requiredOption('--tolerance-g <grams>', 'how far one item may weigh from --unit-g, in grams / 单件重量允许偏差（克）')
    .action((o: CommonOptions & { sku: string; name: string; price: string; unitG: string; toleranceG: string }) => {
      const p = withLedger(o, (db, config) => {
        const product = { sku: o.sku, name: o.name, price: parseIntOption('--price', o.price), unitG: parseIntOption('--unit-g', o.unitG), toleranceG: parseIntOption('--tolerance-g', o.toleranceG) };
        return inTransaction(db, 'setting a product from the command line', () => {
          const before = getProduct(db, o.sku);
          const after = upsertProduct(db, product, { limits: weighLimits(config) });
          auditCli(db, 'products set', { action: 'product.set', target: after.sku, before: before ? productView(before) : null, after: productView(after) });
          return after;
        });
      });
      print(o, p, `${p.sku} ${p.name}: ${p.price} 分, ${p.unitG} g ± ${p.toleranceG} g`);
    });
  withCommon(products.command('list').description('list the products with price and unit weight / 商品列表'), { json: true }).action((o: CommonOptions) => {
    const list = readLedger(o, (db) => listProducts(db));
    print(o, list, list.map((p) => `${p.sku}\t${p.name}\t${p.price} 分\t${p.unitG} g`).join('\n') || '（无商品 no products）');
  });
  const slots = program.command('slots').description('shelf slots / 货位');
  // A flag left out keeps the slot's value: changing a scale's address must not take the product
  // off the slot or zero its stock.
  withCommon(slots.command('set').description('bind a slot to a scale and a product / 设置货位'), { json: true })
    .requiredOption('--slot <slot>', 'slot name, e.g. A1 / 货位编号，如 A1')
    .option('--address <n>', "Modbus address of the scale; default: the slot's own, or for a new slot the scale list's / 秤地址，默认不变（新货位取秤列表中的地址）")
    .option('--sku <sku>', "product of the slot; '' takes it off (only from an empty slot); default: unchanged / 商品编码，'' 表示撤下商品（货位须已清空），默认不变")
    .option('--stock <n>', 'items on the slot; default: unchanged (a new slot: 0) / 库存件数，默认不变')
    .action(async (o: CommonOptions & { slot: string; address?: string; sku?: string; stock?: string }) => {
      const sku = o.sku === undefined ? undefined : o.sku === '' ? null : o.sku;
      const stock = o.stock === undefined ? undefined : parseIntOption('--stock', o.stock);
      const given = o.address === undefined ? undefined : parseIntOption('--address', o.address);
      // the daemon weighs the slot on the scale its scale list gives it (the config's, or the
      // demo's), as the admin page refuses; both from one reading of the config
      const loaded = loadedConfig(o);
      const scales = await weighedScales(loaded);
      const s = withLedger(o, (db, config) => {
        const address = given ?? getSlot(db, o.slot)?.address ?? scales.list.find((c) => c.slot === o.slot)?.unit_id;
        if (address === undefined) {
          throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `slot ${o.slot} is new and no scale list names it: give --address, the Modbus address of the scale that weighs it`, { zh: `货位 ${o.slot} 是新货位，秤列表中也没有它：请用 --address 给出称它的秤地址`, details: { field: '--address' } });
        }
        const wrongScale = scaleAddressNotConfigured(o.slot, address, scales.list.find((c) => c.slot === o.slot)?.unit_id, scales.source);
        if (wrongScale) throw wrongScale;
        // a product on a slot no scale weighs would never be charged; counting an old one empty
        // (--stock 0, its product kept) is the first step of taking it off, and stays allowed
        const before = getSlot(db, o.slot);
        const after = sku === undefined ? (before?.sku ?? null) : sku;
        const countedEmpty = after !== null && after === before?.sku && stock === 0;
        if (after !== null && !countedEmpty) {
          const noScale = slotWithoutScale(o.slot, scales.list.map((c) => c.slot), scales.source);
          if (noScale) throw noScale;
        }
        const product = sku ? getProduct(db, sku) : undefined;
        if (product) checkWeighable(product, weighLimits(config));
        return inTransaction(db, 'setting a slot from the command line', () => {
          const changed = changeSlot(db, { slot: o.slot, address, ...(sku !== undefined ? { sku } : {}), ...(stock !== undefined ? { stock } : {}) });
          auditCli(db, 'slots set', { action: 'slot.set', target: changed.slot, before: before ? slotView(before) : null, after: slotView(changed) });
          return changed;
        });
      }, loaded.config);
      print(o, s, `${s.slot} @${s.address}: ${s.sku ?? '-'} × ${s.stock}`);
    });
  withCommon(slots.command('list').description('list the slots with scale address, product and stock / 货位列表'), { json: true }).action((o: CommonOptions) => {
    const list = readLedger(o, (db) => listSlots(db));
    print(o, list, list.map((s) => `${s.slot}\t@${s.address}\t${s.sku ?? '-'}\t${s.stock}`).join('\n') || '（无货位 no slots）');
  });

  const cards = program.command('cards').description('points passbook cards / 积分存折卡');
  withCommon(cards.command('add').description('issue a card to a villager / 发卡'), { json: true })
    .option('--card <number>', 'card number as the scanner reads it (default: a new random number) / 卡号（默认随机生成）')
    .requiredOption('--villager <id>', 'villager id / 村民编号')
    .action((o: CommonOptions & { card?: string; villager: string }) => {
      const card = withLedger(o, (db) => inTransaction(db, 'issuing a card from the command line', () => {
        const at = new Date().toISOString();
        const issue = () => {
          if (o.card !== undefined) return addCard(db, o.card, o.villager, at);
          // a clash of 40 random bits is next to impossible, but a retry costs nothing
          for (let attempt = 0; ; attempt++) {
            try {
              return addCard(db, proposeCardNumber(), o.villager, at);
            } catch (err) {
              if (!isEdgeError(err, ErrorCode.DUPLICATE_ID) || attempt >= 4) throw err;
            }
          }
        };
        const issued = issue();
        // the number masked, as the admin page audits it (card-actions.ts)
        auditCli(db, 'cards add', { action: 'card.issue', target: issued.villagerId, before: null, after: { card: maskCard(issued.cardNo) } });
        return issued;
      }));
      print(o, card, `已发卡 card ${card.cardNo} → ${card.villagerId}`);
    });
  withCommon(cards.command('revoke').description('revoke a lost card / 挂失'), { json: true })
    .requiredOption('--card <number>', 'card number as the scanner reads it / 卡号')
    .action((o: CommonOptions & { card: string }) => {
      const revoked = withLedger(o, (db) => inTransaction(db, 'revoking a card from the command line', () => {
        const before = getCard(db, o.card);
        if (!before) throw new EdgeError(ErrorCode.NOT_FOUND, `no card ${JSON.stringify(o.card)}`, { zh: `没有卡号 ${o.card}` });
        const changed = revokeCard(db, o.card, new Date().toISOString());
        if (changed) auditCli(db, 'cards revoke', { action: 'card.revoke', target: before.villagerId, before: { card: maskCard(o.card), revoked_at: null }, after: { card: maskCard(o.card), revoked_at: getCard(db, o.card)!.revokedAt } });
        return changed;
      }));
      print(o, { card: o.card, revoked }, revoked ? `已挂失 card ${o.card} revoked` : `卡 ${o.card} 早已挂失 / already revoked`);
    });
}
