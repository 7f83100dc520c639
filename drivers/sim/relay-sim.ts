/**
 * The lock relay board (Waveshare "Modbus RTU Relay (D)" layout) as a Modbus slave:
 * coils 0..7 drive relays (FC01/FC05/FC15), FC05 to 0x0200 + n with the duration in
 * 100 ms units is the board's own timed pulse, discrete inputs (FC02) are wired to the
 * door contact and the exit button.
 *
 * Time is evaluated lazily from the clock rather than with timers, so the pulse ends on
 * time even if the driver is killed, and a snapshot taken mid-pulse restores correctly.
 */
import { EXCEPTION, bitsReply, echoReply, type ModbusSlave, type RtuRequest, type SlaveAnswer } from './rtu.ts';

export interface RelaySimOptions {
  unitId?: number;
  channels?: number;
  pulseBaseAddress?: number;
  pulseUnitMs?: number;
  /** Input wired to the door contact, and its level when the door is closed. */
  doorInput?: number;
  doorClosedWhen?: boolean;
  exitInput?: number;
  exitPressedWhen?: boolean;
  /** Relay coil that holds the lock; used by `lockReleased()`. */
  lockCoil?: number;
  /** The exit button cuts lock power directly (hardware), for this long. */
  exitReleaseMs?: number;
  now?: () => number;
}

export interface RelaySimState {
  kind: 'relay';
  unit_id: number;
  coils: boolean[];
  /** Epoch ms at which a timed pulse turns each coil off; null when not pulsing. */
  pulse_until: Array<number | null>;
  door_open: boolean;
  exit_pressed_until: number | null;
  /** A welded relay contact: the lock coil stays on whatever is commanded. */
  stuck_on: boolean;
}

export class RelaySim implements ModbusSlave {
  readonly unitId: number;
  private readonly o: Required<Omit<RelaySimOptions, 'unitId'>>;
  private s: RelaySimState;
  /** Every command the board accepted, newest last (bounded), for tests and the scenario log. */
  readonly commands: Array<{ at: number; kind: 'set' | 'pulse'; coil: number; value: number }> = [];

  constructor(opts: RelaySimOptions = {}) {
    this.unitId = opts.unitId ?? 1;
    this.o = {
      channels: opts.channels ?? 8,
      pulseBaseAddress: opts.pulseBaseAddress ?? 0x0200,
      pulseUnitMs: opts.pulseUnitMs ?? 100,
      doorInput: opts.doorInput ?? 0,
      doorClosedWhen: opts.doorClosedWhen ?? true,
      exitInput: opts.exitInput ?? 1,
      exitPressedWhen: opts.exitPressedWhen ?? true,
      lockCoil: opts.lockCoil ?? 0,
      exitReleaseMs: opts.exitReleaseMs ?? 5000,
      now: opts.now ?? Date.now,
    };
    this.s = {
      kind: 'relay',
      unit_id: this.unitId,
      coils: new Array<boolean>(this.o.channels).fill(false),
      pulse_until: new Array<number | null>(this.o.channels).fill(null),
      door_open: false,
      exit_pressed_until: null,
      stuck_on: false,
    };
  }

  // ---- what the scenario runner and tests do ----

  coil(n: number): boolean {
    this.settle();
    if (n === this.o.lockCoil && this.s.stuck_on) return true;
    return this.s.coils[n] ?? false;
  }

  /** The lock is released when its relay is energised or the exit button cut its power. */
  lockReleased(): boolean {
    const t = this.o.now();
    return this.coil(this.o.lockCoil) || (this.s.exit_pressed_until !== null && t < this.s.exit_pressed_until + this.o.exitReleaseMs);
  }

  /** Opens the door if the lock lets it (or by force: a break-in). Returns whether it opened. */
  openDoor(opts: { force?: boolean } = {}): boolean {
    if (!opts.force && !this.lockReleased()) return false;
    this.s.door_open = true;
    return true;
  }

  closeDoor(): void {
    this.s.door_open = false;
  }

  get doorOpen(): boolean {
    return this.s.door_open;
  }

  /** Presses the exit button for `holdMs` (long enough for the driver's input polling to see it). */
  pressExit(holdMs = 300): void {
    this.s.exit_pressed_until = this.o.now() + holdMs;
  }

  setStuckOn(stuck: boolean): void {
    this.s.stuck_on = stuck;
  }

  snapshot(): RelaySimState {
    this.settle();
    return structuredClone(this.s);
  }

  restore(state: RelaySimState): void {
    if (state.kind !== 'relay' || state.unit_id !== this.unitId) throw new Error('snapshot is not of this relay board');
    this.s = structuredClone(state);
  }

  // ---- the bytes ----

  handle(req: RtuRequest): SlaveAnswer {
    this.settle();
    const n = this.o.channels;
    switch (req.fn) {
      case 1: {
        if (req.count < 1 || req.address + req.count > n) return { exception: EXCEPTION.ILLEGAL_ADDRESS };
        return bitsReply(req.unit, 1, Array.from({ length: req.count }, (_, i) => this.coil(req.address + i)));
      }
      case 2: {
        if (req.count < 1 || req.address + req.count > n) return { exception: EXCEPTION.ILLEGAL_ADDRESS };
        return bitsReply(req.unit, 2, Array.from({ length: req.count }, (_, i) => this.input(req.address + i)));
      }
      case 5: {
        const pulseCoil = req.address - this.o.pulseBaseAddress;
        if (pulseCoil >= 0 && pulseCoil < n) {
          if (req.value === 0) return { exception: EXCEPTION.ILLEGAL_VALUE };
          this.s.coils[pulseCoil] = true;
          this.s.pulse_until[pulseCoil] = this.o.now() + req.value * this.o.pulseUnitMs;
          this.log('pulse', pulseCoil, req.value);
          return echoReply(req.unit, 5, req.address, req.value);
        }
        if (req.address >= n) return { exception: EXCEPTION.ILLEGAL_ADDRESS };
        if (req.value !== 0xff00 && req.value !== 0x0000) return { exception: EXCEPTION.ILLEGAL_VALUE };
        this.s.coils[req.address] = req.value === 0xff00;
        this.s.pulse_until[req.address] = null;
        this.log('set', req.address, req.value);
        return echoReply(req.unit, 5, req.address, req.value);
      }
      case 15: {
        if (req.address + req.count > n) return { exception: EXCEPTION.ILLEGAL_ADDRESS };
        for (let i = 0; i < req.count; i++) {
          this.s.coils[req.address + i] = (((req.data[i >> 3] as number) >> (i & 7)) & 1) === 1;
          this.s.pulse_until[req.address + i] = null;
        }
        return echoReply(req.unit, 15, req.address, req.count);
      }
      case 3:
      case 4:
      case 6:
      case 16:
        return { exception: EXCEPTION.ILLEGAL_FUNCTION };
    }
  }

  private input(i: number): boolean {
    if (i === this.o.doorInput) return this.s.door_open ? !this.o.doorClosedWhen : this.o.doorClosedWhen;
    if (i === this.o.exitInput) {
      const pressed = this.s.exit_pressed_until !== null && this.o.now() < this.s.exit_pressed_until;
      return pressed ? this.o.exitPressedWhen : !this.o.exitPressedWhen;
    }
    return false;
  }

  /** Ends timed pulses whose time has passed. */
  private settle(): void {
    const t = this.o.now();
    this.s.pulse_until.forEach((until, i) => {
      if (until !== null && t >= until) {
        this.s.coils[i] = false;
        this.s.pulse_until[i] = null;
      }
    });
  }

  private log(kind: 'set' | 'pulse', coil: number, value: number): void {
    this.commands.push({ at: this.o.now(), kind, coil, value });
    if (this.commands.length > 100) this.commands.shift();
  }
}
