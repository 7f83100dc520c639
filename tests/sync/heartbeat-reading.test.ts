import { describe, expect, it } from 'vitest';
import { readHeartbeat } from '../../cloud-sync/ledger/control.ts';
import type { Heartbeat } from '../../cloud-sync/protocol/payloads.ts';

const now = new Date('2026-12-01T08:00:00.000Z');
const hb = (over: Partial<Heartbeat>): Heartbeat => ({ at: now.toISOString(), outbox_pending: 0, last_acked_seq: 5, inbound_seq: 10, refused: {}, ...over });

describe('what the ledger makes of a heartbeat', () => {
  it('a store level with the stream and with what the ledger holds is neither behind nor ahead', () => {
    expect(readHeartbeat({ behindSince: null, contiguousSeq: 5 }, 10, hb({}), now, 60_000)).toEqual({ behindSince: null, behindLong: false, ahead: false, streamAhead: false });
  });

  it('a store that acknowledged rows the ledger does not hold (a ledger restored from an older backup) is ahead', () => {
    expect(readHeartbeat({ behindSince: null, contiguousSeq: 4 }, 10, hb({ last_acked_seq: 5 }), now, 60_000).ahead).toBe(true);
    // rows sent and not yet acknowledged are not "ahead": the store still retransmits them
    expect(readHeartbeat({ behindSince: null, contiguousSeq: 5 }, 10, hb({ last_acked_seq: 5, outbox_pending: 3 }), now, 60_000).ahead).toBe(false);
  });

  it('a store that applied village seqs the ledger has not handed out (a ledger restored from an older backup) is ahead of the stream', () => {
    expect(readHeartbeat({ behindSince: null, contiguousSeq: 5 }, 9, hb({ inbound_seq: 10 }), now, 60_000)).toEqual({ behindSince: null, behindLong: false, ahead: false, streamAhead: true });
  });

  it('behind the stream: noted at once, counted only after the bound, and the clock restarts then', () => {
    const first = readHeartbeat({ behindSince: null, contiguousSeq: 5 }, 12, hb({}), now, 60_000);
    expect(first).toEqual({ behindSince: now.toISOString(), behindLong: false, ahead: false, streamAhead: false });
    const later = new Date(now.getTime() + 60_000);
    const second = readHeartbeat({ behindSince: first.behindSince, contiguousSeq: 5 }, 12, hb({}), later, 60_000);
    expect(second).toEqual({ behindSince: later.toISOString(), behindLong: true, ahead: false, streamAhead: false });
    // level again: behind no more
    expect(readHeartbeat({ behindSince: second.behindSince, contiguousSeq: 5 }, 12, hb({ inbound_seq: 12 }), later, 60_000).behindSince).toBeNull();
  });
});
