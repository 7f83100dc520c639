/**
 * `store-edge doctor`'s `slots` row: the ledger's slots against the scales the daemon will
 * weigh (edge/cli/weighed-scales.ts: the config's drivers.scales.list, or in the demo the demo
 * store's, the list `store-edge slots set` checks against too). A slot whose scale is not among
 * them is never weighed: what is taken from it is never charged. A slot the ledger records at
 * another address is weighed on the list's (the ledger's address is only what it says).
 */
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { closeLedger, openLedger } from '../ledger/db.ts';
import { listProducts, listSlots, type Product, type ScaleListSource, type Slot } from '../ledger/products.ts';
import { lookAlikes, lookAlikeWords } from '../ledger/look-alikes.ts';
import type { DoctorRow } from './doctor-hardware.ts';

/** The scales the daemon weighs on and where their list comes from. */
export interface DoctorScales {
  list: Config['drivers']['scales']['list'];
  source: ScaleListSource;
}

/** Where the list comes from, in words: the config file, or the demo store's scales. */
function sourceWords(source: ScaleListSource): { en: string; zh: string } {
  if (source.kind === 'demo') return { en: "the demo store's scales (no scales in the config: fixtures/scenarios/*.yaml)", zh: '演示门店的秤（配置中没有秤：fixtures/scenarios/*.yaml）' };
  const file = source.file ? ` ${source.file}` : '';
  return { en: `drivers.scales.list of the config${file}`, zh: `配置${file ? `文件${file} ` : ''}中的 drivers.scales.list` };
}

/** The slots row; none when the ledger cannot be read (the database row says why). */
export function checkSlots(c: Config, scales: DoctorScales): DoctorRow[] {
  let slots: Slot[];
  let products: Product[];
  try {
    const db = openLedger(path.join(c.data_dir, 'ledger.sqlite'), { readonly: true, migrate: false });
    try {
      slots = listSlots(db);
      products = listProducts(db);
    } finally {
      closeLedger(db);
    }
  } catch {
    return [];
  }
  // two products the scales cannot tell apart: a swap between them is never seen
  const alike = lookAlikes(products, c.session.weight.min_tolerance_g);
  const alikeRows: DoctorRow[] = alike.length === 0 ? [] : [{ check: 'look-alike products', status: 'warn', detail: lookAlikeWords(alike), fix: 'keep such products on shelves apart and check them by camera, or change one (another pack size) / 将这些商品分开摆放并留意监控，或换用不同规格' }];
  return [...slotRows(slots, scales), ...alikeRows];
}

function slotRows(slots: Slot[], scales: DoctorScales): DoctorRow[] {
  const from = sourceWords(scales.source);
  const unweighed = slots.filter((s) => !scales.list.some((x) => x.slot === s.slot));
  const moved = slots.flatMap((s) => {
    const unit = scales.list.find((x) => x.slot === s.slot)?.unit_id;
    return unit !== undefined && unit !== s.address ? [{ slot: s, unit }] : [];
  });
  if (unweighed.length === 0 && moved.length === 0) {
    return [{ check: 'slots', status: 'ok', detail: `${slots.length} slot(s), each on a scale of ${from.en} / 每个货位都有秤（${from.zh}）` }];
  }
  const detail = [
    ...unweighed.map((s) => `slot ${s.slot} names scale ${s.address}, which ${from.en} does not have: it is never weighed${s.sku ? `, ${s.sku} taken from it never charged` : ''} / 货位 ${s.slot} 记的秤 ${s.address} 不在${from.zh}中，不会称重${s.sku ? `，从中取走的 ${s.sku} 不会扣分` : ''}`),
    ...moved.map((m) => `slot ${m.slot.slot} names scale ${m.slot.address}, but is weighed on unit ${m.unit} (${from.en}) / 货位 ${m.slot.slot} 记的秤为 ${m.slot.address}，实际按 ${m.unit} 称重（${from.zh}）`),
  ].join('; ');
  const fix = scales.source.kind === 'demo'
    ? "the demo weighs only the demo store's slots: take the others off (store-edge slots set --slot SLOT --address UNIT --sku '' once empty), or list every scale in drivers.scales.list of a config file (store-edge.yaml), check it with store-edge doctor and restart / 演示模式只称演示门店的货位：撤下其他货位，或在配置文件（store-edge.yaml）的 drivers.scales.list 中列出所有秤，检查后重启"
    : 'list the slot\'s scale in drivers.scales.list of the config and restart (store-edge start), or bind the slot to its scale: store-edge slots set --slot SLOT --address UNIT / 在配置的 drivers.scales.list 中加上该货位的秤后重启，或用 store-edge slots set 改为实际的秤地址';
  // a slot with goods on no scale is never charged; an address the list overrides is only a wrong record
  const status = unweighed.some((s) => s.sku !== null) ? 'fail' : 'warn';
  return [{ check: 'slots', status, detail, fix }];
}
