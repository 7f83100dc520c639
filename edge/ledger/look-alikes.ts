/**
 * Products the shelves cannot tell apart: two whose unit weights lie within each other's
 * tolerance. Taking one from its slot and putting the other down there is, to the scales, the
 * same weight back: a swap between them is charged as nothing taken (or as the cheaper one) and
 * no review line says so. `store-edge doctor` and the shelves page warn of such pairs.
 */
import type { Product } from './products.ts';

export interface LookAlike { a: Product; b: Product; diffG: number }

/** Active products pairwise whose unit weights differ by no more than the larger tolerance (and `minToleranceG`). */
export function lookAlikes(products: readonly Product[], minToleranceG = 0): LookAlike[] {
  const active = products.filter((p) => p.active);
  const out: LookAlike[] = [];
  for (let i = 0; i < active.length; i++) {
    for (let j = i + 1; j < active.length; j++) {
      const a = active[i]!;
      const b = active[j]!;
      const diffG = Math.abs(a.unitG - b.unitG);
      if (diffG <= Math.max(a.toleranceG, b.toleranceG, minToleranceG)) out.push({ a, b, diffG });
    }
  }
  return out;
}

/** One sentence per pair, in both languages. */
export function lookAlikeWords(pairs: readonly LookAlike[]): string {
  return pairs.map(({ a, b, diffG }) => `${a.name} (${a.sku}, ${a.unitG} g ± ${a.toleranceG}) and ${b.name} (${b.sku}, ${b.unitG} g ± ${b.toleranceG}) weigh within ${diffG} g of each other: one swapped for the other on a shelf cannot be told by weight / ${a.name}（${a.unitG} 克）与${b.name}（${b.unitG} 克）只差 ${diffG} 克，在误差之内：两者在货架上互换，按重量无法发现`).join('; ');
}
