/**
 * Schema version 10: when a villager's status last changed. The retention job deletes the face
 * templates of a villager who left `left_villager_templates_days` after they left; `updated_at`
 * moves with every entry, debt or snapshot row, so keyed on it the templates of a villager who
 * still received an entry (an expiry, a late refund) were kept long past that. Rows written
 * before this version take their `updated_at`: no earlier moment is known, and a later one only
 * keeps templates longer, never deletes them early.
 */
export const version = 10;

export const sql = /* sql */ `
ALTER TABLE villagers ADD COLUMN status_changed_at TEXT;
UPDATE villagers SET status_changed_at = updated_at;
`;
