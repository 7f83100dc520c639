/** `villagers …`, `points …`, `balance`, `products …`, `slots …`: the ledger from a terminal. */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { weighedScales } from './weighed-scales.ts';
import { loadedConfig, readLedger, withCommon, withLedger, parseIntOption, print, type CommonOptions } from './context.ts';
import { addVillager, listVillagers, requireVillager, setVillagerStatus, type VillagerStatus } from '../ledger/villagers.ts';
import { applyEntry, entryIdTaken, type EntryKind } from '../ledger/entries.ts';
import { checkWeighable, getProduct, getSlot, listProducts, upsertProduct, changeSlot, listSlots, scaleAddressNotConfigured, slotWithoutScale, type WeighLimits } from '../ledger/products.ts';
import type { Config } from '../config/schema.ts';

const weighLimits = (c: Config): WeighLimits => ({ drift_allowance_g: c.session.weight.drift_allowance_g, change_threshold_g: c.drivers.scales.change_threshold_g });
import { EdgeError, ErrorCode, isEdgeError } from '../errors.ts';
import { inTransaction } from '../ledger/db.ts';
import { addCard, getCard, revokeCard } from '../ledger/credentials.ts';
import { proposeCardNumber } from '../entry/credentials.ts';
import { freeText } from '../ledger/free-text.ts';

export function registerLedgerCommands(program: Command): void {
  const villagers = program.command('villagers').description('enrolled villagers / 村民');
  withCommon(villagers.command('add').description('add a villager / 添加村民'), { json: true })
    .requiredOption('--id <id>', 'villager id / 村民编号')
    .requiredOption('--name <name>', 'name / 姓名')
    .requiredOption('--village <village>', 'village / 所属村')
    .option('--maintainer', 'may restock the store / 店铺维护员')
    .action((o: CommonOptions & { id: string; name: string; village: string; maintainer?: boolean }) => {
      const v = withLedger(o, (db) => addVillager(db, { id: o.id, name: o.name, village: o.village, isMaintainer: o.maintainer ?? false }));
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
        if (requireVillager(db, o.id).status === 'left' && o.status !== 'left') {
          throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `villager ${o.id} has left the village; their status cannot change here (the village ledger's registry brings a villager back)`, { zh: `村民 ${o.id} 已迁出，不能在此更改状态（只能由村账本恢复）` });
        }
        return setVillagerStatus(db, o.id, o.status as VillagerStatus);
      }));
      print(o, v, `${v.id}: ${v.status}`);
    });

  const points = program.command('points').description('award or deduct points / 积分');
  const entryCommand = (name: 'award' | 'penalty' | 'adjust', kind: EntryKind, sign: 1 | -1 | 0, zh: string) =>
    withCommon(points.command(name).description(zh), { json: true })
      .requiredOption('--villager <id>', 'villager id / 村民编号')
      .requiredOption('--points <n>', 'points (a whole number) / 积分')
      .requiredOption('--reason <text>', 'why / 事由')
      .option('--id <entryId>', 'entry id, to make a retry safe (default: a new id) / 流水编号')
      .action((o: CommonOptions & { villager: string; points: string; reason: string; id?: string }) => {
        const n = parseIntOption('--points', o.points);
        if (sign !== 0 && n <= 0) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--points must be a positive whole number, got ${o.points}`, { zh: '--points 必须是正整数' });
        // a tab or line break is a space, as on the admin page; other control characters are refused
        const reason = freeText({ field: '--reason', zh: '--reason 事由' }, o.reason);
        if (reason === '') throw new EdgeError(ErrorCode.INVALID_ARGUMENT, '--reason must not be empty', { zh: '--reason 事由不能为空' });
        const asked = sign === 0 ? n : sign * n;
        const { result, villager } = withLedger(o, (db, config) => {
          const r = applyEntry(db, { id: o.id ?? `cli:${randomUUID()}`, villagerId: o.villager, kind, points: asked, reason, origin: 'cli' }, { creditFloor: config.ledger.credit_floor, store: config.store.id });
          return { result: r, villager: requireVillager(db, o.villager) };
        });
        // the same id for another villager, kind or points is another entry, not a retry
        if (result.status === 'duplicate' && result.conflict) throw entryIdTaken(result.entry);
        if (result.status === 'duplicate') {
          print(o, { status: result.status, entry: result.entry }, `重复流水，未重复记账 duplicate entry ${result.entry.id}: nothing applied`);
          return;
        }
        // what really happened, not what was asked: a deduction may stop at the floor, an award may go to debt
        const repaid = -(result.debtRepaid?.points ?? 0);
        const signedText = `${asked > 0 ? '+' : ''}${asked}`;
        const zhParts = [signedText];
        const enParts = [signedText];
        if (result.debtAdded > 0) {
          zhParts.push(`实扣 ${-result.entry.points}，计入欠分 ${result.debtAdded}`);
          enParts.push(`${-result.entry.points} deducted, ${result.debtAdded} recorded as debt`);
        }
        if (repaid > 0) {
          zhParts.push(`偿还欠分 ${repaid}`);
          enParts.push(`repaid debt ${repaid}`);
        }
        zhParts.push(`余额 ${villager.balance}`);
        enParts.push(`balance ${villager.balance}`);
        if (villager.debt > 0) {
          zhParts.push(`欠分 ${villager.debt}`);
          enParts.push(`debt ${villager.debt}`);
        }
        print(
          o,
          { status: result.status, villager: villager.id, [name]: n, ...(asked < 0 ? { charged: -result.entry.points, debtAdded: result.debtAdded } : { repaid }), balance: villager.balance, debt: villager.debt, entry: result.entry },
          `${villager.id}: ${zhParts.join('，')} / ${enParts.join(', ')}`,
        );
      });
  entryCommand('award', 'award', 1, 'award points for village work / 奖励积分');
  entryCommand('penalty', 'penalty', -1, 'deduct points as a penalty / 扣分');
  entryCommand('adjust', 'adjustment', 0, 'correct a balance (signed) / 调整积分');

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
        return upsertProduct(db, product, { limits: weighLimits(config) });
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
        return changeSlot(db, { slot: o.slot, address, ...(sku !== undefined ? { sku } : {}), ...(stock !== undefined ? { stock } : {}) });
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
      const card = withLedger(o, (db) => {
        const at = new Date().toISOString();
        if (o.card !== undefined) return addCard(db, o.card, o.villager, at);
        // a clash of 40 random bits is next to impossible, but a retry costs nothing
        for (let attempt = 0; ; attempt++) {
          try {
            return addCard(db, proposeCardNumber(), o.villager, at);
          } catch (err) {
            if (!isEdgeError(err, ErrorCode.DUPLICATE_ID) || attempt >= 4) throw err;
          }
        }
      });
      print(o, card, `已发卡 card ${card.cardNo} → ${card.villagerId}`);
    });
  withCommon(cards.command('revoke').description('revoke a lost card / 挂失'), { json: true })
    .requiredOption('--card <number>', 'card number as the scanner reads it / 卡号')
    .action((o: CommonOptions & { card: string }) => {
      const revoked = withLedger(o, (db) => {
        if (!getCard(db, o.card)) throw new EdgeError(ErrorCode.NOT_FOUND, `no card ${JSON.stringify(o.card)}`, { zh: `没有卡号 ${o.card}` });
        return revokeCard(db, o.card, new Date().toISOString());
      });
      print(o, { card: o.card, revoked }, revoked ? `已挂失 card ${o.card} revoked` : `卡 ${o.card} 早已挂失 / already revoked`);
    });
}
