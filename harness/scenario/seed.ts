/**
 * What both scenario runners (in-process, run.ts; separate processes, run-process.ts)
 * share: the ledger as the scenario opens it (products, slots, villagers with balances, cards,
 * enrolled faces, the QR public key) and the result read back from the ledger afterwards.
 * Seeding runs in the runner's process before the first daemon starts; reading works on the
 * daemon's own handle or on a read-only one beside a daemon in another process.
 */
import type { KeyObject } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EngineClient } from '../../models/engine-client.ts';
import type { RgbFrame } from '../../models/face-engine.ts';
import { enrolVillager } from '../../edge/entry/enrol.ts';
import type { EntryConfig } from '../../edge/entry/config.ts';
import { loadOrCreateTemplateKey } from '../../edge/entry/templates.ts';
import { closeLedger, openLedger, type Db } from '../../edge/ledger/db.ts';
import { findBalanceMismatches } from '../../edge/ledger/entries.ts';
import { inventory } from '../../edge/ledger/products.ts';
import { listSessions, sessionLines, sessionReview } from '../../edge/ledger/sessions.ts';
import { listVillagers, setFaceConsent } from '../../edge/ledger/villagers.ts';
import { EdgeError, ErrorCode } from '../../edge/errors.ts';
import type { Scenario } from './scenario.ts';
import { seedRecords } from './seed-records.ts';
import { portraitOf } from './faces.ts';
import type { SimulationResult } from './result.ts';

export const LEDGER_FILE = 'ledger.sqlite';

export interface SeedOptions {
  /** The daemon's data_dir: the ledger and the keys go here. */
  dataDir: string;
  /** The daemon's entry config: where the template key lives, the detector's threshold. */
  entry: EntryConfig;
  /** Public half of the key the runner signs QR tokens with. */
  qrPublicKey: KeyObject;
}

/**
 * A run seeds a fresh ledger: a folder that already holds files (a ledger of an earlier run,
 * or anything else) is refused before anything is started or written.
 */
export function assertFreshDataDir(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--data-dir ${dir} cannot be read: ${(err as Error).message}`, { zh: `数据目录 ${dir} 无法读取` });
  }
  if (names.length > 0) {
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');
    throw new EdgeError(ErrorCode.INVALID_ARGUMENT, `--data-dir ${dir} is not empty (${shown}); a scenario needs a new or empty folder`, { zh: `数据目录 ${dir} 不是空的，场景需要新的或空的目录` });
  }
}

/** Whether the scenario needs the face engine in the daemon (a villager with a face). */
export function scenarioNeedsFaces(s: Scenario): boolean {
  return s.villagers.some((v) => v.face) || s.steps.some((st) => (st.kind === 'enter' || st.kind === 'restock') && st.by === 'face');
}

/**
 * Writes the scenario's opening state into a fresh ledger. Returns the portrait of every
 * villager with a face (enrolled or not), which the runner later shows to the camera.
 */
export async function seedScenarioLedger(s: Scenario, opts: SeedOptions): Promise<Map<string, RgbFrame>> {
  const faces = new Map<string, RgbFrame>();
  const db = openLedger(path.join(opts.dataDir, LEDGER_FILE));
  try {
    seedRecords(db, s);
    const keyDir = path.join(opts.dataDir, 'keys');
    mkdirSync(keyDir, { recursive: true });
    writeFileSync(path.join(keyDir, 'qr-public.pem'), opts.qrPublicKey.export({ type: 'spki', format: 'pem' }));
    if (s.villagers.some((v) => v.face)) await prepareFaces(db, s, opts, faces);
  } finally {
    closeLedger(db);
  }
  return faces;
}

async function prepareFaces(db: Db, s: Scenario, opts: SeedOptions, faces: Map<string, RgbFrame>): Promise<void> {
  const engine = new EngineClient({ detectorInputSize: 416, detectorMinScore: opts.entry.detector_min_score, liveness: false });
  await engine.start();
  try {
    const key = loadOrCreateTemplateKey(path.resolve(opts.dataDir, opts.entry.key_file));
    for (const v of s.villagers) {
      if (!v.face) continue;
      const frame = await portraitOf(engine, v.face);
      faces.set(v.id, frame);
      if (!v.enrolled) continue;
      setFaceConsent(db, v.id, 'self');
      await enrolVillager(db, key, engine, opts.entry, v.id, [{ name: `${v.face.photo}#${v.face.index}`, frame: { ...frame, data: frame.data.slice() } }], new Date().toISOString());
    }
  } finally {
    await engine.stop();
  }
}

/** What the runner saw happen (not in the ledger): refusals at the door, receipts, announcements, cuts. */
export type ObservedEvents = Pick<SimulationResult, 'refused' | 'face_decisions' | 'receipts' | 'announcements' | 'power_cuts'>;

/** The result object, read from the ledger after the run, plus what the runner observed. */
export function scenarioResult(db: Db, name: string, observed: ObservedEvents): SimulationResult {
  const sessions = listSessions(db, { limit: 10_000 }).reverse();
  const villagers = listVillagers(db);
  const entries = db.prepare("SELECT id, villager_id AS villager, kind, points FROM entries WHERE id NOT LIKE 'seed:%' ORDER BY seq").all() as SimulationResult['entries'];
  return {
    scenario: name,
    balances: Object.fromEntries(villagers.map((v) => [v.id, v.balance])),
    debts: Object.fromEntries(villagers.filter((v) => v.debt > 0).map((v) => [v.id, v.debt])),
    sessions: sessions.map((s) => ({
      id: s.id,
      villager: s.villagerId,
      kind: s.kind,
      status: s.status,
      state: s.state,
      total_points: s.totalPoints ?? 0,
      charged_points: s.chargedPoints ?? 0,
      debt_points: s.debtPoints ?? 0,
      lines: sessionLines(db, s.id).map((l) => ({ sku: l.sku, slot: l.slot, count: l.count, points: l.points })),
      review: sessionReview(db, s.id).map((r) => ({ slot: r.slot, reason: r.reason, detail: r.detail ?? null })),
    })),
    refused: observed.refused,
    face_decisions: observed.face_decisions,
    inventory: inventory(db),
    entries,
    receipts: observed.receipts,
    announcements: observed.announcements,
    power_cuts: observed.power_cuts,
    invariants: { balance_mismatches: findBalanceMismatches(db).length, open_sessions: sessions.filter((s) => s.status === 'open').length },
  };
}

/** Merges config overrides into a base, object by object (lists and values replace). */
export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur) ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
