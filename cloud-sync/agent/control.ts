/**
 * The ledger's signed control messages to this store (`down/ack`, `down/beat`): each is checked
 * (schema, then the signature over its fields and this store's address), or refused, counted by
 * reason and logged.
 */
import type { Logger } from '../../edge/log.ts';
import { decode, type RefusalReason } from '../protocol/payloads.ts';
import type { RefusalCounter } from '../protocol/refusals.ts';
import { checkControl, type KeyRing } from '../protocol/sign.ts';
import type { StoreAddress } from '../protocol/topics.ts';

export class ControlInbox {
  constructor(private readonly deps: { address: StoreAddress; keys: () => KeyRing; refusals: RefusalCounter; log: Logger }) {}

  /** The message, or undefined when it is refused and counted. */
  read<T extends { key_id?: string | undefined; sig?: string | undefined }>(payload: Buffer, checker: Parameters<typeof decode<T>>[1], topic: string): T | undefined {
    const msg = decode(payload, checker);
    if (!msg.ok) {
      this.deps.refusals.add('invalid');
      return undefined;
    }
    const bad = checkControl(msg.value, this.deps.address, this.deps.keys());
    return bad ? this.refuse(bad, topic) : msg.value;
  }

  refuse(reason: RefusalReason, topic: string): undefined {
    this.deps.refusals.add(reason);
    this.deps.log.warn({ reason, topic }, 'sync message refused / 同步消息被拒绝');
    return undefined;
  }
}
