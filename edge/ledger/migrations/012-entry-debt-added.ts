/**
 * Schema version 12: the part of a deduction that became debt (`entries.debt_added`), kept with
 * the entry. A deduction that stops at the credit floor stores the points it moved, fewer than
 * were asked; without what was asked, the same id used again for a bigger penalty looked like a
 * retry of the first ("duplicate, nothing applied") and the new penalty was lost. With it, what
 * was asked is `points - debt_added`, and any other amount is another entry (ENTRY_ID_TAKEN).
 * Entries written before this version have NULL: what they asked is unknown, and a smaller stored
 * deduction that stopped at the floor is still taken as the same entry, as before.
 */
export const version = 12;

export const sql = /* sql */ `
ALTER TABLE entries ADD COLUMN debt_added INTEGER CHECK (debt_added IS NULL OR debt_added >= 0);
`;
