/**
 * A town upgrades a village ledger that holds years of data: made by the migrations up to an
 * older version (7, 11, 13, 14, 15, 16, 17), filled with that version's rows (tests/sync/older-ledger.ts),
 * then migrated to the current one. Every row is still there with its values, the new columns
 * hold what each migration promises (none known for rows before v9 and v11, acked_ids.created_at
 * at v15, the staff counts at v16, no hand clears known at v17, no request ids at v18), the
 * balances are the same, and the ledger works: a store's rows are acknowledged, its alarms list
 * names who cleared one by hand, staff and villagers sign in, a task form sent twice publishes once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyStoreRows, DEFAULT_SKEW_MS } from '../../cloud-sync/ledger/rows.ts';
import { ACKED_BY_VILLAGE_VERSION, ACKED_CREATED_AT_VERSION, LEDGER_SCHEMA_VERSION, migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { CATALOGUE_VERSION } from '../../cloud-sync/ledger/catalogue.ts';
import { recordAlarmList, storeAlarms, STORE_ALARMS_HAND_VERSION } from '../../cloud-sync/ledger/store-alarms.ts';
import { balanceOf, type Signer } from '../../cloud-sync/ledger/tables.ts';
import type { Row } from '../../cloud-sync/protocol/payloads.ts';
import { newKeyPair, privateEd25519 } from '../../cloud-sync/protocol/sign.ts';
import { hashPin } from '../../cloud-sync/ledger/governance/auth.ts';
import { REQUEST_IDS_VERSION } from '../../cloud-sync/ledger/governance/request-ids.ts';
import { hashPassword } from '../../lib/passwords.ts';
import { ledgerDbKind, tempLedgerDb } from '../../harness/sync/rig.ts';
import { govApp, type GovApp } from '../ledger-gov/gov-app.ts';
import { inOrder, olderLedgerRows, readRows, STAFF_TOKEN, VILLAGER_TOKEN, writeRows, type Seeded } from './older-ledger.ts';

type Ledger = Awaited<ReturnType<typeof tempLedgerDb>>;
const signer: Signer = { key: privateEd25519('ledger-1', newKeyPair().privatePem), lifetimeMs: 86_400_000 };
const PASSWORD = 'upgrade day password';
const BALANCES = { zhang: 85, li: 40, wang: 0, zhao: 2_000_000_000 };

/** The columns the upgrade changes on purpose, checked on their own: every other value stays as written. */
const CHANGED: Record<string, string[]> = { staff_accounts: ['failed_logins'] };
const keptColumns = (s: Seeded) => Object.keys(s.rows[0]!).filter((c) => !(CHANGED[s.table] ?? []).includes(c));

describe(`a populated village ledger upgraded to version ${LEDGER_SCHEMA_VERSION} (${ledgerDbKind})`, () => {
  let ledger: Ledger | undefined;
  let g: GovApp | undefined;
  afterEach(async () => {
    await g?.close();
    g = undefined;
    await ledger?.drop();
    ledger = undefined;
  });

  for (const from of [ACKED_BY_VILLAGE_VERSION - 1, 11, 13, CATALOGUE_VERSION, ACKED_CREATED_AT_VERSION, STORE_ALARMS_HAND_VERSION - 1, REQUEST_IDS_VERSION - 1]) {
    it(`from version ${from}: every row kept, the new columns as promised, balances the same, and it works`, async () => {
      const now = new Date();
      ledger = await tempLedgerDb(from);
      const { db } = ledger;
      const seeded = olderLedgerRows(from, now);
      // real hashes: the staff and a villager sign in with them after the upgrade
      const hash = await hashPassword(PASSWORD, 2 ** 14);
      for (const r of seeded.find((s) => s.table === 'staff_accounts')!.rows) r.password_hash = hash;
      seeded.find((s) => s.table === 'gov_pins')!.rows[0]!.pin_hash = await hashPin('2468');
      await writeRows(db, seeded);

      await migrateLedger(db);
      expect(Number((await db.query<{ version: number | string }>('SELECT version FROM ledger_schema'))[0]!.version)).toBe(LEDGER_SCHEMA_VERSION);

      // Every row of every table, every value as written, but what a migration changes on purpose.
      const staffCounts = seeded.find((s) => s.table === 'gov_login_failures');
      for (const s of seeded.filter((x) => x !== staffCounts)) {
        expect({ table: s.table, rows: await readRows(db, s, keptColumns(s)) }).toEqual({ table: s.table, rows: inOrder(s, s.rows).map((r) => Object.fromEntries(keptColumns(s).map((c) => [c, r[c]]))) });
      }
      expect((await db.query<{ id: string }>('SELECT id FROM entries ORDER BY seq')).map((e) => e.id)).toEqual(seeded.find((s) => s.table === 'entries')!.rows.map((r) => r.id));

      // v15: rows acknowledged before it have no time of their own (their receipt stands for it).
      const times = await db.query<{ id: string; created_at: string | null }>('SELECT id, created_at FROM acked_ids ORDER BY village, seq');
      const acked = seeded.find((s) => s.table === 'acked_ids')!.rows;
      expect(times.map((r) => r.created_at)).toEqual(acked.map((r) => (from >= ACKED_CREATED_AT_VERSION ? r.created_at : null)));

      // v16: counts of wrong passwords start again, an account's and an unknown name's; locks stay.
      const accounts = await db.query<{ username: string; failed_logins: number | string; failed_until: string | null; locked_until: string | null }>('SELECT username, failed_logins, failed_until, locked_until FROM staff_accounts ORDER BY username');
      expect(accounts.map((a) => [a.username, Number(a.failed_logins), a.failed_until])).toEqual(['chief', 'clerk', 'gone', 'locked', 'unlocked'].map((u) => [u, 0, null]));
      if (staffCounts) {
        const kept = staffCounts.rows.filter((r) => !String(r.login).startsWith('staff:') && !(String(r.login).startsWith('staff-name:') && Number(r.failures) > 0));
        expect(inOrder(staffCounts, kept).map((r) => r.login)).toEqual(['staff-name:ended', 'staff-name:nobody', 'va/zhang', 'vb/wang']);
        expect(await readRows(db, staffCounts)).toEqual(inOrder(staffCounts, kept));
      }
      // Columns later than the version: none known for the rows before them (v9, v11).
      if (from < 9) expect(await db.query('SELECT username FROM staff_accounts WHERE disabled_at IS NOT NULL')).toEqual([]);
      if (from < 11) expect(await db.query('SELECT id FROM villagers WHERE status_changed_at IS NOT NULL')).toEqual([]);

      // v17: no alarm held before it was cleared by a known hand; the store's next list names who and why
      expect(await db.query('SELECT occurrence FROM store_alarms WHERE cleared_by IS NOT NULL OR clear_note IS NOT NULL')).toEqual([]);
      const scale = seeded.find((x) => x.table === 'store_alarms')!.rows[0]!;
      const [, door, wei] = seeded.find((x) => x.table === 'store_alarms')!.rows as [unknown, Record<string, unknown>, Record<string, unknown>];
      const listAt = new Date(now.getTime() - 2000).toISOString();
      const still = { id: Number(scale.store_alarm_id), kind: String(scale.kind), subject: String(scale.subject), severity: 'critical' as const, detail: String(scale.detail), raised_at: String(scale.raised_at), last_seen_at: String(scale.last_seen_at), seen: 3, acknowledged_at: String(scale.acknowledged_at), acknowledged_by: 'laochen', ack_note: '已报修' };
      const hand = { id: 6, kind: 'villager_id_taken', subject: 'villager wei', raised_at: String(wei.raised_at), cleared_at: String(wei.cleared_at), cleared_by: 'laochen', note: '邻村已改号' };
      expect(await recordAlarmList(db, 'va', 's1', { at: listAt, active: [still], cleared: [hand] }, now)).toMatchObject({ stale: false, updated: 1, cleared: 0, byHand: 1 });
      const history = (await storeAlarms(db, ['va'], 10)).find((x) => x.store === 's1')!.recent;
      expect(history.map((a) => [a.kind, a.cleared_at, a.cleared_by, a.cleared_how?.zh ?? null])).toEqual([['villager_id_taken', wei.cleared_at, 'laochen', '手动解除：laochen，邻村已改号'], ['door_open', door.cleared_at, null, null]]);

      // v18: no form's request id is known from before; the first one kept is the first sent after
      expect(await db.query('SELECT request FROM gov_requests')).toEqual([]);
      // v22: every claim held before has the sign of the item version it names; no staff account is known to have filed it
      expect(await db.query('SELECT id, direction, filed_by FROM gov_claims ORDER BY id')).toEqual(['c1', 'c2', 'c3'].map((id) => ({ id, direction: 'add', filed_by: null })));

      for (const [villager, balance] of Object.entries(BALANCES)) expect({ villager, balance: await balanceOf(db, villager) }).toEqual({ villager, balance });

      // A store's rows: row 4 closes the gap to the row 5 held before, 6 is new; 2 sent again is a duplicate.
      const at = new Date(now.getTime() - 1000).toISOString();
      const rows: Row[] = [
        { id: 's1:4', seq: 4, topic: 'entry', payload: { id: 's1-redemption-4', villager: 'zhang', kind: 'redemption', points: -7, created_at: at }, created_at: at },
        { id: 's1:6', seq: 6, topic: 'entry', payload: { id: 's1-redemption-6', villager: 'zhao', kind: 'redemption', points: -3, created_at: at }, created_at: at },
        { id: 's1:2', seq: 2, topic: 'session', payload: JSON.parse(String(acked[1]!.payload)) as unknown, created_at: at },
      ];
      const res = await applyStoreRows(db, 'va', 's1', rows, signer, now, DEFAULT_SKEW_MS);
      expect(res).toMatchObject({ ackIds: ['s1:4', 's1:6', 's1:2'], duplicates: 1, contiguousSeq: 6, rowClashes: [], clashes: [], unapplied: [] });
      expect(res.events.map((e) => e.seq)).toEqual([5]);
      expect(await balanceOf(db, 'zhang')).toBe(BALANCES.zhang - 7);
      expect(await balanceOf(db, 'zhao')).toBe(BALANCES.zhao - 3);

      // The pages: a staff session of before the upgrade; logins by the counts' promises.
      g = await govApp({ db, village: 'va' });
      const app = g.app;
      const login = (username: string, password: string, address: string) => app.inject({ method: 'POST', url: '/staff/login', remoteAddress: address, payload: { username, password } });
      expect((await app.inject({ method: 'GET', url: '/api/whoami', cookies: { ledger_staff: STAFF_TOKEN } })).json()).toEqual({ role: 'town', staff: 'chief' });
      // clerk had four wrong passwords before: a fifth now is the first of a new count, no lock
      expect((await login('clerk', 'wrong password!', '192.0.2.1')).statusCode).toBe(401);
      expect((await login('clerk', PASSWORD, '192.0.2.1')).statusCode).toBe(200);
      expect((await login('locked', PASSWORD, '192.0.2.2')).json()).toMatchObject({ error: 'ACCOUNT_LOCKED', locked_until: accounts.find((a) => a.username === 'locked')!.locked_until });
      expect((await login('unlocked', PASSWORD, '192.0.2.3')).statusCode).toBe(200);
      // an unknown name's running lock holds; a count of three before is a new count
      expect((await login('nobody', PASSWORD, '192.0.2.4')).statusCode).toBe(staffCounts ? 423 : 401);
      expect((await login('ghost', PASSWORD, '192.0.2.4')).statusCode).toBe(401);
      expect((await g.call(undefined, 'POST', '/api/villager/login', { village: 'va', villager: 'zhang', pin: '2468' })).statusCode).toBe(200);
      const token = from >= 13 ? VILLAGER_TOKEN : ((await g.call(undefined, 'POST', '/api/villager/login', { village: 'va', villager: 'zhang', pin: '2468' })).json() as { token: string }).token;
      expect((await g.call(token, 'GET', '/api/villages/va/me')).json()).toMatchObject({ villager: 'zhang', balance: BALANCES.zhang - 7 });
      // a claim reported before the upgrade is approved after it
      const approved = await g.call(g.va, 'POST', '/api/villages/va/claims/c2/approve', { points: 12 });
      expect(approved.statusCode, approved.body).toBe(200);
      expect(await balanceOf(db, 'zhao')).toBe(BALANCES.zhao - 3 + 12);
      // a task form sent twice with its request id publishes one task
      const form = { title: '升级后的任务', item: 'well', points: 10, max_claimants: 2, request: 'upgrade-form-0001-a7c3' };
      const sends = [await g.call(g.va, 'POST', '/api/villages/va/tasks', form), await g.call(g.va, 'POST', '/api/villages/va/tasks', form)];
      expect(sends.map((r) => r.statusCode)).toEqual([201, 200]);
      expect((await db.query('SELECT id FROM gov_tasks WHERE title = $1', [form.title])).length).toBe(1);
    }, 60_000);
  }
});
