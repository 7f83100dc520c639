/**
 * A store restored from its backup writes rows before the village ledger's first beat says how
 * far it holds the store; those rows then move past what the ledger holds. They used to move past
 * every seq the file had handed out as well, their own seqs included: a copy whose outbox ended at
 * 46, six rows written since (47–52), a ledger holding the store up to 50, and the rows went to
 * 53–58. Seqs 51–52 never existed: the ledger's contiguous_seq stayed 50, it asked the store to
 * resend every heartbeat, and the store sent 53… again each time, for as long as it ran. Rows
 * written since a restore were never sent (nothing goes out before that first beat), so their
 * seqs may be taken again: they now follow the ledger's contiguous seq, with no gap.
 */
import { describe, expect, it } from 'vitest';
import { enqueueOutbox, markOutboxAcked, pendingOutbox } from '../../edge/ledger/outbox.ts';
import { settleRollback } from '../../cloud-sync/agent/rollback.ts';
import { outboxRolledBackAt, setOutboxRolledBack } from '../../edge/ledger/sync-state.ts';
import { tempLedger } from '../ledger/helpers.ts';

const at = () => new Date().toISOString();

describe('rows written since a restore, moved past the ledger', () => {
  it('follow the ledger\'s contiguous seq without a gap', () => {
    const l = tempLedger();
    try {
      const row = (sku: string) => enqueueOutbox(l.db, 'product', { op: 'upsert', sku, name: sku, price: 1 }, at());
      row('a');
      const mark = row('b');
      markOutboxAcked(l.db, mark, at());
      setOutboxRolledBack(l.db, mark); // the copy's outbox ended at `mark`
      const since = ['c', 'd', 'e', 'f', 'g', 'h'].map(row); // written since, not sent
      const ledgerHolds = mark + 4; // the old timeline reached the ledger up to here
      const moved = settleRollback(l.db, ledgerHolds, false, true);
      expect(moved).toEqual({ rows: 6, from: ledgerHolds + 1, old: since });
      expect(pendingOutbox(l.db).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6].map((i) => ledgerHolds + i));
      expect(outboxRolledBackAt(l.db)).toBeUndefined();
      // the next row follows them
      expect(row('i')).toBe(ledgerHolds + 7);
    } finally {
      l.cleanup();
    }
  });
});
