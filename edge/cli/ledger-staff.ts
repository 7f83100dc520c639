/**
 * `store-edge ledger staff …`: the village ledger's staff accounts (the /town and /passbook
 * pages' logins) from a terminal on the ledger's machine — list, add, set a new password (the
 * way back in when the only password is forgotten), unlock, disable and enable. Passwords come from standard input
 * (edge/cli/admin.ts's reader), never from argv. Each change is in the audit log as `cli`.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { print } from './context.ts';
import { asBadDatabaseUrl, databaseUrlOption, unreachableDatabaseUrl, villageLedgerFileOption } from './ledger-options.ts';
import { readPassword } from './admin.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { hashPassword, passwordWeakness, USERNAME } from '../../lib/passwords.ts';
import { openLedgerDb, type SqlDb } from '../../cloud-sync/ledger/sql.ts';
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { addStaff, checkNewStaff, getStaff, listStaff, setStaffDisabled, setStaffPassword, unlockStaff, STAFF_ROLES, type StaffRole } from '../../cloud-sync/ledger/staff/accounts.ts';

interface DbOptions { db: string; json?: boolean }

/** The --db file, which must exist and be a village ledger (unused with DATABASE_URL, which must be a PostgreSQL URL). */
async function sqliteFileOf(o: DbOptions): Promise<string> {
  return databaseUrlOption(process.env) ? path.resolve(o.db) : villageLedgerFileOption('--db', o.db, { existing: true });
}

async function withLedgerDb<T>(o: DbOptions, fn: (db: SqlDb) => Promise<T>): Promise<T> {
  const sqliteFile = await sqliteFileOf(o);
  const db = openLedgerDb({ databaseUrl: process.env.DATABASE_URL, sqliteFile });
  try {
    await migrateLedger(db).catch((err: unknown) => { throw asBadDatabaseUrl(unreachableDatabaseUrl(err)); });
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** A new password from stdin (the admin CLI's reader), refused as the pages refuse it (exit 2). */
async function readNewPassword(prompt: string): Promise<string> {
  const password = await readPassword(prompt);
  const weak = passwordWeakness(password);
  if (weak) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the password (read from standard input): ${weak.message}`, { zh: `${weak.zh}（从标准输入读取）` });
  return password;
}

function checkUsername(u: string): string {
  if (!USERNAME.test(u)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--username must be 2 to 32 lower-case letters, digits, . _ -, got ${JSON.stringify(u)}`, { zh: '--username 须为 2–32 位小写字母、数字或 . _ -' });
  return u;
}

export function registerLedgerStaffCommands(ledger: Command): void {
  const staff = ledger.command('staff').description('staff accounts of the ledger\'s pages / 村账本工作人员账号');
  const common = (c: Command) => c.option('--db <file>', 'SQLite file when DATABASE_URL is not set / SQLite 文件', './data/village-ledger.sqlite').option('--json', 'print JSON / 输出 JSON');
  common(staff.command('list').description('list the accounts / 账号列表')).action(async (o: DbOptions) => {
    const list = await withLedgerDb(o, (db) => listStaff(db));
    print(o, list, list.length === 0 ? '（无账号 no accounts: open the setup link the ledger logs, or `store-edge ledger staff add`）' : list.map((a) => `${a.username}\t${a.display_name}\t${a.role}${a.village ? `\t${a.village}` : ''}${a.locked_until ? `\t锁定至 locked until ${a.locked_until}` : ''}${a.disabled_at ? `\t已停用 disabled ${a.disabled_at}` : ''}`).join('\n'));
  });
  common(staff.command('add').description('add an account; the password is read from stdin / 添加账号（密码从标准输入读取）'))
    .requiredOption('--username <name>', 'login name / 用户名')
    .requiredOption('--name <name>', 'shown name / 姓名')
    .requiredOption('--role <role>', `${STAFF_ROLES.join(' | ')} / 角色`)
    .option('--village <id>', 'the village of a village account / 村级账号所属村')
    .action(async (o: DbOptions & { username: string; name: string; role: string; village?: string }) => {
      const username = checkUsername(o.username);
      if (!STAFF_ROLES.includes(o.role as StaffRole)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--role must be town or village, got ${JSON.stringify(o.role)}`, { zh: '--role 只能是 town（镇级）或 village（村级）' });
      if ((o.role === 'village') !== (o.village !== undefined)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'a village account needs --village, a town account none', { zh: '村级账号须用 --village 指明所属村，镇级账号不要 --village' });
      const name = o.name.trim();
      if (name.length < 1 || name.length > 100) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, '--name must have 1 to 100 characters', { zh: '--name 姓名须为 1–100 字' });
      // the ledger, the village and the user name before the password is asked: nothing typed in vain
      await withLedgerDb(o, (db) => checkNewStaff(db, { username, village: o.village ?? null }));
      const password_hash = await hashPassword(await readNewPassword('密码 Password: '));
      const a = await withLedgerDb(o, (db) => addStaff(db, { username, display_name: name, role: o.role as StaffRole, village: o.village ?? null, password_hash }, 'cli', new Date()));
      print(o, a, `已添加账号 added staff account ${a.username} (${a.role}${a.village ? ` ${a.village}` : ''})`);
    });
  common(staff.command('password').description('set a new password (stdin); unlocks and signs the account out everywhere / 重设密码'))
    .requiredOption('--username <name>', 'the account\'s user name / 用户名')
    .action(async (o: DbOptions & { username: string }) => {
      const username = checkUsername(o.username);
      // before the password is asked
      if (!(await withLedgerDb(o, (db) => getStaff(db, username)))) throw new EdgeError(ErrorCode.NOT_FOUND, `no staff account ${username}`, { zh: `没有账号 ${username}` });
      const hash = await hashPassword(await readNewPassword('新密码 New password: '));
      await withLedgerDb(o, (db) => setStaffPassword(db, username, hash, 'cli', new Date()));
      print(o, { username, ok: true }, `已重设密码 password set for ${username}; its sessions are ended`);
    });
  common(staff.command('unlock').description('lift a lock after wrong passwords / 解除锁定'))
    .requiredOption('--username <name>', 'the account\'s user name / 用户名')
    .action(async (o: DbOptions & { username: string }) => {
      const username = checkUsername(o.username);
      await withLedgerDb(o, (db) => unlockStaff(db, username, 'cli', new Date()));
      print(o, { username, locked_until: null }, `已解除锁定 unlocked ${username}`);
    });
  for (const disabled of [true, false]) {
    common(staff.command(disabled ? 'disable' : 'enable').description(disabled
      ? 'disable an account: it cannot sign in, its sessions end; never the last working town account / 停用账号'
      : 'enable a disabled account again / 重新启用账号'))
      .requiredOption('--username <name>', 'the account\'s user name / 用户名')
      .action(async (o: DbOptions & { username: string }) => {
        const username = checkUsername(o.username);
        const changed = await withLedgerDb(o, (db) => setStaffDisabled(db, username, disabled, 'cli', new Date()));
        const zh = disabled ? (changed ? '已停用' : '本来就已停用') : (changed ? '已启用' : '本来就可用');
        print(o, { username, disabled, changed }, `${zh} ${disabled ? 'disabled' : 'enabled'} ${username}${changed ? '' : ' (no change)'}`);
      });
  }
}
