// The integrity check of a ledger copy, on a worker thread (edge/ledger/backup.ts): on a large
// ledger PRAGMA integrity_check reads every page for seconds, and on the main thread it would stall
// the door, the shelves and MQTT meanwhile. Plain JavaScript: a worker does not inherit tsx's
// loader, and this needs none. It only gathers the facts; backup.ts judges them.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file } = workerData;
let db;
try {
  db = new Database(file, { readonly: true, fileMustExist: true });
  const problems = db.pragma('integrity_check').map((r) => r.integrity_check).filter((r) => r !== 'ok');
  const appId = db.pragma('application_id', { simple: true });
  const schemaVersion = db.pragma('user_version', { simple: true });
  parentPort.postMessage({ ok: true, problems, appId, schemaVersion });
} catch (err) {
  parentPort.postMessage({ ok: false, code: err?.code ?? '', message: err?.message ?? String(err) });
} finally {
  db?.close();
}
