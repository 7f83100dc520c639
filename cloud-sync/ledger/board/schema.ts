/**
 * The public board's tables (ledger schema v4): what each village publishes, each villager's
 * choice to be named or not (and whether they are staff, never ranked), and the last board
 * published per village (its version only ever grows; the change token says whether anything
 * it was computed from has moved since).
 */
const tables = (bigint: string) => /* sql */ `
CREATE TABLE board_settings (
  village           TEXT PRIMARY KEY REFERENCES villages (id),
  publish_red_list  INTEGER NOT NULL DEFAULT 1 CHECK (publish_red_list IN (0, 1)),
  red_list_size     INTEGER NOT NULL DEFAULT 10 CHECK (red_list_size BETWEEN 1 AND 50),
  publish_deeds     INTEGER NOT NULL DEFAULT 1 CHECK (publish_deeds IN (0, 1)),
  deeds_count       INTEGER NOT NULL DEFAULT 8 CHECK (deeds_count BETWEEN 1 AND 50),
  publish_totals    INTEGER NOT NULL DEFAULT 1 CHECK (publish_totals IN (0, 1)),
  -- how a villager who opted out of being named appears: masked (张**) or left off
  name_style        TEXT NOT NULL DEFAULT 'mask' CHECK (name_style IN ('mask', 'omit')),
  updated_by        TEXT NOT NULL,
  updated_at        TEXT NOT NULL
);
CREATE TABLE board_villagers (
  villager_id  TEXT PRIMARY KEY REFERENCES villagers (id),
  named        INTEGER NOT NULL DEFAULT 1 CHECK (named IN (0, 1)),
  staff        INTEGER NOT NULL DEFAULT 0 CHECK (staff IN (0, 1)),
  updated_by   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);
CREATE TABLE board_published (
  village       TEXT PRIMARY KEY REFERENCES villages (id),
  version       ${bigint} NOT NULL,
  digest        TEXT NOT NULL,
  change_token  TEXT NOT NULL,
  published_at  TEXT NOT NULL
);
-- the month's approved claims and the latest deeds without reading a village's whole history;
-- the change token's last villager change without reading every villager
CREATE INDEX gov_claims_decided ON gov_claims (village, status, decided_at);
CREATE INDEX villagers_village_updated ON villagers (village, updated_at);
`;

export const BOARD_SQLITE = tables('INTEGER');
export const BOARD_POSTGRES = tables('BIGINT');
