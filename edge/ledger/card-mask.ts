/**
 * The form in which a passbook card number may be shown and stored (door decisions, logs).
 * Imports nothing, so the ledger's migrations can use it as well as the entry pipeline.
 */

/**
 * A card number as it may be shown and stored in events: a letter prefix such as `PB-`, four
 * stars whatever the length, and the last two characters (`PB-****01`), enough for a
 * maintainer to tell a villager's two cards apart, not enough to get in with. Masking a masked
 * number gives it back unchanged.
 */
export function maskCard(cardNo: string): string {
  const prefix = /^[A-Za-z]{1,4}-/.exec(cardNo)?.[0] ?? '';
  const rest = cardNo.slice(prefix.length);
  return `${prefix}****${rest.length >= 4 ? rest.slice(-2) : ''}`;
}
