/* global document, window */
/**
 * The mark of a date that is the ledger's receipt, not the store's time, and the note that says
 * what it means, in both languages: the store's clock ran ahead (the ledger takes no store's time
 * beyond its receipt plus the allowed skew: store-time.ts), so when the entry was really made is
 * known only to be no later. The API says so per line (`store_clock_ahead`); the passbook
 * (passbook.js) and the phone page's history (villager.js) mark the line and show the note.
 */
'use strict';

window.LedgerClockMark = {
  /** The mark to put after a line's date (`.clock-mark`, under it). */
  mark() {
    const mark = document.createElement('small');
    mark.className = 'clock-mark';
    mark.textContent = '※收到日 received';
    return mark;
  },
  /** Fills `note` (an element of the page, hidden) with what the mark means; shown only when some line of `lines` is marked. */
  note(note, lines) {
    note.replaceChildren('※收到日：该店时钟快了，这一天是村账本收到这笔记录的日期，不是店里的时间。', document.createElement('br'),
      '※ received: the store\'s clock was ahead, so the date is when the ledger received the entry, not the store\'s time.');
    note.hidden = !lines.some((l) => l.store_clock_ahead);
  },
};
