/* global LedgerSignedIn, document, fetch, history, location, URLSearchParams, window */
/**
 * The village office page (/village): who is signed in (GET /staff/session; without a session,
 * to /login?next=/village), which village it shows (a village account its own; a town account
 * chooses one and reads it only, as the API allows), and the villagers with their balances
 * (GET …/villagers, the first LISTED by id; any other looked up by id; for a village account, each
 * with 登录码: village-login-codes.js). Then it loads the other parts (village-claims.js,
 * village-tasks.js, village-catalogue.js, village-record.js, village-decided.js).
 */
'use strict';

(() => {
  const office = window.VillageOffice;
  const { $, el, cell } = office;
  const STATUS = { active: '正常', blocked: '已冻结', left: '已离村' };
  const STATUS_EN = { active: 'active', blocked: 'blocked', left: 'left the village' };
  /** At most this many villagers listed (by id); the others are looked up. */
  const LISTED = 1000;

  const passbookLink = (id) => el('a', { href: `/passbook?village=${encodeURIComponent(office.village)}&villager=${encodeURIComponent(id)}`, target: '_blank', rel: 'noopener', textContent: '存折 Passbook' });

  async function loadVillagers() {
    $('villagers-error').textContent = '';
    try {
      const people = [];
      let after = null;
      // a page at a time (GET …/villagers, by id), at most LISTED in all
      do {
        const page = await office.call('GET', office.api(`/villagers?limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`));
        people.push(...page.villagers);
        after = page.next;
      } while (after && people.length < LISTED);
      // the record form's choices by id or name (village-record.js)
      office.villagerList = people.slice(0, LISTED);
      office.onVillagers?.();
      const body = $('villagers');
      body.replaceChildren();
      for (const v of people.slice(0, LISTED)) {
        const tr = el('tr', { dataset: { villager: v.id } });
        const pb = cell('');
        pb.append(passbookLink(v.id));
        tr.append(cell(v.id), cell(v.name), cell(`${STATUS[v.status] ?? v.status} ${STATUS_EN[v.status] ?? ''}`.trim()), cell(String(v.balance), 'num balance-cell'), cell(v.debt > 0 ? String(v.debt) : '', 'num debt-cell'), pb);
        // 登录码 (village-login-codes.js): the village's own account only
        if (office.manage) tr.append(office.loginCodeCell(v));
        body.append(tr);
      }
      if (people.length === 0) office.emptyRow(body, office.manage ? 7 : 6, '本村还没有村民 / no villagers yet');
      else if (people.length > LISTED || after) $('villagers-error').textContent = `只列出前 ${LISTED} 位，其他村民请按编号查找 / the first ${LISTED} are listed: look others up by id`;
    } catch (e) {
      $('villagers-error').textContent = e.message;
    }
  }
  office.loadVillagers = loadVillagers;
  office.parts.push({ load: loadVillagers });

  async function lookup() {
    office.clearErrors('lookup');
    const id = $('lookup-villager').value.trim();
    if (id === '') return void office.showError('lookup', { field: 'villager', message: '请填写村民编号 / give a villager id' });
    office.forgetVillagers();
    const v = await office.villagerOf(id);
    if (v.error) return void office.showError('lookup', { field: v.error.field ?? 'villager', message: v.error.message });
    // what they owe the stores (GET …/villagers/:id `debt`), beside the balance
    const owes = v.debt > 0 ? [`，还欠 ${v.debt} 分`, `, owes ${v.debt}`] : ['', ''];
    $('lookup-ok').replaceChildren(`${office.villagerLabel(v)}：${STATUS[v.status] ?? v.status}，余额 ${v.balance} 分${owes[0]} / ${STATUS_EN[v.status] ?? v.status}, balance ${v.balance}${owes[1]} `, passbookLink(v.id));
    if (office.manage) $('lookup-ok').append(' ', office.loginCodeButton(v), ' ', office.signOutButton(v));
  }

  /** The villages the account may read (GET /api/staff answers them: every one for the town, its own for a village), into the chooser. */
  async function villageChoices() {
    const { villages } = await office.call('GET', '/api/staff');
    const sel = $('village');
    office.villageNames = new Map(villages.map((v) => [v.id, v.name]));
    sel.replaceChildren(...villages.map((v) => el('option', { value: v.id, textContent: v.name === v.id ? v.id : `${v.name}（${v.id}）` })));
    const asked = new URLSearchParams(location.search).get('village');
    if (asked && villages.some((v) => v.id === asked)) sel.value = asked;
    return villages.length > 0;
  }

  async function show(village) {
    office.village = village;
    office.villageName = office.villageNames.get(village) ?? village;
    // the town's choice stays in the address, so a reload or a bookmark shows the same village
    if (!office.manage) history.replaceState(null, '', `/village?village=${encodeURIComponent(village)}`);
    $('village-error').textContent = '';
    $('scope').textContent = `${$('village').selectedOptions[0]?.textContent ?? village}${office.manage ? '' : ' · 只读 read only'}`;
    try {
      await office.loadAll();
    } catch (e) {
      $('village-error').textContent = e.message;
    }
  }

  async function enter() {
    try {
      const s = await office.call('GET', '/staff/session');
      office.csrf = s.csrf;
      office.me = s.user;
      const me = s.user;
      $('who').textContent = LedgerSignedIn.label(me);
      office.manage = me.role === 'village';
      if (!(await villageChoices())) {
        $('enter-error').textContent = '还没有村 / no villages yet';
        return;
      }
    } catch (e) {
      if (e.status !== 401) $('enter-error').textContent = e.message;
      return;
    }
    if (office.manage) {
      // a village account works in its own village only
      $('village').value = office.me.village;
      $('village').disabled = true;
      $('choose-form').querySelector('button').hidden = true;
    }
    $('read-only').hidden = office.manage;
    for (const f of document.querySelectorAll('.manage')) f.hidden = !office.manage;
    $('main-view').hidden = false;
    $('logout').hidden = false;
    await show($('village').value);
  }

  window.addEventListener('DOMContentLoaded', () => {
    $('logout').addEventListener('click', async () => {
      await fetch('/staff/logout', { method: 'POST', headers: { 'x-csrf-token': office.csrf }, credentials: 'same-origin' }).catch(() => undefined);
      office.toLogin();
    });
    $('choose-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      void office.submitting($('choose-form'), () => show($('village').value));
    });
    $('lookup-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      void office.submitting($('lookup-form'), lookup);
    });
    void enter();
  });
})();
