// The nightly backup's heavy part, on a worker thread (edge/ledger/backup.ts): the copy itself
// (SQLite's backup API through a connection of its own, all pages in one step, so one read
// transaction makes it a consistent snapshot while the daemon goes on writing in WAL mode) and
// PRAGMA integrity_check of the copy. Both read every page, and the copy's commit flushes it to
// disk (fsync): on the main thread that stalled the door, the shelves and MQTT for tens of ms
// (the copy) to hundreds (the check) on a 32 MB ledger. Plain JavaScript: a worker does not
// inherit tsx's loader, and this needs none. It only gathers the facts; backup.ts judges them.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, source } = workerData;

// On Linux a thread has a nice value of its own: this one yields the CPU to the event loop's
// thread (the door, the shelves, MQTT) when both want it. /proc/thread-self names its thread id;
// elsewhere the worker simply runs at the process's priority.
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {
  // not Linux, or not allowed: no harm
}

async function copy() {
  const src = new Database(source, { readonly: true, fileMustExist: true });
  try {
    // better-sqlite3 copies 100 pages per step by default; the largest rate copies the rest in one
    await src.backup(file, { progress: () => 0x7fffffff });
  } finally {
    src.close();
  }
  rollbackJournal(file);
}

// The copy carries the ledger's WAL mode in its header: opened read-only on a read-only medium
// (a backup disk mounted ro) SQLite would need a -shm it cannot create. A copy is a file on its
// own: a rollback journal (DELETE), and closing this connection leaves no -wal/-shm.
function rollbackJournal(target) {
  const db = new Database(target, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
}

function check() {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const problems = db.pragma('integrity_check').map((r) => r.integrity_check).filter((r) => r !== 'ok');
    const appId = db.pragma('application_id', { simple: true });
    const schemaVersion = db.pragma('user_version', { simple: true });
    return { problems, appId, schemaVersion };
  } finally {
    db.close();
  }
}

try {
  if (source) await copy();
  parentPort.postMessage({ ok: true, ...check() });
} catch (err) {
  parentPort.postMessage({ ok: false, code: err?.code ?? '', message: err?.message ?? String(err) });
}
