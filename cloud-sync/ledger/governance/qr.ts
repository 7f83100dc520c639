/**
 * The store-door QR code on a villager's phone (拿着手机扫一扫): a short-lived Ed25519 token in
 * the store's own format (`VSQ1.…`, edge/entry/credentials.ts, made by the same function the
 * store's tests use, so the two cannot drift apart), signed with the ledger's QR key. The
 * stores trust its public key (`entry.qr_public_key_file`, from `GET /api/qr-public-key`).
 * The picture is drawn here with `qrcode` (npm) as SVG, so the phone runs no QR library.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import QRCode from 'qrcode';
import { EdgeError, ErrorCode } from '../../../edge/errors.ts';
import { issueQrToken } from '../../../edge/entry/credentials.ts';
import { fieldError } from './rules.ts';

/** Seconds a token lives: long enough to walk to the door, far below the store's 300 s ceiling. */
export const QR_LIFETIME_S = 90;
/** The page fetches a new code this long before the old one expires. */
export const QR_REFRESH_BEFORE_S = 30;

export interface QrIssuer {
  key: KeyObject;
  lifetimeS: number;
}

export function qrIssuer(key: KeyObject, lifetimeS = QR_LIFETIME_S): QrIssuer {
  if (key.asymmetricKeyType !== 'ed25519' || key.type !== 'private') throw new EdgeError(ErrorCode.INVALID_ARGUMENT, 'the QR key must be an Ed25519 private key', { zh: '二维码签名私钥必须是 Ed25519 私钥' });
  return { key, lifetimeS };
}

export function qrPublicPem(q: QrIssuer): string {
  return createPublicKey(q.key).export({ type: 'spki', format: 'pem' }).toString();
}

export const qrNotConfigured = () => fieldError('qr', 'this ledger has no QR signing key (--qr-key-file)', '村账本未配置二维码签名密钥，暂不能出示进门码', 503);

/** A fresh token for `villager` of `village` and its picture; the village is signed in, so a store of another village refuses it. */
export async function villagerQr(q: QrIssuer, village: string, villager: string, nowMs = Date.now()): Promise<{ token: string; svg: string; issued_at: string; expires_at: string; refresh_in_s: number }> {
  const token = issueQrToken(q.key, villager, q.lifetimeS, nowMs, village);
  // Error correction M: a phone screen is clean; the scanner reads it from 10–30 cm.
  const svg = await QRCode.toString(token, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  const iat = Math.floor(nowMs / 1000);
  return {
    token, svg,
    issued_at: new Date(iat * 1000).toISOString(),
    expires_at: new Date((iat + q.lifetimeS) * 1000).toISOString(),
    refresh_in_s: Math.max(5, q.lifetimeS - QR_REFRESH_BEFORE_S),
  };
}
