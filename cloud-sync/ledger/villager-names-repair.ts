/**
 * Ledger schema v21: villagers registered at a store used to be named by their id at the ledger
 * (the registration's name was not taken: fixed in rows.ts, tests/sync/store-registered-name.test.ts).
 * A ledger updated after that still held those names by id. This repair, run once, names each
 * villager whose name is their id by the newest `add` row of their village's stores (kept in
 * `acked_ids`) that carries a name the stores would take (store-adds.ts `nameOfAdd`). A name the
 * village gave (any name other than the id) is never replaced. SQL only, in both dialects.
 *
 * The name check follows `nameOfAdd`: text, not blanks alone (the blanks JavaScript's `trim`
 * removes that a name may hold), at most VILLAGER_NAME_MAX characters, no control character. A
 * payload holding an escaped NUL (`\u0000`) is left out: PostgreSQL's jsonb cannot hold one, and
 * `nameOfAdd` refuses such a name anyway; so is one holding an escaped surrogate (`\ud800`), which
 * jsonb refuses too when it stands alone (one such row would fail the whole upgrade). (Characters are counted as code points, where
 * JavaScript counts UTF-16 units: a name of more than 50 characters beyond the BMP, which no
 * store registers, is the only difference.)
 */
import { VILLAGER_NAME_MAX } from '../protocol/payloads.ts';

export const VILLAGER_NAMES_REPAIR_VERSION = 21;

/** The blanks `String.prototype.trim` removes, less the control characters refused anyway. */
const BLANKS = ' \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';
const ESCAPED_NUL = '\\u0000';
/** An escaped surrogate (`\ud800`…`\udfff`): JSON.stringify writes a lone one so, and PostgreSQL's jsonb refuses it (a pair it would take, but no store escapes one). */
const ESCAPED_SURROGATE_GLOB = '*\\ud[89a-f]*';
const ESCAPED_SURROGATE_RE = '\\\\ud[89a-f]';

const CONTROL_SQLITE = `char(${[...Array.from({ length: 31 }, (_, i) => i + 1), 127].join(', ')})`;
const NOW_SQLITE = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

export const VILLAGER_NAMES_REPAIR_SQLITE = /* sql */ `
UPDATE villagers SET
  name = (
    SELECT json_extract(a.payload, '$.name') FROM acked_ids a
    WHERE a.village = villagers.village AND a.topic = 'villager' AND instr(a.payload, '${ESCAPED_NUL}') = 0 AND lower(a.payload) NOT GLOB '${ESCAPED_SURROGATE_GLOB}'
      AND json_extract(a.payload, '$.op') = 'add' AND json_type(a.payload, '$.id') = 'text' AND json_extract(a.payload, '$.id') = villagers.id
      AND json_type(a.payload, '$.name') = 'text' AND trim(json_extract(a.payload, '$.name'), '${BLANKS}') <> ''
      AND length(json_extract(a.payload, '$.name')) <= ${VILLAGER_NAME_MAX}
      AND json_extract(a.payload, '$.name') NOT GLOB ('*[' || ${CONTROL_SQLITE} || ']*')
    ORDER BY COALESCE(a.created_at, a.received_at) DESC, a.received_at DESC, a.store DESC, a.seq DESC LIMIT 1
  ),
  updated_at = ${NOW_SQLITE}
WHERE name = id AND EXISTS (
  SELECT 1 FROM acked_ids a
  WHERE a.village = villagers.village AND a.topic = 'villager' AND instr(a.payload, '${ESCAPED_NUL}') = 0 AND lower(a.payload) NOT GLOB '${ESCAPED_SURROGATE_GLOB}'
    AND json_extract(a.payload, '$.op') = 'add' AND json_type(a.payload, '$.id') = 'text' AND json_extract(a.payload, '$.id') = villagers.id
    AND json_type(a.payload, '$.name') = 'text' AND trim(json_extract(a.payload, '$.name'), '${BLANKS}') <> ''
    AND length(json_extract(a.payload, '$.name')) <= ${VILLAGER_NAME_MAX}
    AND json_extract(a.payload, '$.name') NOT GLOB ('*[' || ${CONTROL_SQLITE} || ']*')
    AND json_extract(a.payload, '$.name') <> villagers.id
);
`;

// The cast to jsonb only for a payload without an escaped NUL, in a CASE: the planner may run a
// WHERE's conditions in any order, a CASE's branches it does not.
export const VILLAGER_NAMES_REPAIR_POSTGRES = /* sql */ `
WITH adds AS (
  SELECT a.village, a.store, a.seq, a.received_at, COALESCE(a.created_at, a.received_at) AS made,
    CASE WHEN a.topic = 'villager' AND strpos(a.payload, '${ESCAPED_NUL}') = 0 AND a.payload !~* '${ESCAPED_SURROGATE_RE}' THEN a.payload::jsonb END AS p
  FROM acked_ids a WHERE a.topic = 'villager'
), named AS (
  SELECT DISTINCT ON (village, p ->> 'id') village, p ->> 'id' AS id, p ->> 'name' AS name
  FROM adds
  WHERE jsonb_typeof(p) = 'object' AND p ->> 'op' = 'add' AND jsonb_typeof(p -> 'id') = 'string'
    AND jsonb_typeof(p -> 'name') = 'string' AND btrim(p ->> 'name', '${BLANKS}') <> ''
    AND char_length(p ->> 'name') <= ${VILLAGER_NAME_MAX} AND p ->> 'name' !~ '[\\x01-\\x1f\\x7f]'
  ORDER BY village, p ->> 'id', made DESC, received_at DESC, store DESC, seq DESC
)
UPDATE villagers v SET name = n.name, updated_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
FROM named n
WHERE v.id = n.id AND v.village = n.village AND v.name = v.id AND n.name <> v.id;
`;
