/* global window */
/**
 * Who is signed in, as the staff pages' header says it (`#who` on /town, /village, /accounts):
 * the account's name, then its role in both languages as the accounts list names roles
 * (镇级 Town, 村级 Village), and a village account's village.
 */
'use strict';

window.LedgerSignedIn = {
  /** `user`: the staff session's user ({display_name, role, village}). */
  label: (user) => `${user.display_name}（${user.role === 'town' ? '镇级 Town' : `村级 Village · ${user.village}`}）`,
};
