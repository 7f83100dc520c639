/** A store's sync agent alone in a process, for the SIGKILL test: argv dir village store url ledger-public-pem. */
import path from 'node:path';
import { openLedger } from '../../edge/ledger/db.ts';
import { silentLogger } from '../../edge/log.ts';
import { SyncAgent } from '../../cloud-sync/agent/agent.ts';
import { fastSync } from '../../harness/sync/rig.ts';

const [dir, village, store, url, pem] = process.argv.slice(2) as [string, string, string, string, string];
const db = openLedger(path.join(dir, 'ledger.sqlite'));
// small batches so that the kill lands between acknowledgements
const agent = new SyncAgent({ db: () => db, dataDir: dir, address: { village, store }, rules: { creditFloor: 0 }, log: silentLogger(), config: fastSync({ broker_url: url, batch_size: 5, window: 20, ledger_public_keys: [{ id: 'ledger-1', pem }] }) });
agent.start();
