/**
 * The session engine on a fake lock and fake scales (the scale fake keeps `last_stable_g` at
 * the pre-movement weight while a slot moves, as drivers/scales does), an in-memory ledger,
 * and a way to make chosen ledger statements fail.
 */
import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import type { SlotStatus } from '../../drivers/index.ts';
import { forgetStatements, openLedger, type Db } from '../../edge/ledger/db.ts';
import { applyEntry, type LedgerRules } from '../../edge/ledger/entries.ts';
import { upsertProduct, upsertSlot } from '../../edge/ledger/products.ts';
import { listSessions } from '../../edge/ledger/sessions.ts';
import { addVillager, getVillager } from '../../edge/ledger/villagers.ts';
import { HealthBoard } from '../../edge/parts.ts';
import { resolveSessionConfig } from '../../edge/session/config.ts';
import { StoreSessionEngine, type StoreSessionDeps, type StoreSessionEvents } from '../../edge/session/engine.ts';

export class FakeLock extends EventEmitter {
  doorState: 'open' | 'closed' | 'unknown' = 'closed';
  door(state: 'open' | 'closed', at = Date.now()): void {
    this.doorState = state;
    this.emit('door', { state, initial: false, at });
  }
  /** The unlock pulse began (the driver's `unlocked`, after the relay read back energised). */
  unlock(pulseMs = 3000): void {
    const at = Date.now();
    this.emit('unlocked', { pulse_ms: pulseMs, confirmed_at: at, release_at: at + pulseMs });
  }
  /** The relay was confirmed off after the pulse. */
  relock(): void {
    this.emit('relocked', { at: Date.now() });
  }
  exit(): void {
    this.emit('exit_button', { state: 'pressed', initial: false, at: Date.now() });
  }
}

type Reading = Pick<SlotStatus, 'health' | 'stable_g' | 'last_stable_g'>;
export class FakeScales extends EventEmitter {
  slots: Record<string, Reading> = {};
  status(): SlotStatus[] {
    return Object.entries(this.slots).map(([slot, s]) => ({ slot, unit_id: 1, drift_g: 0, ...s }));
  }
  /** At rest on `g` grams. */
  rest(slot: string, g: number): void {
    this.slots[slot] = { health: 'ok', stable_g: g, last_stable_g: g };
  }
  /** Moving: the driver keeps the last stable weight from before the movement. */
  move(slot: string): void {
    const s = this.slots[slot] as Reading;
    this.slots[slot] = { ...s, stable_g: null };
  }
  /** A sweep just finished; it began `durationMs` ago (its readings are from then). */
  sweep(durationMs = 0): void {
    this.emit('sweep', { duration_ms: durationMs, scales: Object.keys(this.slots).length, failed: 0 });
  }
}

// door_settle_ms 0: the rig's door events come milliseconds apart; tests of the settle time set it
export const timings = { stability_wait_ms: 50, exit_settle_max_ms: 200, entering_timeout_ms: 1000, shopping_idle_timeout_ms: 10_000, settle_retry_ms: 100, door_settle_ms: 0 };

export function seedLedger(): Db {
  const db = openLedger(':memory:');
  for (const [id, name] of [['A', 'Ann'], ['B', 'Bob']] as const) {
    addVillager(db, { id, name, village: 'v' });
    applyEntry(db, { id: `${id}0`, villagerId: id, kind: 'award', points: 100, origin: 'cli' }, { creditFloor: 0 });
  }
  upsertProduct(db, { sku: 'soap', name: 'Soap', price: 10, unitG: 100, toleranceG: 5 });
  upsertSlot(db, { slot: 'S1', address: 1, sku: 'soap', stock: 10 });
  upsertSlot(db, { slot: 'S2', address: 2, sku: 'soap', stock: 10 });
  return db;
}

export function store(opts: { db?: Db; config?: Record<string, unknown>; scales?: FakeScales; start?: boolean; rules?: LedgerRules; now?: () => number; clock?: StoreSessionDeps['clock']; logger?: Logger; alarms?: StoreSessionDeps['alarms'] } = {}) {
  const db = opts.db ?? seedLedger();
  const lock = new FakeLock();
  const scales = opts.scales ?? new FakeScales();
  if (!opts.scales) {
    scales.rest('S1', 1000);
    scales.rest('S2', 1000);
  }
  const board = new HealthBoard();
  board.setPhase('running');
  const engine = new StoreSessionEngine({ db: () => db, config: resolveSessionConfig({ ...timings, ...opts.config }), rules: opts.rules ?? { creditFloor: 0 }, lock, scales, logger: opts.logger ?? pino({ level: 'silent' }), health: (h, d) => board.set('store session', h, d), ...(opts.now ? { now: opts.now } : {}), ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.alarms ? { alarms: opts.alarms } : {}) });
  const faults: StoreSessionEvents['fault'][0][] = [];
  engine.on('fault', (f) => faults.push(f));
  if (opts.start !== false) engine.start();
  const admit = (v: string): void => engine.onEntryDecision({ by: 'card', decision: 'matched', villagerId: v, unlocked: true });
  const balance = (v: string): number => getVillager(db, v)?.balance ?? NaN;
  const session = (v: string) => listSessions(db).find((s) => s.villagerId === v);
  return { db, lock, scales, engine, faults, admit, balance, session, board };
}

/** The next `times` statements starting with `sql` fail as SQLite does when the disk is full. */
export function failNext(db: Db, sql: string, times = 1): void {
  const prepare = db.prepare.bind(db);
  let left = times;
  (db as { prepare: typeof db.prepare }).prepare = ((q: string) => {
    if (left > 0 && q.startsWith(sql)) {
      left -= 1;
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    }
    return prepare(q);
  }) as typeof db.prepare;
}

/**
 * Every statement for which `when(sql, raw)` says so fails as SQLite does on an I/O error;
 * `raw` reads the ledger past the injection. Returns a switch to stop failing.
 */
export function failWhen(db: Db, when: (sql: string, raw: Db) => boolean): () => void {
  const prepare = db.prepare.bind(db);
  const raw = Object.create(db, { prepare: { value: prepare } }) as Db;
  let on = true;
  const fault = (sql: string): void => {
    if (on && when(sql, raw)) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
  };
  // The fault strikes when a statement runs, as a disk error would, not only when it is
  // prepared: the ledger keeps statements prepared (cachedStatement), so they are forgotten
  // here and prepared again through this wrapper.
  forgetStatements(db);
  (db as { prepare: typeof db.prepare }).prepare = ((q: string) => {
    fault(q);
    const st = prepare(q);
    const proxy: typeof st = new Proxy(st, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (key === 'run' || key === 'get' || key === 'all' || key === 'iterate') fault(q);
          const r = (v as (...a: unknown[]) => unknown).apply(target, args);
          return r === target ? proxy : r;
        };
      },
    });
    return proxy;
  }) as typeof db.prepare;
  return () => {
    on = false;
  };
}
