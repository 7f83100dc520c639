/**
 * Child process of the crash test: applies entries in a loop and prints each id once its
 * transaction has committed (an "acknowledged" entry). The parent SIGKILLs it at random.
 * It loads its modules first, then waits for `go <start id>` on stdin, so the parent can start
 * the next writer while the current one runs; the start is a little before the last
 * acknowledged id, so replays after a crash are exercised. Stdin closing before `go` (the
 * parent is gone) ends it.
 */
import { openLedger } from '../../edge/ledger/db.ts';
import { applyEntry } from '../../edge/ledger/entries.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';

const [file] = process.argv.slice(2);
const go = await new Promise<string>((resolve) => {
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl >= 0) resolve(buf.slice(0, nl));
  });
  process.stdin.on('end', () => process.exit(0));
});
const m = /^go (\d+)$/.exec(go);
if (!m) throw new Error(`expected "go <start id>" on stdin, got ${JSON.stringify(go)}`);
const db = openLedger(file!);
if (!getVillager(db, 'crash')) {
  try {
    addVillager(db, { id: 'crash', name: '测试', village: 'test' });
  } catch {
    // added by an earlier run that died before printing; fine
  }
}
let n = Number(m[1]);
process.stdout.write('ready\n');
for (;;) {
  const id = `crash-${n}`;
  const kind = n % 5 === 4 ? 'redemption' : 'award';
  const r = applyEntry(db, { id, villagerId: 'crash', kind, points: kind === 'award' ? 3 : -1, origin: 'store' }, { creditFloor: 0 });
  process.stdout.write(`${r.status === 'applied' ? 'ack' : 'dup'} ${id}\n`);
  n++;
}
