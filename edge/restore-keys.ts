/**
 * `store-edge restore … --keys DIR`: the keys the backup job copied to `jobs.backup.key_dir`
 * (the face-template key and the store's sync signing key) put back where the daemon reads them
 * (edge/keys.ts keyPaths: keys_dir, else $CREDENTIALS_DIRECTORY, else the data folder). Checked
 * before the ledger is replaced (`planKeys`), written after it (`placeKeys`); a key is never
 * written over a different one (a store with two keys signs rows the ledger refuses).
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import path from 'node:path';
import type { Config } from './config/schema.ts';
import { EdgeError, ErrorCode } from './errors.ts';
import { keyPaths, KEY_NAMES } from './keys.ts';
import { writeKeyFile } from './key-file.ts';
import { KEY_BYTES } from './entry/templates.ts';

export interface KeyToPlace { key: 'faceTemplates' | 'syncStore'; from: string; to: string; bytes: Buffer; already: boolean }

/** The keys in `dir` and where each goes; refuses (exit 2) a folder holding neither, or a different key already in place. */
export function planKeys(config: Config, dir: string, env: NodeJS.ProcessEnv = process.env): KeyToPlace[] {
  const from = path.resolve(dir);
  if (!existsSync(from) || !statSync(from).isDirectory()) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--keys ${from} is not a folder: give the backup's keys folder (jobs.backup.key_dir, by default data_dir/backup-keys)`, {
      zh: `--keys ${from} 不是文件夹：请给出备份的密钥文件夹（jobs.backup.key_dir，默认为 数据目录/backup-keys）`, details: { field: 'keys', path: from },
    });
  }
  const paths = keyPaths(config, env);
  const faceName = path.basename(config.entry.key_file);
  const plan: KeyToPlace[] = [];
  for (const [key, name] of [['faceTemplates', faceName], ['syncStore', KEY_NAMES.syncStore]] as const) {
    const src = path.join(from, name);
    if (!existsSync(src)) continue;
    const bytes = readFileSync(src);
    unusable(key, src, bytes); // before the ledger is replaced: a restore is not left half done
    const to = paths[key].file;
    const already = existsSync(to);
    if (already && !readFileSync(to).equals(bytes)) {
      throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${to} holds another key than ${src}; nothing restored. A store has one ${key === 'syncStore' ? 'sync key (the village ledger refuses rows another signs)' : 'face-template key (templates sealed under another cannot be opened)'}: move ${to} away if the backup's key is the store's, or leave out --keys`, {
        zh: `${to} 中的密钥与 ${src} 不同，未做任何恢复。门店只有一把${key === 'syncStore' ? '同步密钥（村账本拒收另一把签名的记录）' : '人脸模板密钥（另一把加密的模板无法读取）'}：若备份中的才是本店的密钥，请先把 ${to} 移走；否则不要使用 --keys`,
        details: { field: 'keys', path: to, backup: src },
      });
    }
    plan.push({ key, from: src, to, bytes, already });
  }
  if (plan.length === 0) {
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${from} holds neither ${faceName} nor ${KEY_NAMES.syncStore}: give the backup's keys folder (jobs.backup.key_dir, by default data_dir/backup-keys)`, {
      zh: `${from} 中既没有 ${faceName} 也没有 ${KEY_NAMES.syncStore}：请给出备份的密钥文件夹（jobs.backup.key_dir，默认为 数据目录/backup-keys）`, details: { field: 'keys', path: from },
    });
  }
  return plan;
}

/** Write the planned keys (0600, their folder made 0700); returns, per key, where it went. */
export function placeKeys(plan: KeyToPlace[]): Array<{ key: string; from: string; to: string; action: 'placed' | 'already_there' }> {
  return plan.map((k) => {
    if (!k.already) {
      mkdirSync(path.dirname(k.to), { recursive: true, mode: 0o700 });
      writeKeyFile(k.to, k.bytes);
    }
    return { key: k.key, from: k.from, to: k.to, action: k.already ? 'already_there' : 'placed' };
  });
}

/** The public key (PEM) of a store's sync key: what the village ledger must hold for it. */
export function syncPublicKey(plan: KeyToPlace[]): string | undefined {
  const k = plan.find((p) => p.key === 'syncStore');
  return k ? createPublicKey(k.bytes.toString('utf8')).export({ type: 'spki', format: 'pem' }).toString() : undefined;
}

/** Refuses (exit 2) a key the daemon could not use: a face key not of KEY_BYTES, a sync key that is no Ed25519 private key. */
function unusable(key: KeyToPlace['key'], src: string, bytes: Buffer): void {
  let why: { en: string; zh: string } | undefined;
  if (key === 'faceTemplates' && bytes.length !== KEY_BYTES) why = { en: `${bytes.length} bytes, not ${KEY_BYTES}`, zh: `${bytes.length} 字节，应为 ${KEY_BYTES} 字节` };
  if (key === 'syncStore') {
    try {
      if (createPrivateKey(bytes).asymmetricKeyType !== 'ed25519') why = { en: 'not an Ed25519 key', zh: '不是 Ed25519 密钥' };
    } catch {
      why = { en: 'not a private key in PEM', zh: '不是 PEM 格式的私钥' };
    }
  }
  if (!why) return;
  throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `${src} cannot be the store's ${key === 'syncStore' ? 'sync key' : 'face-template key'} (${why.en}); nothing restored. Give the backup's keys folder (jobs.backup.key_dir)`, {
    zh: `${src} 不能作为本店的${key === 'syncStore' ? '同步密钥' : '人脸模板密钥'}（${why.zh}），未做任何恢复。请给出备份的密钥文件夹（jobs.backup.key_dir）`, details: { field: 'keys', path: src },
  });
}
