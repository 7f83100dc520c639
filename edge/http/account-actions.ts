/**
 * Admin accounts from the admin page. Only a village admin (村管理员) may add one; a
 * maintainer (门店维护员) gets 403. The first account comes from the setup page or the CLI.
 * A refused form from the page (a mistyped repeat, a name taken) gets the admin page again,
 * the message beside the field and what was typed kept (edge/http/form-refusal.ts).
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { inTransaction, type Db } from '../ledger/db.ts';
import { addAdminAccount, listAdminAccounts, ADMIN_ROLES, type AdminRole } from '../ledger/admin-accounts.ts';
import { appendAudit } from '../ledger/audit.ts';
import { hashPassword } from './passwords.ts';
import { checkAccountFields } from './auth-routes.ts';
import { AccountCreateReply, AccountsReply } from './action-schemas.ts';
import { ErrorResponses } from './schemas.ts';
import { EdgeError, ErrorCode } from '../errors.ts';
import { formErrorHandler, isUrlencodedForm, type PageRenderer } from './form-refusal.ts';
import { systemClock, type Clock } from '../ledger/time.ts';

export function registerAccountActions(scope: FastifyInstance, deps: { db: () => Db; adminPage: PageRenderer; storeName: string; clock?: Clock }): void {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  const clock = deps.clock ?? systemClock;

  app.get('/api/accounts', { schema: { response: { 200: AccountsReply } } }, async () => ({
    items: listAdminAccounts(db()).map((a) => ({ username: a.username, display_name: a.displayName, role: a.role, locked_until: a.lockedUntil, last_login_at: a.lastLoginAt, created_at: a.createdAt })),
    next: null,
  }));

  app.post(
    '/api/accounts',
    {
      errorHandler: formErrorHandler(() => 'account', () => 'username', deps.adminPage, () => '/#accounts', deps.storeName),
      schema: {
        body: Type.Object({
          username: Type.String({ maxLength: 64 }),
          display_name: Type.String({ maxLength: 200 }),
          role: Type.Union(ADMIN_ROLES.map((r) => Type.Literal(r))),
          password: Type.String({ maxLength: 200 }),
          password_confirm: Type.String({ maxLength: 200 }),
          _csrf: Type.Optional(Type.String()),
        }, { additionalProperties: false }),
        response: { 201: AccountCreateReply, ...ErrorResponses },
      },
    },
    async (req, reply) => {
      const actor = req.adminUser!;
      if (actor.role !== 'village_admin') {
        return reply.status(403).send({ error: 'FORBIDDEN', message: 'only a village admin may add admin accounts', zh: '只有村管理员可以添加管理账号' });
      }
      const fields = checkAccountFields(req.body);
      if (Object.keys(fields).length > 0) throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'some fields are not valid', { zh: '部分内容填写有误', details: { fields } });
      const passwordHash = await hashPassword(req.body.password);
      const a = inTransaction(db(), 'adding an admin account from the admin page', () => {
        const added = addAdminAccount(db(), { username: req.body.username, displayName: req.body.display_name.trim(), role: req.body.role as AdminRole, passwordHash }, {}, clock);
        appendAudit(db(), { actor: actor.username, action: 'account.create', target: added.username, before: null, after: { username: added.username, display_name: added.displayName, role: added.role, via: 'admin page' } }, clock);
        return added;
      });
      if (isUrlencodedForm(req)) return reply.redirect('/#accounts', 303);
      return reply.status(201).send({ account: { username: a.username, display_name: a.displayName, role: a.role } });
    },
  );
}
