/**
 * Schema version 11: the one-time request id of a card form. Every card form on the admin page
 * and the villager's page carries a random `request` made when the page is shown; the card it
 * issued is kept under it, so the same form sent twice (a double tap, a browser's resend)
 * answers with that card's slip again instead of issuing a second live card whose number
 * nobody saw. Only the maintainer who sent it gets the number again (`actor`).
 */
export const version = 11;

export const sql = /* sql */ `
CREATE TABLE card_requests (
  request     TEXT PRIMARY KEY CHECK (length(request) BETWEEN 16 AND 64),
  card_no     TEXT NOT NULL REFERENCES cards (card_no),
  actor       TEXT NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;
`;
