/**
 * The sign each kind of entry carries: an award or a refund is positive; a penalty, a redemption
 * or an expiry is negative; an adjustment is not 0. The schemas cannot say it (payloads.ts), so
 * it is one function, used where an entry is made (edge/ledger/entries.ts), where the village
 * ledger takes a store's entry (cloud-sync/ledger/rows.ts) and where it publishes one
 * (`appendEvent`): an entry the stores refuse would stop the village's stream at every store.
 */

/** Why an entry of `kind` cannot carry `points` (in English), or undefined when it can. */
export function entrySignRefusal(kind: string, points: number): string | undefined {
  const an = /^[aeiou]/.test(kind) ? 'an' : 'a';
  switch (kind) {
    case 'award':
    case 'refund':
      return points > 0 ? undefined : `${an} ${kind} entry cannot carry ${points} points (must be positive)`;
    case 'penalty':
    case 'redemption':
    case 'expiry':
      return points < 0 ? undefined : `${an} ${kind} entry cannot carry ${points} points (must be negative)`;
    case 'adjustment':
      return points !== 0 ? undefined : `${an} ${kind} entry cannot carry ${points} points (must not be 0)`;
    default:
      return `entry kind ${JSON.stringify(kind)} is unknown`;
  }
}

const KIND_ZH: Readonly<Record<string, string>> = { award: '加分', refund: '退分', penalty: '扣分', redemption: '兑换', expiry: '过期清零', adjustment: '调整' };

/** The same refusal in Chinese (entrySignRefusal says it in English), or undefined when the entry can carry `points`. */
export function entrySignRefusalZh(kind: string, points: number): string | undefined {
  if (entrySignRefusal(kind, points) === undefined) return undefined;
  const k = KIND_ZH[kind];
  if (k === undefined) return `未知的记录类型 ${JSON.stringify(kind)}`;
  if (kind === 'adjustment') return `${k}不能为 0 分`;
  return `${k}须为${kind === 'award' || kind === 'refund' ? '正数' : '负数'}（现为 ${points}）`;
}
