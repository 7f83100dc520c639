/**
 * What the agent logs of what became of a message from the village ledger (./inbound.ts): a
 * refusal, an overlap, and a large snapshot applied in slices (its start, a failure, and the
 * first snapshot dropped while it is applied: the rest are counted, not logged).
 */
import type { Logger } from '../../edge/log.ts';
import type { InboundOutcome } from './inbound.ts';

export function logOutcome(log: Logger, o: InboundOutcome, topic: string): void {
  if (o.kind === 'overlap') log.debug({ seq: o.seq, why: o.why, topic }, 'sync message already applied');
  else if (o.kind === 'refused') log.warn({ reason: o.reason, why: o.why, topic }, 'sync message refused / 同步消息被拒绝');
  else if (o.kind === 'dropped' && o.first) log.info({ seq: o.seq, why: o.why, topic }, 'a snapshot that arrived while one is being applied is not applied; those after it are only counted (sync counters.dropped) / 快照写入期间收到的快照未写入，其后的只计数');
  else if (o.kind === 'applying') log.info({ seq: o.seq, entries: o.entries, topic }, 'applying the village snapshot in slices / 正在分批写入村账本快照');
  else if (o.kind === 'failed') log.error({ seq: o.seq, why: o.why, topic }, 'applying the village snapshot failed; asking for it again / 写入村账本快照失败，重新请求');
}
