/* global document, location, window */
/**
 * The village office's one-time login codes (一次性登录码): 登录码 beside a villager (the list, or
 * one looked up by id) issues one after a confirmation (POST …/villagers/:id/login-codes) and shows
 * it once, on a slip to print (window.print; ledger.css prints the slip alone) for a villager
 * without a PIN or who forgot it. The ledger keeps only a hash of the code: closing the slip
 * forgets it here too. A village account only (the town manages no villagers).
 *
 * Each press sends the villager's form request id (sending.js formRequest), kept until the ledger
 * answers a code: pressed again after a lost answer (or a reload), the ledger voids the code the
 * lost answer held and answers a fresh one, so one code per press ever signs in
 * (docs/request-ids.md). A villager who is blocked or left is refused (409), and nothing is issued.
 */
'use strict';

(() => {
  const office = window.VillageOffice;
  const { $, el } = office;

  /** The 登录码 button of villager `v` ({id, name}); its message line is the cell's p.err, else #lookup-error. */
  office.loginCodeButton = (v) => el('button', { type: 'button', className: 'small', textContent: '登录码 Code', title: '发一次性登录码 / issue a one-time login code', dataset: { loginCode: v.id, name: v.name ?? '' } });
  office.loginCodeCell = (v) => {
    const td = office.cell('', 'actions');
    td.append(office.loginCodeButton(v), el('p', { className: 'err', dataset: { error: '' } }));
    return td;
  };

  const errorLine = (btn) => btn.closest('td')?.querySelector('p.err') ?? $('lookup-error');

  /**
   * Where the villager's phone finds the login: this ledger's phone page for the village. An
   * office signed in on the ledger's own computer (localhost) has no address a phone can open.
   */
  const phoneAddress = () => (/^(localhost|127(\.\d+){3}|\[::1\])$/.test(location.hostname)
    ? '村账本手机页 /m/（网址请问村委会）'
    : `${location.origin}/m/?village=${encodeURIComponent(office.village)}`);

  function showSlip(v, answer) {
    $('slip-village').textContent = office.villageName === office.village ? office.village : `${office.villageName}（村编号 ${office.village}）`;
    $('slip-villager').textContent = office.villagerLabel(v);
    $('slip-code').textContent = answer.code;
    $('slip-expires').textContent = office.when(answer.expires_at);
    $('slip-address').textContent = phoneAddress();
    $('slip-id').textContent = v.id;
    document.body.classList.add('slip-open');
    $('code-slip').showModal();
  }

  /** Closing the slip (关闭, or Esc) forgets the code: it is not shown again. */
  function forget() {
    for (const id of ['slip-code', 'slip-expires', 'slip-villager', 'slip-id']) $(id).textContent = '';
    document.body.classList.remove('slip-open');
  }

  async function issue(btn) {
    const v = { id: btn.dataset.loginCode, name: btn.dataset.name };
    const line = errorLine(btn);
    line.textContent = '';
    if (!window.confirm(`为 ${office.villagerLabel(v)} 发一次性登录码？登录码只显示这一次，请当场打印或抄写交给本人。\nIssue a one-time login code for ${v.id}? It is shown once: print it for them.`)) return;
    const form = window.formRequest(`login-code:${office.village}/${v.id}`);
    let answer;
    try {
      answer = await office.call('POST', office.api(`/villagers/${encodeURIComponent(v.id)}/login-codes`), { request: form.id });
    } catch (e) {
      line.textContent = e.message;
      // the id's code was used or voided meanwhile: the next press is a new form
      if (e.status === 409 && e.field === 'request') form.renew();
      return;
    }
    form.renew();
    showSlip(v, answer);
  }

  window.addEventListener('DOMContentLoaded', () => {
    document.addEventListener('click', (ev) => {
      const btn = ev.target.closest?.('button[data-login-code]');
      if (btn && office.manage) void office.submitting(btn, () => issue(btn));
    });
    $('slip-print').addEventListener('click', () => window.print());
    $('slip-close').addEventListener('click', () => $('code-slip').close());
    $('code-slip').addEventListener('close', forget);
  });
})();
