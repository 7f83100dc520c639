/** Who a store is to the broker and the village ledger: its MQTT client id and its signing key. */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { newKeyPair, privateEd25519, type SigningKey } from '../protocol/sign.ts';
import type { StoreAddress } from '../protocol/topics.ts';

/**
 * The store's MQTT client id: its broker session (queued messages while away) is kept under it.
 * Joined by `:`, which village and store ids cannot hold (`[A-Za-z0-9_.-]`), so two stores never
 * share one: with `-`, village `qianjin-2` store `shop` and village `qianjin` store `2-shop` were
 * both `store-qianjin-2-shop`, and each would push the other off the broker.
 */
export const storeClientId = (a: StoreAddress): string => `store:${a.village}:${a.store}`;

/**
 * The store's signing key, created on first start (0600, beside the ledger file); an existing
 * one readable by others is made owner-only (0600) before it is read.
 */
export function loadOrCreateStoreKey(dataDir: string, keyId: string, keyFile?: string): SigningKey {
  const file = keyFile ?? path.join(dataDir, 'sync-store-key.pem');
  if (!existsSync(file)) writeFileSync(file, newKeyPair().privatePem, { mode: 0o600, flag: 'wx' });
  else if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return privateEd25519(keyId, readFileSync(file, 'utf8'));
}
