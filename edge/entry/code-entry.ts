/**
 * Entry by card or QR code: a line from the scanner → the credential checked (a passbook card
 * in the ledger, or a signed QR slip) → the door's admission (admission.ts) → unlock. Unknown
 * card numbers pause card scans for a while, so a brute force stalls. After a card or QR code
 * opened the door, card-confirmed learning (card-learning.ts) may keep a pending template of the
 * uncertain face that came before it.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { isEdgeError } from '../errors.ts';
import type { Db } from '../ledger/db.ts';
import { qrTokenVisit, releaseQrToken } from '../ledger/qr-slips.ts';
import type { DoorAdmission, EntryDecision, SingleUse } from './admission.ts';
import type { CardLearning } from './card-learning.ts';
import type { EntryConfig } from './config.ts';
import { getVillager } from '../ledger/villagers.ts';
import { CardThrottle, classifyScan, consumeQrToken, getCard, maskCard, QR_NO_VILLAGE, qrVillageRefusal, verifyQrToken } from './credentials.ts';
import type { EntryMethod } from './decision.ts';

export interface CodeEntryDeps {
  db: Db;
  config: Pick<EntryConfig, 'qr_max_lifetime_s' | 'qr_clock_skew_s'>;
  /** Verifies QR slips; null: QR codes are refused. */
  qrPublicKey: KeyObject | null;
  /** The store's village (store.village): a QR code issued for another village is refused. */
  village?: string | undefined;
  door: DoorAdmission;
  /** Card-confirmed learning (entry.adapt.card.enabled), told which card or QR code opened the door. */
  cardLearning?: CardLearning | undefined;
  logger: Logger;
  now: () => number;
}

export class CodeEntry {
  private readonly cardThrottle = new CardThrottle();

  constructor(private readonly deps: CodeEntryDeps) {}

  /** A line from the QR/card scanner. Resolves with the decision (also recorded and emitted by the door). */
  async present(line: string): Promise<EntryDecision> {
    const { db, door, logger } = this.deps;
    const now = (): number => this.deps.now();
    const arrivedAt = performance.now();
    const code = classifyScan(line);
    const refuse = (by: EntryMethod, detail: Record<string, unknown>, villagerId: string | null = null): EntryDecision =>
      door.record({ at: now(), by, decision: 'invalid_code', villagerId, unlocked: false, detail, latencyMs: null });
    switch (code.kind) {
      case 'garbage':
        return refuse('card', { why: 'unreadable code' });
      case 'card': {
        // only the masked number is shown or stored: the full one is the credential itself
        const masked = maskCard(code.cardNo);
        const gate = this.cardThrottle.gate(now());
        if (!gate.open) return refuse('card', { why: 'card scans paused', card: masked, retryAfterS: Math.ceil(gate.retryAfterMs / 1000) });
        let card: ReturnType<typeof getCard>;
        try {
          card = getCard(db, code.cardNo);
        } catch (err) {
          // a disk error is not an unknown card: no pause, and the same 'ledger' fault as the face's
          return door.ledgerFault({ at: now(), by: 'card', villagerId: null, detail: { card: masked } }, 'the card could not be looked up', err, 'invalid_code');
        }
        if (!card) {
          const pause = this.cardThrottle.unknown(now());
          if (pause) logger.warn({ event: 'card_scans_paused', ...pause }, 'too many unknown card numbers: card scans paused / 未知卡号过多，暂停刷卡');
          return refuse('card', { why: 'unknown card', card: masked });
        }
        if (card.revokedAt) return refuse('card', { why: 'card revoked', card: masked, revokedAt: card.revokedAt }, card.villagerId);
        return this.learnFrom(await door.admit('card', card.villagerId, { card: masked }, arrivedAt));
      }
      case 'qr': {
        const key = this.deps.qrPublicKey;
        if (!key) return refuse('qr', { why: 'no QR public key configured' });
        try {
          const claims = verifyQrToken(code.token, key, { maxLifetimeS: this.deps.config.qr_max_lifetime_s, clockSkewS: this.deps.config.qr_clock_skew_s }, now());
          // one town ledger signs every village's codes: another village's villager of the same id is someone else
          const otherVillage = qrVillageRefusal(claims, this.deps.village, claims.vil === undefined ? undefined : this.villageOf(claims.vid));
          if (otherVillage === QR_NO_VILLAGE) {
            logger.warn({ event: 'qr_no_village', storeVillage: this.deps.village ?? null }, 'QR code refused: it names no village (a village ledger older than this store issued it); the villager should refresh the phone page for a new code, and if it happens again the village ledger needs updating / 二维码没有注明所属村庄（村账本版本比门店旧），请村民刷新手机页面重新出示；如仍如此，请升级村账本');
            return refuse('qr', { why: otherVillage });
          }
          if (otherVillage) {
            logger.warn({ event: 'qr_other_village', village: claims.vil, storeVillage: this.deps.village ?? null }, 'QR code refused: it was issued for a villager of another village / 二维码属于别村村民，本店不能使用');
            return refuse('qr', { why: otherVillage, village: claims.vil });
          }
          // used up only with the admission, and given back if the door stays shut: a "store
          // busy" or a failed unlock must not eat a printed slip (a visit cancelled because its
          // door never opened gives its slips back too: releaseVisitQrTokens)
          let used = false;
          const slip: SingleUse = {
            consume: (sessionId) => { consumeQrToken(db, claims, now(), sessionId ?? null); used = true; },
            // only what this scan used up: a slip shown again for its own visit stays that visit's
            giveBack: () => { if (used) releaseQrToken(db, claims.tid); used = false; },
            usedFor: () => qrTokenVisit(db, claims.tid) ?? null,
          };
          return await this.learnFrom(await door.admit('qr', claims.vid, { token: claims.tid }, arrivedAt, slip));
        } catch (err) {
          if (isEdgeError(err, 'TOKEN_INVALID')) return refuse('qr', { why: (err.details?.why as string | undefined) ?? err.message });
          throw err;
        }
      }
    }
  }

  /** The village of the store's villager `id`; undefined if unknown, or unread (the admission reads the ledger next, and reports its failure). */
  private villageOf(id: string): string | undefined {
    try {
      return getVillager(this.deps.db, id)?.village;
    } catch {
      return undefined;
    }
  }

  /** After a card or QR code opened the door: card-confirmed learning, if on; a failure is logged, the door goes on. */
  private async learnFrom(d: EntryDecision): Promise<EntryDecision> {
    const cl = this.deps.cardLearning;
    if (!cl || !d.unlocked || !d.villagerId || (d.by !== 'card' && d.by !== 'qr')) return d;
    const logger = this.deps.logger;
    try {
      const r = await cl.admitted(d.villagerId, d.by);
      if (r.kept) logger.info({ event: 'face_pending', villagerId: d.villagerId, pending: r.pending }, 'face template kept for a maintainer to confirm / 人脸模板待维护员确认');
      else if (r.why !== 'no_uncertain_visit') logger.info({ event: 'face_pending_refused', villagerId: d.villagerId, why: r.why }, 'no face template kept from this card / 未保留待确认人脸模板');
    } catch (err) {
      logger.warn({ err: (err as Error).message, villagerId: d.villagerId }, 'card-confirmed learning failed / 刷卡确认学习失败');
    }
    return d;
  }
}
