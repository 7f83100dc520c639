/**
 * The sign each kind of entry carries: an award or a refund is positive; a penalty, a redemption
 * or an expiry is negative; an adjustment is not 0. The schemas cannot say it (payloads.ts), so
 * it is one function, used where an entry is made (edge/ledger/entries.ts), where the village
 * ledger takes a store's entry (cloud-sync/ledger/rows.ts) and where it publishes one
 * (`appendEvent`): an entry the stores refuse would stop the village's stream at every store.
 */

/** Why an entry of `kind` cannot carry `points` (in English), or undefined when it can. */
export function entrySignRefusal(kind: string, points: number): string | undefined {
  switch (kind) {
    case 'award':
    case 'refund':
      return points > 0 ? undefined : `a ${kind} entry cannot carry ${points} points (must be positive)`;
    case 'penalty':
    case 'redemption':
    case 'expiry':
      return points < 0 ? undefined : `a ${kind} entry cannot carry ${points} points (must be negative)`;
    case 'adjustment':
      return points !== 0 ? undefined : `a ${kind} entry cannot carry ${points} points (must not be 0)`;
    default:
      return `entry kind ${JSON.stringify(kind)} is unknown`;
  }
}
