/* global LedgerErrors, sendOnce, window, $, api, base, showLogin */
/**
 * The villager's phone page, its 改密码 (Change PIN) form: the current PIN and the new one twice,
 * sent to `PUT …/me/pin` (governance/pin-change.ts), which decides everything: the rule (4 to 8
 * digits, the one the village sets PINs by), the two new ones alike, the current one counted as a
 * login's towards the lock (the ledger's words say the tries left and the minutes to wait). A
 * refusal is said beside the field it names, else under the form; what was typed stays, but a
 * refused current PIN is emptied for the next try. Done, the page says so, and how many other
 * phones were signed out; this one stays signed in. A double tap sends once (sending.js): two
 * would count a wrong current PIN twice. villager.js has the session, `api` and `showLogin`.
 */
'use strict';

/** The input and the line of each field the ledger may name. */
const PIN_FIELDS = { current_pin: ['pin-current', 'pin-current-error'], pin: ['pin-new', 'pin-new-error'], pin_confirm: ['pin-again', 'pin-again-error'] };

function clearPinLines() {
  for (const [, line] of Object.values(PIN_FIELDS)) $(line).textContent = '';
  $('pin-error').textContent = '';
  $('pin-ok').textContent = '';
}

async function changePin() {
  clearPinLines();
  const body = { current_pin: $('pin-current').value.trim(), pin: $('pin-new').value.trim(), pin_confirm: $('pin-again').value.trim() };
  try {
    const r = await api('PUT', `${base()}/me/pin`, body);
    for (const [input] of Object.values(PIN_FIELDS)) $(input).value = '';
    const others = r.sessions_ended > 0 ? LedgerErrors.say(`其他 ${r.sessions_ended} 部手机上的登录已退出`, `signed out on ${r.sessions_ended} other ${r.sessions_ended === 1 ? 'phone' : 'phones'}`) : '';
    $('pin-ok').textContent = [LedgerErrors.say('密码已改好，以后请用新密码登录', 'PIN changed; sign in with the new PIN from now on'), others].filter(Boolean).join('\n');
  } catch (e) {
    if (e.status === 401) {
      for (const [input] of Object.values(PIN_FIELDS)) $(input).value = '';
      return showLogin(LedgerErrors.say('登录已过期，请重新登录', 'the session has ended; sign in again'));
    }
    // the address's rate limit names the login's `pin`: said under the form, not beside the new PIN
    const named = e.status === 429 && e.field !== 'current_pin' ? undefined : PIN_FIELDS[e.field];
    const [input, line] = named ?? [undefined, 'pin-error'];
    $(line).textContent = e.message;
    if (e.field === 'current_pin') $('pin-current').value = '';
    if (input) $(input).focus();
  }
}

window.addEventListener('DOMContentLoaded', () => {
  $('pin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void sendOnce($('pin-form'), changePin);
  });
});
