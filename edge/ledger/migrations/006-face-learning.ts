/**
 * Schema version 6: learning at the door (edge/entry/adapt.ts). A template is either enrolled
 * (a photo or the camera, by a maintainer) or learned at the door after a confident match;
 * learned ones can be listed and removed on their own. Learning needs its own consent,
 * recorded per villager beside the face consent (withdrawing the face consent removes both).
 */
export const version = 6;

export const sql = /* sql */ `
ALTER TABLE face_templates ADD COLUMN origin TEXT NOT NULL DEFAULT 'enrolled' CHECK (origin IN ('enrolled', 'learned'));
CREATE TABLE face_learning_consent (
  villager_id  TEXT PRIMARY KEY REFERENCES villagers (id) ON DELETE CASCADE,
  consented_at TEXT NOT NULL,
  consented_by TEXT NOT NULL CHECK (length(consented_by) BETWEEN 1 AND 100)
) STRICT;
`;
