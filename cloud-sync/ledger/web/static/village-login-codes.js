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
 * A new code signs the villager out of the phones signed in before (a lost or replaced phone is
 * the usual reason for one): the slip says how many, on the screen only.
 *
 * 退出手机 beside it (结束该村民所有手机登录, POST …/villagers/:id/sign-out) signs the villager out of
 * every phone after a confirmation, without a block (which would keep him out of the store too),
 * and says how many phones were signed out. A store-door QR code the lost phone already shows
 * still opens the door until it expires, about two minutes at most (docs/governance-villagers.md).
 */
'use strict';

(() => {
  const office = window.VillageOffice;
  const { $, el } = office;

  /** The 登录码 button of villager `v` ({id, name}); its message line is the cell's p.err, else #lookup-error. */
  office.loginCodeButton = (v) => el('button', { type: 'button', className: 'small', textContent: '登录码 Code', title: '发一次性登录码 / issue a one-time login code', dataset: { loginCode: v.id, name: v.name ?? '' } });
  /** The 退出手机 button of villager `v`: signs them out of every phone. */
  office.signOutButton = (v) => el('button', { type: 'button', className: 'small', textContent: '退出手机 Sign out', title: '结束该村民所有手机登录 / sign this villager out of every phone', dataset: { signOut: v.id, name: v.name ?? '' } });
  office.loginCodeCell = (v) => {
    const td = office.cell('', 'actions');
    td.append(office.loginCodeButton(v), ' ', office.signOutButton(v), el('p', { className: 'err', dataset: { error: '' } }), el('p', { className: 'ok', role: 'status', dataset: { done: '' } }));
    return td;
  };

  const errorLine = (btn) => btn.closest('td')?.querySelector('p.err') ?? $('lookup-error');
  /** Where a done message goes: the cell's p.ok, else a span after the button (the looked-up villager's line). */
  const doneLine = (btn) => {
    const cell = btn.closest('td')?.querySelector('p.ok');
    if (cell) return cell;
    let span = btn.parentElement.querySelector('span.ok[data-done]');
    if (!span) btn.after(' ', (span = el('span', { className: 'ok', dataset: { done: '' } })));
    return span;
  };
  /** What the office hears once a villager's phones are signed out (`n` sessions ended). */
  const signedOut = (v, n) => (n === 0
    ? `${office.villagerLabel(v)} 没有已登录的手机 / no phone of ${v.id} was signed in`
    : `已结束 ${office.villagerLabel(v)} 的 ${n} 个手机登录：这些手机不能再用积分，进店二维码约 2 分钟内失效 / ${v.id} is signed out of ${n} phone${n === 1 ? '' : 's'}; a QR code already shown expires within about 2 minutes`);

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
    $('slip-ended').textContent = answer.sessions_ended > 0
      ? `${office.villagerLabel(v)} 之前登录的 ${answer.sessions_ended} 个手机已退出登录（丢失的手机不能再用积分）。/ The ${answer.sessions_ended} phone${answer.sessions_ended === 1 ? '' : 's'} signed in before ${answer.sessions_ended === 1 ? 'is' : 'are'} signed out.`
      : `${office.villagerLabel(v)} 此前没有已登录的手机。/ No phone was signed in before.`;
    document.body.classList.add('slip-open');
    $('code-slip').showModal();
  }

  /** Closing the slip (关闭, or Esc) forgets the code: it is not shown again. */
  function forget() {
    for (const id of ['slip-code', 'slip-expires', 'slip-villager', 'slip-id', 'slip-ended']) $(id).textContent = '';
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

  async function signOut(btn) {
    const v = { id: btn.dataset.signOut, name: btn.dataset.name };
    const line = errorLine(btn);
    const done = doneLine(btn);
    line.textContent = '';
    done.textContent = '';
    if (!window.confirm(`结束 ${office.villagerLabel(v)} 在所有手机上的登录？丢失的手机将不能再用积分；本人可用密码或新的登录码重新登录，账户不冻结。\nSign ${v.id} out of every phone? A lost phone can no longer spend points; they sign in again with their PIN or a new code (not a block).`)) return;
    try {
      const answer = await office.call('POST', office.api(`/villagers/${encodeURIComponent(v.id)}/sign-out`), {});
      done.textContent = signedOut(v, answer.sessions_ended);
    } catch (e) {
      line.textContent = e.message;
    }
  }

  window.addEventListener('DOMContentLoaded', () => {
    document.addEventListener('click', (ev) => {
      const btn = ev.target.closest?.('button[data-login-code]');
      if (btn && office.manage) void office.submitting(btn, () => issue(btn));
      const out = ev.target.closest?.('button[data-sign-out]');
      if (out && office.manage) void office.submitting(out, () => signOut(out));
    });
    $('slip-print').addEventListener('click', () => window.print());
    $('slip-close').addEventListener('click', () => $('code-slip').close());
    $('code-slip').addEventListener('close', forget);
  });
})();
