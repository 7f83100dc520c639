/**
 * The daemon part that watches for alarm conditions: every `alarms.check_s` it reads the
 * parts' health lines (lock, scales, camera), the free disk of the data folder, the outbox and
 * the clock, and raises or clears the matching alarms on the AlarmBoard; it also has the board
 * tell its listeners what `store-edge alarms` changed in the ledger. Job failures come
 * from the job runner directly (`jobOutcome`). A check that throws is logged; the next one runs.
 */
import { statfsSync } from 'node:fs';
import type { Logger } from '../log.ts';
import type { Db } from '../ledger/db.ts';
import { outboxBacklog } from '../ledger/ops-queries.ts';
import { getVillager } from '../ledger/villagers.ts';
import type { HealthBoard, Part } from '../parts.ts';
import type { AlarmsConfig } from './alarms-config.ts';
import type { AlarmBoard, AlarmKind } from './alarms.ts';

export interface AlarmWatchDeps {
  config: AlarmsConfig;
  board: AlarmBoard;
  health: HealthBoard;
  db: () => Db;
  dataDir: string;
  log: Logger;
  /** Free bytes on the disk of `dir` (statfs by default; tests give their own). */
  freeBytes?: (dir: string) => number;
  /** The wall clock (ms) and a monotonic clock (ms), compared to see the wall clock jump. */
  wallMs?: () => number;
  monoMs?: () => number;
}

const MIB = 1024 * 1024;

/** Which alarm a health line stands for, and its subject; undefined: none. */
export function alarmOfHealthLine(name: string): { kind: AlarmKind; subject: string } | undefined {
  if (name === 'lock') return { kind: 'lock_not_confirmed', subject: 'relock' };
  if (name === 'lock unlock') return { kind: 'lock_not_confirmed', subject: 'unlock' };
  if (name === 'camera') return { kind: 'camera_gone', subject: 'camera' };
  const scale = /^scale (\S+)( zero)?$/.exec(name);
  if (scale) return { kind: 'scale_fault', subject: scale[2] ? `${scale[1]} zero` : scale[1]! };
  return undefined;
}

export class AlarmWatch implements Part {
  readonly name = 'alarms';
  readonly critical = false;
  private timer: NodeJS.Timeout | undefined;
  private last: { wall: number; mono: number } | undefined;
  private lastJumpMono: number | undefined;
  private readonly wallMs: () => number;
  private readonly monoMs: () => number;

  constructor(private readonly deps: AlarmWatchDeps) {
    this.wallMs = deps.wallMs ?? Date.now;
    this.monoMs = deps.monoMs ?? (() => performance.now());
  }

  start(): void {
    // a clock alarm left active by the previous run clears after the quiet period from now
    if (this.deps.board.isActive('clock_jump', 'clock')) this.lastJumpMono = this.monoMs();
    this.check();
    this.timer = setInterval(() => this.check(), this.deps.config.check_s * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A job's run ended: a failure raises `job_failed` for it, a success clears it. */
  jobOutcome(job: string, outcome: 'ok' | 'failed' | 'skipped', detail?: string): void {
    // each failed run is an occurrence of its own: it takes back an acknowledgement of the last one
    if (outcome === 'failed') this.deps.board.raise('job_failed', job, `job ${job} failed / 任务失败: ${detail ?? 'unknown error'}`, 'warning', { occurrence: true });
    else if (outcome === 'ok' && this.deps.board.isActive('job_failed', job)) this.deps.board.clear('job_failed', job);
  }

  /** One pass over every condition. */
  check(): void {
    for (const [what, fn] of [['health', () => this.checkHealth()], ['disk', () => this.checkDisk()], ['outbox', () => this.checkOutbox()], ['clock', () => this.checkClock()], ['villager ids', () => this.checkVillagerIds()], ['ledger', () => this.deps.board.noticeLedgerChanges()]] as const) {
      try {
        fn();
      } catch (err) {
        this.deps.log.error({ err, check: what }, `alarm check ${what} failed / 告警检查失败`);
      }
    }
  }

  private checkHealth(): void {
    const { board } = this.deps;
    const report = this.deps.health.report();
    const seen = new Set<string>();
    for (const [name, line] of Object.entries(report.parts)) {
      const a = alarmOfHealthLine(name);
      if (!a) continue;
      // a part being stopped or started is not a fault of the thing it drives
      if (line.health === 'starting' || line.health === 'stopped') continue;
      const bad = line.health !== 'ok';
      if (bad) {
        seen.add(`${a.kind}:${a.subject}`);
        board.raise(a.kind, a.subject, `${name}: ${line.detail ?? line.health}`, a.kind === 'lock_not_confirmed' ? 'critical' : 'warning');
      }
    }
    // cleared when the line is ok again, or gone
    for (const row of board.active()) {
      const kind = row.kind as AlarmKind;
      if (kind !== 'lock_not_confirmed' && kind !== 'scale_fault' && kind !== 'camera_gone') continue;
      if (!seen.has(`${kind}:${row.subject}`)) board.clear(kind, row.subject);
    }
  }

  /** `villager_id_taken` (raised by the sync agent) clears once that villager has left the store's register, or is gone: registered again under another id. */
  private checkVillagerIds(): void {
    const { board } = this.deps;
    for (const row of board.active()) {
      if (row.kind !== 'villager_id_taken') continue;
      const v = getVillager(this.deps.db(), row.subject.replace(/^villager /, ''));
      if (!v || v.status === 'left') board.clear('villager_id_taken', row.subject);
    }
  }

  private checkDisk(): void {
    const min = this.deps.config.disk_free_min_mb * MIB;
    const free = (this.deps.freeBytes ?? diskFree)(this.deps.dataDir);
    const mb = Math.floor(free / MIB);
    this.deps.board.set('disk_low', this.deps.dataDir, free < min, `${mb} MiB free on the disk of ${this.deps.dataDir} (alarm under ${this.deps.config.disk_free_min_mb} MiB) / 数据目录所在磁盘仅剩 ${mb} MiB`, free < min / 4 ? 'critical' : 'warning');
  }

  private checkOutbox(): void {
    const c = this.deps.config;
    const r = outboxBacklog(this.deps.db());
    const ageMin = r.oldest ? (this.wallMs() - Date.parse(r.oldest)) / 60_000 : 0;
    const bad = r.pending >= c.outbox_pending_max || ageMin >= c.outbox_age_max_min;
    this.deps.board.set('outbox_growing', 'outbox', bad, `${r.pending} rows wait for the village ledger, the oldest for ${Math.floor(ageMin)} min (alarm at ${c.outbox_pending_max} rows or ${c.outbox_age_max_min} min) / ${r.pending} 条记录等待村账本确认，最早的已等 ${Math.floor(ageMin)} 分钟`);
  }

  private checkClock(): void {
    const wall = this.wallMs();
    const mono = this.monoMs();
    const c = this.deps.config;
    if (this.last) {
      const jump = wall - this.last.wall - (mono - this.last.mono);
      if (Math.abs(jump) > c.clock_jump_s * 1000) {
        this.lastJumpMono = mono;
        const s = Math.round(jump / 1000);
        this.deps.board.raise('clock_jump', 'clock', `the wall clock jumped ${s > 0 ? '+' : ''}${s} s between two checks (now ${new Date(wall).toISOString()}); times written around it may be wrong / 系统时钟跳变 ${s} 秒`, 'warning', { occurrence: true });
      } else if (this.lastJumpMono !== undefined && mono - this.lastJumpMono >= c.clock_jump_clear_min * 60_000) {
        this.lastJumpMono = undefined;
        this.deps.board.clear('clock_jump', 'clock');
      }
    }
    this.last = { wall, mono };
  }
}

function diskFree(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
