/**
 * `store-edge doctor`: what a maintainer checks on a store PC, one row each, with what to do
 * when a row fails. The daemon may be running: the ledger is opened read-only, and the serial
 * ports (which the daemon holds) are then left to /readyz.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.ts';
import { openLedger, closeLedger } from '../ledger/db.ts';
import { countOutbox } from '../ledger/outbox.ts';
import { listJobRuns } from '../ledger/job-runs.ts';
import { newestLedgerTime, schemaVersion } from '../ledger/ops-queries.ts';
import { lockHolder } from '../data-dir.ts';
import { listCopies } from '../ledger/backup.ts';
import { underDataDir } from '../jobs/store-jobs.ts';
import { MODEL_MANIFEST, readModel, type ModelName } from '../../models/manifest.ts';
import { createHash } from 'node:crypto';
import { checkBroker, checkCamera, checkSerial, type DoctorRow } from './doctor-hardware.ts';
import { livenessPosture } from '../entry/liveness-posture.ts';
import { keysDirOf, keysInDataFolder } from '../keys.ts';
import { checkSlots, type DoctorScales } from './doctor-slots.ts';
import { demoBringsVillage, demoWithoutCamera } from '../config/demo.ts';

export type { DoctorRow };

/** Free space below these: a warning, then a failure (the ledger refuses writes on a full disk). */
export const DISK_WARN_BYTES = 2 * 1024 ** 3;
export const DISK_FAIL_BYTES = 500 * 1024 ** 2;
/** A clock this far behind the ledger's newest row has jumped back. */
const CLOCK_BEHIND_MS = 5 * 60_000;
/** The year the program was written: a clock before it was never set (flat RTC battery). */
const EARLIEST_YEAR = 2026;

const errText = (err: unknown): string => (err as Error)?.message ?? String(err);

/** The pid of a live daemon holding the data folder, if any (not a pid another process has since). */
export function daemonPid(dataDir: string): number | undefined {
  return lockHolder(dataDir)?.pid;
}

/**
 * The restore that works for this ledger: the newest copy where the backup job puts them
 * (jobs.backup.dir, absolute or under data_dir), --fresh when there is no ledger to replace, and
 * the config (or data folder) the doctor was run with.
 */
function restoreAdvice(c: Config, file: string, configFile: string | undefined): { en: string; zh: string } {
  const dir = underDataDir(c.data_dir, c.jobs.backup.dir);
  const newest = listCopies(dir).at(-1)?.file;
  const command = `store-edge restore ${newest ?? path.join(dir, 'ledger-<UTC time>.sqlite')} --yes${existsSync(file) ? '' : ' --fresh'}${configFile ? ` --config ${configFile}` : ''} --data-dir ${c.data_dir}`;
  if (!existsSync(file)) {
    return newest
      ? { en: `restore the newest copy: ${command}; or, for a new store, start the daemon once to create the ledger`, zh: `从最新的备份恢复：${command}；新门店则先启动一次守护进程以创建账本` }
      : { en: `no copies in ${dir}: start the daemon once to create the ledger, or restore a copy from elsewhere: ${command}`, zh: `${dir} 中没有备份：先启动一次守护进程以创建账本，或从别处的备份恢复：${command}` };
  }
  return { en: `restore a copy: ${command}`, zh: `从备份恢复：${command}` };
}

const BACKUP_FIX = 'see the daemon log (job backup) and jobs.backup in the config / 查看日志中的 backup 任务和配置 jobs.backup';

/**
 * This PC's backups: the verified copies in its backup folder (jobs.backup.dir). The last run the
 * ledger records is only told beside them: a ledger restored onto a new PC brought the old PC's
 * record, whose copy is not here.
 */
function checkBackup(c: Config, run: { last_outcome: string | null; last_finished_at: string | null; last_detail: string | null } | undefined, now: Date): DoctorRow {
  const dir = underDataDir(c.data_dir, c.jobs.backup.dir);
  const newest = listCopies(dir).at(-1);
  const failed = run?.last_outcome === 'failed' ? `; last backup failed: ${run.last_detail} / 上次备份失败` : '';
  if (!newest) {
    const recorded = run?.last_outcome === 'ok' && run.last_finished_at
      ? `; the ledger records a backup at ${run.last_finished_at}, not in this folder: made on the PC this ledger was restored from, or its copies were moved / 账本记录的 ${run.last_finished_at} 的备份不在此文件夹：是恢复前那台电脑所做，或副本已被移走`
      : '';
    return { check: 'backup', status: 'warn', detail: `no copy in ${dir} on this PC yet / 本机 ${dir} 中尚无备份${recorded}${failed}`, fix: BACKUP_FIX };
  }
  const at = new Date(newest.at).toISOString();
  const detail = `last verified copy ${at} on this PC: ${newest.file}${failed}`;
  return (now.getTime() - newest.at) / 86_400_000 <= 2 && !failed
    ? { check: 'backup', status: 'ok', detail }
    : { check: 'backup', status: 'warn', detail, fix: BACKUP_FIX };
}

function checkDatabase(c: Config, now: Date, configFile: string | undefined): DoctorRow[] {
  const file = path.join(c.data_dir, 'ledger.sqlite');
  let db;
  try {
    db = openLedger(file, { readonly: true, migrate: false });
  } catch (err) {
    const advice = restoreAdvice(c, file, configFile);
    return [{ check: 'database', status: 'fail', detail: errText(err), fix: `${advice.en} / ${advice.zh}` }];
  }
  try {
    const version = schemaVersion(db);
    const outbox = countOutbox(db);
    const rows: DoctorRow[] = [{ check: 'database', status: 'ok', detail: `${file}: quick_check ok, schema ${version}, ${outbox.pending} rows waiting for the village ledger` }];
    let runs: ReturnType<typeof listJobRuns> = [];
    try {
      runs = listJobRuns(db);
    } catch {
      // a ledger older than the jobs table: no backup recorded yet
    }
    rows.push(checkBackup(c, runs.find((r) => r.job === 'backup'), now));
    const newest = newestLedgerTime(db);
    if (newest && Date.parse(newest) - now.getTime() > CLOCK_BEHIND_MS) {
      rows.push({ check: 'clock', status: 'fail', detail: `the clock (${now.toISOString()}) is behind the ledger's newest row (${newest}) / 系统时间早于账本中最新的记录`, fix: 'set the time (timedatectl set-ntp true) and check the RTC battery / 校准时间并检查主板电池' });
    }
    return rows;
  } finally {
    closeLedger(db);
  }
}

async function checkModels(c: Config): Promise<DoctorRow[]> {
  if (!c.entry.face_enabled) return [{ check: 'models', status: 'skip', detail: 'face recognition is off (entry.face_enabled) / 未启用刷脸' }];
  const rows: DoctorRow[] = [];
  const bad: string[] = [];
  for (const name of Object.keys(MODEL_MANIFEST) as ModelName[]) {
    try {
      await readModel(name);
    } catch (err) {
      bad.push(`${name}: ${errText(err)}`);
    }
  }
  rows.push(bad.length === 0
    ? { check: 'models', status: 'ok', detail: `${Object.keys(MODEL_MANIFEST).length} models, sizes and sha256 as in the manifest / 模型校验通过` }
    : { check: 'models', status: 'fail', detail: bad.join('; '), fix: 'reinstall the packages: npm ci / 重新安装依赖' });
  const r = c.entry.recognizer;
  if (r.kind === 'onnx-arcface') {
    const file = path.resolve(c.data_dir, r.path);
    try {
      const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
      rows.push(sha === r.sha256.toLowerCase()
        ? { check: 'recognizer', status: 'ok', detail: `${file} sha256 ok` }
        : { check: 'recognizer', status: 'fail', detail: `${file} has sha256 ${sha}, the config says ${r.sha256}`, fix: 'put back the configured file, or set entry.recognizer.sha256 and enrol again / 换回原文件，或更新 sha256 后重新录入' });
    } catch (err) {
      rows.push({ check: 'recognizer', status: 'fail', detail: errText(err), fix: 'copy the model file to entry.recognizer.path / 复制模型文件' });
    }
  }
  return rows;
}

function checkDisk(c: Config): DoctorRow {
  try {
    const s = statfsSync(c.data_dir);
    const free = s.bavail * s.bsize;
    const text = `${(free / 1024 ** 3).toFixed(1)} GiB free on the data folder's disk / 数据盘剩余`;
    if (free < DISK_FAIL_BYTES) return { check: 'disk', status: 'fail', detail: text, fix: 'free space now: the ledger refuses writes on a full disk; move old backups away / 立即清理磁盘' };
    if (free < DISK_WARN_BYTES) return { check: 'disk', status: 'warn', detail: text, fix: 'free some space (old backups, logs) / 清理部分空间' };
    return { check: 'disk', status: 'ok', detail: text };
  } catch (err) {
    return { check: 'disk', status: 'fail', detail: errText(err), fix: `create the data folder ${c.data_dir} / 创建数据目录` };
  }
}

function checkClock(now: Date): DoctorRow {
  if (now.getUTCFullYear() < EARLIEST_YEAR) return { check: 'clock', status: 'fail', detail: `the clock says ${now.toISOString()} / 系统时间未设置`, fix: 'set the time (timedatectl set-ntp true) and check the RTC battery / 校准时间并检查主板电池' };
  let ntp: string | undefined;
  try {
    ntp = execFileSync('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 2000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    ntp = undefined;
  }
  if (ntp === 'no') return { check: 'clock', status: 'warn', detail: `${now.toISOString()}, not synchronised (NTP) / 未与时间服务器同步`, fix: 'timedatectl set-ntp true' };
  return { check: 'clock', status: 'ok', detail: `${now.toISOString()}${ntp === 'yes' ? ', NTP synchronised' : ''}` };
}

/** Where the keys are: apart from the data folder as configured, or warned as the daemon warns at start. */
function checkKeys(c: Config): DoctorRow {
  const dir = keysDirOf(c);
  if (!dir) return { check: 'keys', status: 'ok', detail: `in the data folder, ${path.join(c.data_dir, 'keys')} (keys_dir not set) / 密钥在数据目录中（未设置 keys_dir）` };
  let inside;
  try {
    inside = keysInDataFolder(c);
  } catch (err) {
    return { check: 'keys', status: 'warn', detail: errText(err), fix: `check keys_dir and jobs.backup.key_dir / 请检查 keys_dir 和 jobs.backup.key_dir` };
  }
  if (inside.length === 0) return { check: 'keys', status: 'ok', detail: `${dir}, apart from the data folder / 密钥与数据分开存放` };
  return { check: 'keys', status: 'warn', detail: inside.map((w) => `${w.en} / ${w.zh}`).join('; '), fix: inside.map((w) => `${w.fix.en} / ${w.fix.zh}`).join('; ') };
}

/**
 * Every check, in the order a maintainer reads them. `scales`: the ones the daemon will weigh
 * (edge/cli/weighed-scales.ts: the demo's when the demo gives them); default: the config's.
 */
export async function runDoctor(c: Config, source: string, now: Date = new Date(), opts: { configFile?: string; scales?: DoctorScales } = {}): Promise<DoctorRow[]> {
  const scales = opts.scales ?? { list: c.drivers.scales.list, source: { kind: 'config', file: opts.configFile ?? null } };
  const rows: DoctorRow[] = [{ check: 'config', status: 'ok', detail: `${source}, valid / 配置有效` }];
  const pid = daemonPid(c.data_dir);
  rows.push(pid === undefined
    ? { check: 'daemon', status: 'ok', detail: 'not running on this data folder / 未运行' }
    : { check: 'daemon', status: 'ok', detail: `running (pid ${Number.isNaN(pid) ? '?' : pid}) / 正在运行` });
  rows.push(...checkDatabase(c, now, opts.configFile));
  rows.push(...checkSlots(c, scales));
  rows.push(...(await checkModels(c)));
  if (c.drivers.simulated) rows.push({ check: 'serial', status: 'skip', detail: 'simulated hardware (drivers.simulated) / 模拟硬件' });
  else if (pid !== undefined) rows.push({ check: 'serial', status: 'skip', detail: 'the daemon holds the ports: see /readyz / 串口由守护进程占用，请看 /readyz' });
  else rows.push(...(await checkSerial({ ...c.drivers, scales: { ...c.drivers.scales, list: scales.list } })));
  rows.push(c.entry.face_enabled && demoWithoutCamera(c)
    ? { check: 'camera', status: 'ok', detail: 'simulated: the demo hands the door its own pictures; no camera is opened (entry.camera names none) / 模拟：演示模式由演示提供门口画面，不打开摄像头（未配置 entry.camera）' }
    : await checkCamera(c));
  rows.push({ check: 'liveness', ...livenessPosture(c.entry) });
  rows.push(demoBringsVillage(c)
    ? { check: 'broker', status: 'ok', detail: `sync on, with the demo's own village: an embedded broker and the village ledger (${path.join(c.data_dir, 'village')}) started with the daemon on 127.0.0.1 / 同步已开启：演示自带的村，内嵌 MQTT 与村账本随守护进程启动` }
    : await checkBroker(c));
  rows.push(checkKeys(c));
  rows.push(checkDisk(c));
  if (!rows.some((r) => r.check === 'clock')) rows.push(checkClock(now));
  return rows;
}

/** A plain text table (CJK characters count two columns). */
export function renderTable(rows: readonly DoctorRow[]): string {
  const width = (s: string): number => [...s].reduce((n, ch) => n + (/[\u1100-\uffff]/.test(ch) ? 2 : 1), 0);
  const pad = (s: string, w: number): string => s + ' '.repeat(Math.max(0, w - width(s)));
  const mark = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: '-' } as const;
  const w0 = Math.max(...rows.map((r) => width(r.check)), 5);
  const lines = rows.map((r) => `${pad(r.check, w0)}  ${pad(mark[r.status], 4)}  ${r.detail}${r.fix ? `\n${' '.repeat(w0 + 8)}→ ${r.fix}` : ''}`);
  return [`${pad('check', w0)}  ${pad('', 4)}  detail / 详情`, ...lines].join('\n');
}
