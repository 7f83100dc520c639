/**
 * Recorded serial traffic (fixtures/serial/*.hex): hex text a maintainer can put beside a
 * capture from a real board (a USB-RS-485 sniffer, `socat -x`, a logic analyser export).
 *   # comment           anything after '#' is ignored
 *   > 01 05 02 00 00 1E 4C 7A     host → device (one request frame)
 *   < 01 05 02 00 00 1E 4C 7A     device → host (reply; several '<' lines are chunks of one reply)
 * A '>' without '<' lines is a request the device left unanswered.
 */
import type { SimDevicePort } from '../transport/sim-network.ts';

export interface CapturedExchange {
  request: Buffer;
  /** Reply chunks in arrival order; empty when the device did not answer. */
  reply: Buffer[];
  /** 1-based line of the request in the file, for messages. */
  line: number;
}

export function parseCapture(text: string): CapturedExchange[] {
  const out: CapturedExchange[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const dir = line[0];
    const hex = line.slice(1).replace(/\s+/g, '');
    if ((dir !== '>' && dir !== '<') || !/^([0-9a-fA-F]{2})+$/.test(hex)) {
      throw new Error(`capture line ${i + 1}: expected '> hex' or '< hex', got ${JSON.stringify(raw)}`);
    }
    const bytes = Buffer.from(hex, 'hex');
    if (dir === '>') out.push({ request: bytes, reply: [], line: i + 1 });
    else {
      const last = out.at(-1);
      if (!last) throw new Error(`capture line ${i + 1}: a reply before any request`);
      last.reply.push(bytes);
    }
  });
  return out;
}

/**
 * A device that answers exactly as recorded: when the host writes a recorded request, the
 * recorded reply goes back. Requests it has no recording for stay unanswered (a timeout),
 * and are listed in `unexpected`.
 */
export class ReplayDevice implements SimDevicePort {
  private toHost: ((bytes: Buffer) => void) | null = null;
  private rx = Buffer.alloc(0);
  readonly unexpected: Buffer[] = [];

  constructor(private readonly exchanges: readonly CapturedExchange[]) {}

  connect(toHost: ((bytes: Buffer) => void) | null): void {
    this.toHost = toHost;
    this.rx = Buffer.alloc(0);
  }

  fromHost(bytes: Buffer): void {
    this.rx = Buffer.concat([this.rx, bytes]);
    const hit = this.exchanges.find((e) => this.rx.length >= e.request.length && this.rx.subarray(0, e.request.length).equals(e.request));
    if (!hit) {
      if (this.rx.length >= 8 && !this.exchanges.some((e) => e.request.subarray(0, this.rx.length).equals(this.rx))) {
        this.unexpected.push(this.rx);
        this.rx = Buffer.alloc(0);
      }
      return;
    }
    this.rx = this.rx.subarray(hit.request.length);
    for (const chunk of hit.reply) this.toHost?.(chunk);
  }
}
