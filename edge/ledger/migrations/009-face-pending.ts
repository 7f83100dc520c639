/**
 * Schema version 9: card-confirmed learning at the door (edge/entry/card-learning.ts). When the
 * door was not sure of a face (`uncertain`) and the villager then came in with their own card
 * or QR code, the frame of that window nearest to them is kept here as a *pending* template,
 * sealed like every template, with a sealed thumbnail of the face for the maintainer. It takes
 * no part in matching until a maintainer confirms it (then it moves to face_templates as a
 * learned template); a rejected or expired one is deleted. (Version 8 is another change's.)
 */
export const version = 9;

export const sql = /* sql */ `
CREATE TABLE face_pending_templates (
  id                INTEGER PRIMARY KEY,
  villager_id       TEXT NOT NULL REFERENCES villagers (id) ON DELETE CASCADE,
  nonce             BLOB NOT NULL,
  ciphertext        BLOB NOT NULL,
  tag               BLOB NOT NULL,
  thumb_nonce       BLOB,
  thumb_ciphertext  BLOB,
  thumb_tag         BLOB,
  distance          REAL NOT NULL,
  margin            REAL NOT NULL,
  enrolled_distance REAL NOT NULL,
  credential        TEXT NOT NULL CHECK (credential IN ('card', 'qr')),
  created_at        TEXT NOT NULL,
  expires_at        TEXT NOT NULL
) STRICT;
CREATE INDEX face_pending_villager ON face_pending_templates (villager_id);
CREATE INDEX face_pending_expiry ON face_pending_templates (expires_at);
`;
