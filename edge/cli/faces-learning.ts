/**
 * `store-edge faces learning --villager ID [--allow [--guardian NAME] | --refuse | --forget |
 * --confirm PENDING | --reject PENDING]`: learning at the door (entry.adapt,
 * edge/entry/door-learning.ts, and card-confirmed learning, edge/entry/card-learning.ts) for one
 * villager. Without an action it lists the villager's templates by origin, the pending ones
 * waiting for a maintainer, and whether their consent covers learning.
 * Every change is audited (actor `cli`). A running door takes the change at its next start.
 */
import type { Command } from 'commander';
import { resolveEntryConfig } from '../entry/config.ts';
import { confirmPendingTemplate, listPending, rejectPendingTemplate } from '../entry/pending-review.ts';
import { EdgeError } from '../errors.ts';
import { commandTemplateKey } from '../keys.ts';
import { closeLedger, openLedger } from '../ledger/db.ts';
import { holdForCommand } from '../ledger-holds.ts';
import { faceConsentOf, guardianConsent } from '../ledger/face-templates.ts';
import { allowLearning, forgetLearned, learningConsentOf, refuseLearning, templateRowsOf } from '../ledger/face-learning.ts';
import { configFrom, existingLedger, parseIntOption, print, withCommon, type CommonOptions } from './context.ts';

interface LearningOptions extends CommonOptions { villager: string; allow?: boolean; refuse?: boolean; forget?: boolean; guardian?: string; confirm?: string; reject?: string }

export function registerFacesLearning(faces: Command): void {
  withCommon(faces.command('learning'), { json: true })
    .description('learning at the door for one villager: list, allow, refuse, forget / 门口学习：查看、同意、拒绝、删除所学模板')
    .requiredOption('--villager <id>', 'villager id / 村民编号')
    .option('--allow', 'record the villager\'s consent to learning at the door / 登记同意门口学习')
    .option('--guardian <name>', 'with --allow: consent given by a guardian / 监护人代为同意')
    .option('--refuse', 'withdraw that consent and delete what was learned / 撤回同意并删除所学模板')
    .option('--forget', 'delete what was learned (and what is pending), keep the consent / 删除所学及待确认模板')
    .option('--confirm <pending>', 'confirm a pending template (card-confirmed learning): it takes part in matching from the door\'s next start / 确认待确认模板')
    .option('--reject <pending>', 'reject (delete) a pending template / 拒绝并删除待确认模板')
    .action(async (o: LearningOptions) => {
      const actions = [o.allow, o.refuse, o.forget, o.confirm !== undefined, o.reject !== undefined].filter(Boolean).length;
      if (actions > 1) throw new EdgeError('INVALID_ARGUMENT', 'give at most one of --allow, --refuse, --forget, --confirm, --reject', { zh: '--allow、--refuse、--forget、--confirm、--reject 只能选一个' });
      const pendingId = (name: string, v: string | undefined): number | undefined => {
        if (v === undefined) return undefined;
        const n = parseIntOption(name, v);
        if (n < 1) throw new EdgeError('INVALID_ARGUMENT', `${name} must be a pending template's number (see faces learning --villager ID), got ${v}`, { zh: `${name} 须为待确认模板的编号` });
        return n;
      };
      const toConfirm = pendingId('--confirm', o.confirm);
      const toReject = pendingId('--reject', o.reject);
      if (o.guardian !== undefined && !o.allow) throw new EdgeError('INVALID_ARGUMENT', '--guardian goes with --allow', { zh: '--guardian 须与 --allow 一起使用' });
      const config = configFrom(o);
      const file = existingLedger(config);
      const release = holdForCommand(config.data_dir); // no restore while this writes (edge/ledger-holds.ts)
      const db = openLedger(file);
      try {
        const v = faceConsentOf(db, o.villager);
        if (!v) throw new EdgeError('UNKNOWN_VILLAGER', `no villager ${o.villager}`, { zh: `没有村民 ${o.villager}` });
        let done = '';
        if (o.allow) {
          // learning adds face templates: only on top of a face consent and an enrolment
          if (v.faceConsentAt === null) throw new EdgeError('NO_CONSENT', `villager ${o.villager} has not consented to face recognition; enrol with --consent first`, { zh: '该村民未登记人脸识别同意，请先录入人脸' });
          // Recorded as the consent to recognition is (`guardian:NAME`), and a blank name refused.
          allowLearning(db, o.villager, o.guardian === undefined ? 'self' : guardianConsent(o.guardian, '--guardian'), 'cli', new Date().toISOString());
          done = 'consent to learning recorded / 已登记同意门口学习';
        } else if (o.refuse) {
          done = `consent to learning withdrawn, ${refuseLearning(db, o.villager, 'cli')} learned templates deleted / 已撤回同意并删除所学模板`;
        } else if (o.forget) {
          done = `${forgetLearned(db, o.villager, 'cli')} learned templates deleted / 已删除所学模板`;
        } else if (toConfirm !== undefined) {
          const entry = resolveEntryConfig((config as { entry?: unknown }).entry);
          const key = commandTemplateKey({ ...config, entry });
          const r = await confirmPendingTemplate(db, key, entry, o.villager, toConfirm, 'cli', new Date());
          done = `pending template ${toConfirm} confirmed as learned template #${r.template}${r.replaced === null ? '' : ` (replacing #${r.replaced})`}; the door uses it from its next start / 已确认，门禁重启后生效`;
        } else if (toReject !== undefined) {
          rejectPendingTemplate(db, o.villager, toReject, 'cli', new Date());
          done = `pending template ${toReject} rejected and deleted / 已拒绝并删除`;
        }
        const rows = templateRowsOf(db, o.villager);
        const consent = learningConsentOf(db, o.villager);
        const learned = rows.filter((r) => r.origin === 'learned').map((r) => ({ id: r.id, created_at: r.created_at }));
        const pending = listPending(db, o.villager, new Date());
        const out = { villager: o.villager, learning_consent: consent, enrolled: rows.length - learned.length, learned, pending };
        const text = [
          ...(done ? [done] : []),
          `${o.villager}: ${out.enrolled} enrolled templates 录入模板, ${learned.length} learned at the door 门口学习; consent to learning 同意门口学习: ${consent ? `${consent.at} (${consent.by})` : 'no 否'}`,
          ...learned.map((l) => `  learned 学习于 ${l.created_at} (#${l.id})`),
          ...pending.map((p) => `  pending 待确认 #${p.id}: ${p.created_at} by ${p.credential}, distance ${p.distance} (enrolment ${p.enrolled_distance}), margin ${p.margin}; expires 过期 ${p.expires_at}`),
        ].join('\n');
        print(o, out, text);
      } finally {
        closeLedger(db);
        release();
      }
    });
}
