/**
 * `store-edge admin …`: the admin page's accounts from the store PC's terminal — list them,
 * add one, set a new password (the way back in when the only password is forgotten), unlock.
 * Passwords are read from standard input (hidden when it is a terminal), never from argv,
 * which other users of the machine can read. Each change is in the audit log as `cli`.
 */
import type { Command } from 'commander';
import { readLedger, withCommon, withLedger, print, type CommonOptions } from './context.ts';
import { addAdminAccount, getAdminAccount, listAdminAccounts, setAdminPassword, unlockAdminAccount, ADMIN_ROLES, type AdminRole } from '../ledger/admin-accounts.ts';
import { auditCli } from './cli-audit.ts';
import { inTransaction } from '../ledger/db.ts';
import { hashPassword, passwordWeakness } from '../http/passwords.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { readPasswordLine } from './password-input.ts';

/** A new password from stdin: typed at a terminal (edge/cli/password-input.ts) or piped; refused as the pages refuse it (exit 2). */
export async function readPassword(prompt: string): Promise<string> {
  const password = await readPasswordLine(prompt);
  const weak = passwordWeakness(password);
  if (weak) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `the password: ${weak.message} (read from standard input)`, { zh: `${weak.zh}（从标准输入读取）` });
  return password;
}

function checkUsername(u: string): string {
  if (!/^[a-z0-9_.-]{2,32}$/.test(u)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--username must be 2 to 32 lower-case letters, digits, . _ -, got ${JSON.stringify(u)}`, { zh: '--username 须为 2–32 位小写字母、数字或 . _ -' });
  return u;
}

export function registerAdminCommand(program: Command): void {
  const admin = program.command('admin').description('admin page accounts / 管理页面账号');
  withCommon(admin.command('accounts').description('list the accounts / 账号列表'), { json: true }).action((o: CommonOptions) => {
    const list = readLedger(o, (db) => listAdminAccounts(db)).map((a) => ({ username: a.username, display_name: a.displayName, role: a.role, locked_until: a.lockedUntil, last_login_at: a.lastLoginAt, created_at: a.createdAt }));
    print(o, list, list.length === 0 ? '（无账号 no accounts: open the setup link the daemon logs, or `store-edge admin add`）' : list.map((a) => `${a.username}\t${a.display_name}\t${a.role}${a.locked_until ? `\t锁定至 locked until ${a.locked_until}` : ''}`).join('\n'));
  });
  withCommon(admin.command('add').description('add an account; the password is read from stdin / 添加账号（密码从标准输入读取）'), { json: true })
    .requiredOption('--username <name>', 'login name / 用户名')
    .requiredOption('--name <name>', 'shown name / 姓名')
    .option('--role <role>', `${ADMIN_ROLES.join(' | ')} (default maintainer) / 角色`, 'maintainer')
    .action(async (o: CommonOptions & { username: string; name: string; role: string }) => {
      const username = checkUsername(o.username);
      if (!ADMIN_ROLES.includes(o.role as AdminRole)) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--role must be ${ADMIN_ROLES.join(' or ')}, got ${JSON.stringify(o.role)}`, { zh: '--role 只能是 maintainer 或 village_admin' });
      const name = o.name.trim();
      if (name.length < 1 || name.length > 100) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, '--name must have 1 to 100 characters', { zh: '--name 姓名须为 1–100 字' });
      // the data folder and the user name before the password is asked: nothing typed in vain
      withLedger(o, (db) => { if (getAdminAccount(db, username)) throw new EdgeError(ErrorCode.DUPLICATE_ID, `admin account ${username} already exists`, { zh: `管理账号 ${username} 已存在`, details: { field: 'username' } }); });
      const passwordHash = await hashPassword(await readPassword('密码 Password: '));
      const a = withLedger(o, (db) => inTransaction(db, 'adding an admin account', () => {
        const added = addAdminAccount(db, { username, displayName: name, role: o.role as AdminRole, passwordHash });
        auditCli(db, 'admin add', { action: 'account.create', target: username, before: null, after: { username, display_name: name, role: added.role, via: 'cli' } });
        return added;
      }));
      print(o, { username: a.username, display_name: a.displayName, role: a.role }, `已添加管理账号 added admin account ${a.username} (${a.role})`);
    });
  withCommon(admin.command('password').description('set a new password (stdin); unlocks and signs the account out everywhere / 重设密码（从标准输入读取）'), { json: true })
    .requiredOption('--username <name>', 'the account\'s user name / 用户名')
    .action(async (o: CommonOptions & { username: string }) => {
      const username = checkUsername(o.username);
      withLedger(o, (db) => { if (!listAdminAccounts(db).some((a) => a.username === username)) throw new EdgeError(ErrorCode.NOT_FOUND, `no admin account ${username}`, { zh: `没有管理账号 ${username}` }); }); // before the password is asked
      const passwordHash = await hashPassword(await readPassword('新密码 New password: '));
      withLedger(o, (db) => inTransaction(db, 'setting an admin password', () => {
        setAdminPassword(db, username, passwordHash);
        auditCli(db, 'admin password', { action: 'account.password', target: username, before: null, after: { sessions: 'ended' } });
      }));
      print(o, { username, ok: true }, `已重设密码 password set for ${username}; its sessions are ended`);
    });
  withCommon(admin.command('unlock').description('lift a lock after wrong passwords / 解除锁定'), { json: true })
    .requiredOption('--username <name>', 'the account\'s user name / 用户名')
    .action((o: CommonOptions & { username: string }) => {
      const username = checkUsername(o.username);
      const a = withLedger(o, (db) => inTransaction(db, 'unlocking an admin account', () => {
        const before = listAdminAccounts(db).find((x) => x.username === username);
        const after = unlockAdminAccount(db, username);
        auditCli(db, 'admin unlock', { action: 'account.unlock', target: username, before: { locked_until: before?.lockedUntil ?? null }, after: { locked_until: null } });
        return after;
      }));
      print(o, { username: a.username, locked_until: a.lockedUntil }, `已解除锁定 unlocked ${a.username}`);
    });
}
