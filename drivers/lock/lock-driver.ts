/**
 * The door lock: a relay on a Modbus RTU relay board, plus the door contact and the exit
 * button on its discrete inputs.
 *
 * Unlocking uses the board's own timed pulse, never "on now, off later": if this process
 * dies mid-pulse, the board still drops the relay, so the store cannot be left open.
 * The exit (push-to-exit, fire release) must be wired to cut lock power directly; the exit
 * button input here is for the store session to know, never a precondition to get out.
 */
import type { Logger } from 'pino';
import { GuardedEmitter } from '../guarded-emitter.ts';
import type { LockConfig } from '../config.ts';
import { DriverError, isDriverError, type DriverErrorCode } from '../errors.ts';
import type { ModbusBus, ModbusReply } from '../modbus/bus.ts';

export type DoorState = 'open' | 'closed' | 'unknown';
export type ExitButtonState = 'pressed' | 'released' | 'unknown';

export interface UnlockResult {
  pulse_ms: number;
  /**
   * Whether the relay read back energised. False when the board acknowledged the pulse but the
   * readback was lost: the door has most likely opened, and the release check runs all the same.
   */
  confirmed: boolean;
  /** When the relay read back energised, or (unconfirmed) when the readback was given up (epoch ms). */
  confirmed_at: number;
  /** When the board will drop the relay by itself (epoch ms, from our clock). */
  release_at: number;
}

export type LockAlarmReason = 'relay_stuck_on' | 'release_unconfirmed';

export interface LockEvents {
  door: [{ state: 'open' | 'closed'; initial: boolean; at: number }];
  exit_button: [{ state: 'pressed' | 'released'; initial: boolean; at: number }];
  unlocked: [UnlockResult];
  /** The relay did not drop after the pulse (or could not be checked): someone must look. */
  alarm: [{ reason: LockAlarmReason; detail: string; at: number }];
  /** The inputs went unread for `input_unread_polls` polls (door and exit button now unknown), or are read again. */
  inputs: [{ state: 'unread' | 'read'; polls: number; at: number }];
  /** The relay was confirmed off after a pulse. */
  relocked: [{ at: number }];
  /** An unlock could not be sent or was not confirmed (the call also rejects with this). */
  unlock_failed: [{ code: DriverErrorCode; detail: string; at: number }];
}

export interface LockDriverOptions {
  bus: ModbusBus;
  config: LockConfig;
  logger: Logger;
}

export class LockDriver extends GuardedEmitter<LockEvents> {
  private running = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private releaseTimer: NodeJS.Timeout | null = null;
  /** Counts unlocks; a release check belongs to one and gives way when a newer one begins. */
  private unlocks = 0;
  /** Input polls in a row that got no answer. */
  private unread = 0;
  /** The inputs went unread for `input_unread_polls` polls: door and exit button count as unknown. */
  private silent = false;
  /** The last state read (kept through a silent spell: what the next reading is compared with). */
  private door: DoorState = 'unknown';
  private exit: ExitButtonState = 'unknown';
  private readonly inputBase: number;
  private readonly inputCount: number;

  constructor(private readonly opts: LockDriverOptions) {
    super(opts.logger.child({ device: 'lock', unit: opts.config.unit_id }));
    this.inputBase = Math.min(opts.config.door_input, opts.config.exit_input);
    this.inputCount = Math.abs(opts.config.door_input - opts.config.exit_input) + 1;
  }

  get doorState(): DoorState {
    return this.silent ? 'unknown' : this.door;
  }

  get exitButtonState(): ExitButtonState {
    return this.silent ? 'unknown' : this.exit;
  }

  /** Starts watching the door contact and exit button. The bus is started by its owner. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.schedulePoll(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.pollTimer = null;
    this.releaseTimer = null;
  }

  /**
   * Sends the timed pulse and resolves once the relay reads back energised, or (`confirmed:
   * false`) once the board has acknowledged the pulse but the readback was lost.
   * Rejects (DriverError) if the pulse cannot be sent or the relay reads back off;
   * the caller then offers the fallback (QR/card, staff).
   */
  async unlock(pulseMs: number = this.opts.config.default_pulse_ms): Promise<UnlockResult> {
    const c = this.opts.config;
    if (!Number.isFinite(pulseMs) || pulseMs <= 0 || pulseMs > c.max_pulse_ms) {
      throw new DriverError('CONFIG_INVALID', `pulse ${pulseMs} ms outside 1..${c.max_pulse_ms} ms`);
    }
    const units = Math.min(0xffff, Math.max(1, Math.ceil(pulseMs / c.pulse_unit_ms)));
    // From here the relay is this unlock's: a release check of an earlier one must not switch it off.
    const unlock = ++this.unlocks;
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    let confirmed: boolean;
    try {
      confirmed = await this.pulse(units);
    } catch (err) {
      // the bus fails only with DriverErrors; anything else is reported as a bad reply
      this.fire('unlock_failed', { code: isDriverError(err) ? err.code : 'BAD_REPLY', detail: (err as Error)?.message ?? String(err), at: Date.now() });
      throw err;
    }
    const confirmedAt = Date.now();
    // The board started the pulse a little before the readback; counting from the readback
    // makes the release check err on the late side, never early.
    const result: UnlockResult = { pulse_ms: units * c.pulse_unit_ms, confirmed, confirmed_at: confirmedAt, release_at: confirmedAt + units * c.pulse_unit_ms };
    this.scheduleReleaseCheck(unlock, result.release_at);
    this.fire('unlocked', result);
    return result;
  }

  /**
   * Sends the timed pulse and checks that the relay reads back energised. Resolves false when
   * the board acknowledged the pulse but the readback got no answer.
   */
  private async pulse(units: number): Promise<boolean> {
    const c = this.opts.config;
    let replies: ModbusReply[];
    try {
      // Pulse and readback are one turn on the bus, so no poll can get between them.
      replies = await this.opts.bus.sequence(
        [
          { fn: 'write_coil_value', unit: c.unit_id, address: c.pulse_base_address + c.coil, value: units },
          { fn: 'read_coils', unit: c.unit_id, address: c.coil, count: 1 },
        ],
        'unlock',
      );
    } catch (err) {
      if (!isDriverError(err) || err.answered !== 1) throw err;
      this.log.warn({ err: err.message }, 'unlock pulse acknowledged but its readback was lost; the release check will look at the relay / 开锁脉冲已发出但未能回读继电器');
      return false;
    }
    const readback = replies[1];
    const on = readback !== undefined && 'bits' in readback && readback.bits[0] === true;
    if (!on) throw new DriverError('NOT_CONFIRMED', 'relay did not read back energised after the pulse command');
    return true;
  }

  /** Reads the relay coil now. */
  async relayOn(): Promise<boolean> {
    const [on] = await this.opts.bus.readBits('coils', this.opts.config.unit_id, this.opts.config.coil, 1, 'control');
    return on === true;
  }

  // ---- after the pulse ----

  private scheduleReleaseCheck(unlock: number, releaseAt: number): void {
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    const wait = Math.max(0, releaseAt - Date.now()) + this.opts.config.release_check_ms;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      void this.checkReleased(unlock).catch((err: unknown) => this.log.error({ err }, 'checking the relay release failed unexpectedly'));
    }, wait);
  }

  private async checkReleased(unlock: number): Promise<void> {
    const c = this.opts.config;
    // A newer unlock started while this check waited on the bus: the relay is its pulse now.
    const superseded = (): boolean => unlock !== this.unlocks;
    try {
      const on = await this.relayOn();
      if (superseded()) return;
      if (!on) {
        this.fire('relocked', { at: Date.now() });
        return;
      }
      // The board should have dropped it; command it off, then look again.
      await this.opts.bus.request({ fn: 'write_coil', unit: c.unit_id, address: c.coil, on: false }, 'unlock');
      const stillOn = await this.relayOn();
      if (superseded()) return;
      if (!stillOn) {
        this.log.warn('relay stayed on after the timed pulse; switched off by command');
        this.fire('relocked', { at: Date.now() });
        return;
      }
      this.raise('relay_stuck_on', 'relay still energised after the pulse and an off command');
    } catch (err) {
      if (superseded()) return;
      this.raise('release_unconfirmed', `cannot read the relay after the pulse: ${String(err)}`);
    }
  }

  private raise(reason: LockAlarmReason, detail: string): void {
    this.log.error({ reason }, detail);
    this.fire('alarm', { reason, detail, at: Date.now() });
  }

  // ---- inputs ----

  private schedulePoll(wait: number): void {
    if (!this.running) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      // listeners are guarded by fire(); this catch is for a fault of our own, so that the
      // loop goes on and nothing becomes an unhandled rejection
      void this.pollInputs()
        .catch((err: unknown) => this.log.error({ err }, 'polling the lock inputs failed unexpectedly'))
        .finally(() => this.schedulePoll(this.opts.config.input_poll_ms));
    }, wait);
  }

  private async pollInputs(): Promise<void> {
    const c = this.opts.config;
    let bits: boolean[];
    try {
      bits = await this.opts.bus.readBits('discrete_inputs', c.unit_id, this.inputBase, this.inputCount, 'control');
    } catch (err) {
      // The bus counts and logs faults; a stopped or unplugged bus is reported by its health event.
      if (!isDriverError(err)) this.log.error({ err }, 'reading the lock inputs failed unexpectedly');
      if (this.running) this.inputsUnread();
      return;
    }
    if (!this.running) return;
    const at = Date.now();
    const doorLevel = bits[c.door_input - this.inputBase] === true;
    const door: 'open' | 'closed' = doorLevel === c.door_closed_when ? 'closed' : 'open';
    const exitLevel = bits[c.exit_input - this.inputBase] === true;
    const exit: 'pressed' | 'released' = exitLevel === c.exit_pressed_when ? 'pressed' : 'released';
    // `initial` is the first reading since this driver started, never the first after a silent
    // spell: a door that moved while unread did move (a villager leaving), and one that stands
    // as it stood did not, so each is compared with the last state read before the silence.
    const doorWas = this.door;
    const exitWas = this.exit;
    this.door = door;
    this.exit = exit;
    if (this.silent) {
      this.silent = false;
      this.log.info({ polls: this.unread }, 'lock inputs read again / 门锁输入恢复读取');
      this.fire('inputs', { state: 'read', polls: this.unread, at });
    }
    this.unread = 0;
    if (door !== doorWas) this.fire('door', { state: door, initial: doorWas === 'unknown', at });
    if (exit !== exitWas) this.fire('exit_button', { state: exit, initial: exitWas === 'unknown', at });
  }

  /** A silent board must not leave the last door state standing as if it were current. */
  private inputsUnread(): void {
    this.unread += 1;
    if (this.unread !== this.opts.config.input_unread_polls) return;
    this.silent = true;
    this.log.warn({ polls: this.unread }, 'lock inputs unread: door contact and exit button unknown / 门锁输入无法读取：门磁和出门按钮状态未知');
    this.fire('inputs', { state: 'unread', polls: this.unread, at: Date.now() });
  }
}
