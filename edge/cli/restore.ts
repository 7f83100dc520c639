/**
 * `store-edge restore FILE --yes`: put a backup copy in place of the ledger. It takes the data
 * folder's lock first, so it refuses while a daemon or a command on the ledger runs (and none
 * starts meanwhile, edge/ledger-holds.ts); the
 * ledger it replaces is kept beside it. A progress bar on a terminal (the checks, the copy).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ensureDataDir } from '../data-dir.ts';
import { lockForRestore } from '../ledger-holds.ts';
import { verifyCopy } from '../ledger/backup.ts';
import { RestoreInterrupted, restoreCopyInterruptible } from '../ledger/restore-copy.ts';
import { describeUnsent } from '../ledger/restore-unsent.ts';
import { recordedStoreOf, sameStore } from '../ledger/store-identity.ts';
import { EdgeError, ErrorCode, isEdgeError } from '../errors.ts';
import { configFrom, ledgerPath, print, withCommon, type CommonOptions } from './context.ts';
import { progressBar } from '../progress.ts';
import { keyPaths } from '../keys.ts';
import { placeKeys, planKeys, syncPublicKey } from '../restore-keys.ts';

export function registerRestoreCommand(program: Command): void {
  withCommon(
    program
      .command('restore')
      .description('restore the ledger from a backup copy (the daemon must be stopped) / 从备份恢复账本（须先停止守护进程）')
      .argument('<file>', 'a copy made by the backup job (backups/ledger-*.sqlite) / 备份副本')
      .option('--yes', 'confirm: the current ledger is replaced (and kept beside it) / 确认替换当前账本')
      .option('--fresh', 'restore into a data folder without a ledger (a PC installed afresh) / 恢复到尚无账本的数据目录（新装的电脑）')
      .option('--discard-unsent', 'restore even though the current ledger holds rows the village ledger never received (they stay in the kept ledger) / 即使当前账本中有尚未发送到村账本的记录也恢复（这些记录保留在旁边的原账本中）')
      .option('--keys <dir>', "also put the backup's keys (jobs.backup.key_dir: face-templates.key, sync-store-key.pem) where the daemon reads them / 同时把备份的密钥放回守护进程读取的位置")
      .option('--other-store', "restore a copy recorded as another store's (a store moved to a new id or village) / 允许恢复记录为其他门店的副本"),
    { json: true },
  ).action(async (file: string, opts: CommonOptions & { yes?: boolean; otherStore?: boolean; fresh?: boolean; discardUnsent?: boolean; keys?: string }) => {
    const config = configFrom(opts);
    const source = path.resolve(file);
    if (!existsSync(source)) throw new EdgeError(ErrorCode.NOT_FOUND, `no such backup file: ${source}`, { zh: `找不到备份文件 ${source}` });
    // a folder (the backups folder itself, a mistyped path) is bad input, not a disk error
    if (!statSync(source).isFile()) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${source} is not a backup file (a folder?); give one copy, e.g. ${path.join(source, 'ledger-<UTC time>.sqlite')}`, {
        zh: `${source} 不是备份文件（是文件夹？）；请给出一个副本，例如 ${path.join(source, 'ledger-<UTC时间>.sqlite')}`,
        details: { field: 'file', path: source },
      });
    }
    const target = ledgerPath(config);
    try {
      verifyCopy(source);
    } catch (err) {
      // a file that is not a whole ledger of ours is bad input, not a failure of the restore
      if (isEdgeError(err) && (err.code === ErrorCode.DB_CORRUPT || err.code === ErrorCode.DB_NOT_OURS || err.code === ErrorCode.DB_NEWER_THAN_CODE)) {
        throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${source} cannot be restored: ${err.message}`, { zh: `${source} 不能用于恢复：${err.zh ?? ''}`, cause: err });
      }
      throw err;
    }
    // a folder without a ledger is a mistyped path more often than a new PC: that needs --fresh.
    // Not a first start: it would make a new, empty ledger (which may sync) before the copy.
    if (!opts.fresh && !existsSync(target)) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `there is no store ledger at ${target}: check --data-dir / --config (data_dir); restoring onto a new PC (installed afresh, never started)? add --fresh, and do not start the store before the restore`, {
        zh: `${target} 没有门店账本：请检查 --data-dir / --config（data_dir）；若是恢复到新装的电脑（从未启动过门店），请加 --fresh，恢复之前不要启动门店`,
        details: { path: target },
      });
    }
    const theirs = recordedStoreOf(source);
    const ours = { id: config.store.id, village: config.store.village };
    if (theirs && !sameStore(theirs, ours) && !opts.otherStore) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${source} is a copy of store ${theirs.id} (village ${theirs.village}), not of this store ${ours.id} (village ${ours.village}); check the file and the config, or add --other-store if it really is to become this store's ledger`, {
        zh: `${source} 是门店 ${theirs.id}（村 ${theirs.village}）的备份，不是本门店 ${ours.id}（村 ${ours.village}）的；请核对文件和配置，确要用它请加 --other-store`,
        details: { field: 'file', copy_store: theirs, store: ours },
      });
    }
    const unrecorded = theirs
      ? ''
      : "\n注意：该副本没有记录所属门店（旧版程序所做），请确认它是本门店的 / warning: the copy does not record which store it belongs to (made by an older program); make sure it is this store's";
    // checked before anything is replaced: a key that cannot go in place stops the restore
    const keyPlan = opts.keys === undefined ? undefined : planKeys(config, opts.keys);
    if (!opts.yes) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `restoring replaces the ledger ${target} with ${source}; add --yes to confirm (the current ledger is kept beside it)`, {
        zh: `恢复将用 ${source} 替换账本 ${target}；确认请加 --yes（当前账本会保留在旁边）`,
      });
    }
    ensureDataDir(config.data_dir);
    const release = lockForRestore(config.data_dir);
    let interrupted: string | undefined;
    try {
      // the checks run synchronously; Ctrl-C or SIGTERM during the copy stops it, the partial copy removed
      const bar = progressBar('恢复 restoring', { enabled: !opts.json, counts: false });
      const stop = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => stop.abort(sig);
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      let result;
      try {
        result = await restoreCopyInterruptible(source, target, new Date(), { progress: (done, total) => bar.update(done, total), discardUnsent: opts.discardUnsent === true, signal: stop.signal });
      } catch (err) {
        if (!(err instanceof RestoreInterrupted)) throw err;
        interrupted = err.signal;
        return;
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        bar.stop();
      }
      const { kept, restored, withdrawals: w, unsent } = result;
      // rows the village ledger never received: discarded on purpose, or unknown when the replaced ledger could not be read
      const lost = !unsent ? '' : !unsent.read
        ? '\n注意：原账本无法读取，无法确认是否有尚未发送到村账本的记录，请在管理页核对同步 / warning: the replaced ledger could not be read, so rows it had not sent to the village ledger cannot be told; check the sync on the admin page'
        : unsent.rows.length > 0 ? `\n注意：已按 --discard-unsent 放弃 ${describeUnsent(unsent.rows).zh} 未发送的记录（保留在原账本中） / warning: ${describeUnsent(unsent.rows).en} never sent to the village ledger were discarded (--discard-unsent; kept in the previous ledger)` : '';
      // consent withdrawn since the copy stays withdrawn; when the replaced ledger could not be read, a person must check
      const consent = !w ? '' : !w.read
        ? '\n注意：原账本无法读取，备份之后撤回的人脸同意未能带入，请人工核对 / warning: the replaced ledger could not be read, so consent withdrawn after this copy was taken could not be carried over; check the villagers who withdrew since'
        : w.face.length + w.learning.length > 0 ? `\n备份之后撤回的同意已保留 consent withdrawn since the copy kept withdrawn: face ${w.face.join(', ') || '-'}; learning ${w.learning.join(', ') || '-'}` : '';
      const keys = keyPlan ? placeKeys(keyPlan) : undefined;
      const publicKey = keyPlan ? syncPublicKey(keyPlan) : undefined;
      const keyLines = keys ? keys.map((k) => `\n密钥 key ${k.to} ← ${k.from}${k.action === 'already_there' ? '（已在 already there）' : ''}`).join('') + (publicKey ? `\n本店同步公钥（村账本须登记的）/ the store's sync public key (the village ledger must hold it):\n${publicKey.trim()}` : '') : '';
      const syncKeyFile = keyPaths(config).syncStore.file;
      const noKeys = keys || existsSync(syncKeyFile) ? '' : `\n注意：未恢复密钥，启动时会生成新的同步密钥 ${syncKeyFile}，村账本将拒收其签名，直到登记新公钥；请用 --keys 备份密钥文件夹（jobs.backup.key_dir）再恢复一次 / warning: no keys restored: the store will make a new sync key ${syncKeyFile} at start, whose signatures the village ledger refuses until the new public key is registered; restore again with --keys <the backup's keys folder, jobs.backup.key_dir> (docs/operations-backups.md)`;
      print(opts, { restored: restored.file, from: source, schemaVersion: restored.schemaVersion, kept, withdrawals: w, unsent, copy_store: theirs, keys: keys ?? null, sync_public_key: publicKey ?? null }, `已恢复 restored ${target} ← ${source}${kept.length ? `\n原账本保留为 previous ledger kept as: ${kept.join(', ')}` : ''}${keyLines}${consent}${lost}${unrecorded}${noKeys}`);
    } finally {
      release();
      if (interrupted) {
        process.stderr.write(`恢复已中断，账本未被替换，未完成的副本已删除 / the restore was interrupted (${interrupted}); the ledger was not replaced and the partial copy was removed\n`);
        // the signal again, now without a handler: the shell sees the usual exit (130 for Ctrl-C)
        process.kill(process.pid, interrupted);
      }
    }
  });
}
