/**
 * Modbus RTU on the byte level, for the simulators. Written by us rather than taken from
 * modbus-serial's ServerSerial, which answers frames with a wrong CRC: a simulator that
 * accepts what a real slave drops cannot test the driver's CRC handling.
 */

/** Modbus CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF), sent low byte first. */
export function crc16(bytes: Uint8Array, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = 0; i < end; i++) {
    crc ^= bytes[i] as number;
    for (let b = 0; b < 8; b++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** Appends the CRC to a frame without one. */
export function withCrc(body: Uint8Array): Buffer {
  const out = Buffer.alloc(body.length + 2);
  out.set(body);
  out.writeUInt16LE(crc16(body), body.length);
  return out;
}

export function crcOk(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const got = (frame[frame.length - 2] as number) | ((frame[frame.length - 1] as number) << 8);
  return crc16(frame, frame.length - 2) === got;
}

export type RtuRequest =
  | { unit: number; fn: 1 | 2 | 3 | 4; address: number; count: number }
  | { unit: number; fn: 5 | 6; address: number; value: number }
  | { unit: number; fn: 15 | 16; address: number; count: number; data: Buffer };

/** Length of the request frame starting at `buf[0]`, or null while it cannot be known yet. -1: unsupported function. */
export function requestLength(buf: Uint8Array): number | null {
  if (buf.length < 2) return null;
  switch (buf[1]) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
      return 8;
    case 15:
    case 16:
      return buf.length < 7 ? null : 9 + (buf[6] as number);
    default:
      return -1;
  }
}

export function parseRequest(frame: Buffer): RtuRequest {
  const unit = frame[0] as number;
  const fn = frame[1] as number;
  const address = frame.readUInt16BE(2);
  switch (fn) {
    case 1:
    case 2:
    case 3:
    case 4:
      return { unit, fn, address, count: frame.readUInt16BE(4) };
    case 5:
    case 6:
      return { unit, fn, address, value: frame.readUInt16BE(4) };
    case 15:
    case 16:
      return { unit, fn, address, count: frame.readUInt16BE(4), data: frame.subarray(7, 7 + (frame[6] as number)) };
    default:
      throw new Error(`unsupported function ${fn}`);
  }
}

/** Standard exception codes a slave answers with. */
export const EXCEPTION = { ILLEGAL_FUNCTION: 1, ILLEGAL_ADDRESS: 2, ILLEGAL_VALUE: 3, DEVICE_FAILURE: 4, BUSY: 6 } as const;

export function exceptionReply(unit: number, fn: number, code: number): Buffer {
  return withCrc(Uint8Array.of(unit, fn | 0x80, code));
}

export function bitsReply(unit: number, fn: 1 | 2, bits: readonly boolean[]): Buffer {
  const n = Math.ceil(bits.length / 8);
  const body = Buffer.alloc(3 + n);
  body[0] = unit;
  body[1] = fn;
  body[2] = n;
  bits.forEach((on, i) => {
    if (on) body[3 + (i >> 3)] = (body[3 + (i >> 3)] as number) | (1 << (i & 7));
  });
  return withCrc(body);
}

export function registersReply(unit: number, fn: 3 | 4, regs: readonly number[]): Buffer {
  const body = Buffer.alloc(3 + regs.length * 2);
  body[0] = unit;
  body[1] = fn;
  body[2] = regs.length * 2;
  regs.forEach((r, i) => body.writeUInt16BE(r & 0xffff, 3 + i * 2));
  return withCrc(body);
}

/** FC05/06 echo the request; FC15/16 echo address and count. */
export function echoReply(unit: number, fn: 5 | 6 | 15 | 16, address: number, valueOrCount: number): Buffer {
  const body = Buffer.alloc(6);
  body[0] = unit;
  body[1] = fn;
  body.writeUInt16BE(address, 2);
  body.writeUInt16BE(valueOrCount & 0xffff, 4);
  return withCrc(body);
}

/** What a simulated slave answers: a frame, an exception code, or nothing (it ignores the request). */
export type SlaveAnswer = Buffer | { exception: number } | null;

export interface ModbusSlave {
  readonly unitId: number;
  handle(req: RtuRequest): SlaveAnswer;
}
