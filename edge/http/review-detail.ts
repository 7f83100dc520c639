/**
 * A review line's detail in the maintainer's language. The session engine keeps the detail as
 * English with the product's sku (edge/session/cart.ts, e.g. `1 × soap from slot A2 put down
 * here; not charged`); the pages show it in Chinese or English with the product's name. A detail
 * of another shape (older lines, notes from the ledger) is shown as it is.
 */
import type { Lang } from './door-words.ts';

/** Names by sku, as productNames() in edge/ledger/admin-views.ts answers. */
export type ProductNames = ReadonlyMap<string, { name: string }>;

type Say = (m: RegExpMatchArray, name: (sku: string) => string) => string;

/** The shapes cart.ts writes, with their words; `m[i]` are the numbers, skus and slots in order. */
const SHAPES: Array<{ re: RegExp; sku?: number; zh: Say; en: Say }> = [
  {
    re: /^(\d+) × (.+) from slot (\S+) put down here; not charged$/u,
    sku: 2,
    zh: (m, n) => `${m[1]} 件${n(m[2]!)}（从货位 ${m[3]} 拿来）放在这里，未扣分`,
    en: (m, n) => `${m[1]} × ${n(m[2]!)} from slot ${m[3]} put down here; not charged`,
  },
  {
    re: /^(\d+) × (.+) from slot (\S+) put down here; not a removal$/u,
    sku: 2,
    zh: (m, n) => `${m[1]} 件${n(m[2]!)}（从货位 ${m[3]} 拿来）放在这里，不算取走`,
    en: (m, n) => `${m[1]} × ${n(m[2]!)} from slot ${m[3]} put down here; not a removal`,
  },
  {
    re: /^(\d+) × (.+) now on slot (\S+); put it back$/u,
    sku: 2,
    zh: (m, n) => `${m[1]} 件${n(m[2]!)}现在在货位 ${m[3]}，请放回`,
    en: (m, n) => `${m[1]} × ${n(m[2]!)} now on slot ${m[3]}; put it back`,
  },
  {
    re: /^(\d+) × (.+) more than at the start \(never taken from this slot\)$/u,
    sku: 2,
    zh: (m, n) => `比开始时多 ${m[1]} 件${n(m[2]!)}（没有从这个货位拿过）`,
    en: (m, n) => `${m[1]} × ${n(m[2]!)} more than at the start (never taken from this slot)`,
  },
  {
    re: /^(-?[\d.]+) g taken is not a whole number of (\S+) g items$/u,
    zh: (m) => `取走 ${m[1]} 克，不是整件（每件 ${m[2]} 克）`,
    en: (m) => m[0]!,
  },
  {
    re: /^(-?[\d.]+) g is not a whole number of (\S+) g items$/u,
    zh: (m) => `${m[1]} 克不是整件（每件 ${m[2]} 克）`,
    en: (m) => m[0]!,
  },
  {
    re: /^(-?[\d.]+) g more than at the start, not a whole number of items$/u,
    zh: (m) => `比开始时重 ${m[1]} 克，不是整件`,
    en: (m) => m[0]!,
  },
  { re: /^weight changed on a slot without a product$/u, zh: () => '没有绑定商品的货位重量变了', en: (m) => m[0]! },
];

/** The skus a detail names (to look their names up in one query). */
export function detailSkus(detail: string | null): string[] {
  if (!detail) return [];
  for (const s of SHAPES) {
    const m = detail.match(s.re);
    if (m) return s.sku !== undefined ? [m[s.sku]!] : [];
  }
  return [];
}

/** The detail in `lang` with product names for skus (a sku without a product stays as it is). */
export function reviewDetail(detail: string | null, lang: Lang, names: ProductNames): string | null {
  if (!detail) return detail;
  const name = (sku: string): string => names.get(sku)?.name ?? sku;
  for (const s of SHAPES) {
    const m = detail.match(s.re);
    if (m) return s[lang](m, name);
  }
  return detail;
}
