/**
 * Child process of the crash test: applies entries in a loop and prints each id once its
 * transaction has committed (an "acknowledged" entry). The parent SIGKILLs it at random.
 * Starts a little before the last acknowledged id, so replays after a crash are exercised.
 */
import { openLedger } from '../../edge/ledger/db.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';

const [file, startArg] = process.argv.slice(2);
const db = openLedger(file!);
if (!getVillager(db, 'crash')) {
  try {
    addVillager(db, { id: 'crash', name: '测试', village: 'test' });
  } catch {
    // added by an earlier run that died before printing; fine
  }
}
let n = Number(startArg);
process.stdout.write('ready\n');
for (;;) {
  const id = `crash-${n}`;
  const kind = n % 5 === 4 ? 'redemption' : 'award';
  const r = applyEntry(db, { id, villagerId: 'crash', kind, points: kind === 'award' ? 3 : -1, origin: 'store' }, { creditFloor: 0 });
  process.stdout.write(`${r.status === 'applied' ? 'ack' : 'dup'} ${id}\n`);
  n++;
}
