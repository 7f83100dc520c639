/** The process runner's observer reads the daemon's log lines by their `event` field, never by their text. */
import { describe, expect, it } from 'vitest';
import { observeLogLine, StoreObservations } from '../../harness/scenario/world.ts';

describe('observeLogLine', () => {
  it('records door decisions, receipts and announcements by their event field', () => {
    const seen = new StoreObservations();
    const receipts: string[] = [];
    seen.onReceipt((r) => receipts.push(r.session));
    observeLogLine(seen, { level: 30, event: 'entry_decision', decision: 'store_busy', by: 'card', villagerId: 'li', unlocked: false, msg: 'entry decision' });
    observeLogLine(seen, { level: 30, event: 'announce', reason: 'welcome', villagerId: 'zhang', msg: '张三，欢迎光临' });
    observeLogLine(seen, { level: 30, event: 'receipt', sessionId: 's1', villagerId: 'zhang', settleMs: 2.5, msg: '张三，您好！' });
    expect(seen.decisions).toEqual([{ decision: 'store_busy', by: 'card', villagerId: 'li', unlocked: false }]);
    expect(seen.announcements).toEqual([{ reason: 'welcome', villager: 'zhang', text: '张三，欢迎光临' }]);
    expect(seen.receipts).toEqual([{ session: 's1', villager: 'zhang', text: '张三，您好！', settleMs: 2.5 }]);
    expect(receipts).toEqual(['s1']);
  });

  it('ignores lines without an event, whatever their text says', () => {
    const seen = new StoreObservations();
    observeLogLine(seen, { level: 30, msg: 'entry decision', decision: 'matched', by: 'card', villagerId: 'zhang', unlocked: true });
    observeLogLine(seen, { level: 30, msg: 'admin page / 管理页面: http://127.0.0.1:1', url: 'http://127.0.0.1:1' });
    observeLogLine(seen, { level: 30, event: 'cart', msg: 'cart' });
    expect(seen.decisions).toEqual([]);
    expect(seen.receipts).toEqual([]);
    expect(seen.announcements).toEqual([]);
  });
});
