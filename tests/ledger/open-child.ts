/** Child of the concurrent-open test: waits for a shared start time, opens the ledger, reports. */
import { openLedger, closeLedger } from '../../edge/ledger/db.ts';

const [file, startAt] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {
  // spin: all children open within the same millisecond or so
}
try {
  const db = openLedger(file!);
  process.stdout.write(`ok ${String(db.pragma('user_version', { simple: true }))}\n`);
  closeLedger(db);
} catch (err) {
  process.stdout.write(`failed ${(err as { code?: string }).code ?? ''} ${(err as Error).message}\n`);
}
