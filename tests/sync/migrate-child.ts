/**
 * A ledger process that only migrates, for the concurrent-migration test: argv sqliteFile, or
 * DATABASE_URL and a schema. Says `ready` once its code is loaded and migrates when told `go` on
 * stdin, so that several start migrating at the same moment; then says `ok` or the error.
 */
import { migrateLedger } from '../../cloud-sync/ledger/migrations.ts';
import { openLedgerDb } from '../../cloud-sync/ledger/sql.ts';

const [sqliteFile, databaseUrl, pgSchema] = process.argv.slice(2) as [string, string | undefined, string | undefined];
const db = openLedgerDb({ sqliteFile, databaseUrl: databaseUrl || undefined, ...(pgSchema ? { pgSchema } : {}) });
process.stdin.once('data', () => {
  migrateLedger(db).then(
    () => process.stdout.write('ok\n'),
    (err: Error) => process.stdout.write(`${err.message}\n`),
  ).finally(() => void db.close().then(() => process.exit(0)));
});
process.stdout.write('ready\n');
