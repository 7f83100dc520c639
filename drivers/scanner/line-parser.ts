/**
 * Bytes from a QR/barcode/card reader to codes. Readers end a scan with CR, LF or CRLF;
 * everything else about the bytes is untrusted: line noise, a half-plugged cable, a reader
 * in the wrong mode. Only whole lines of printable ASCII within the length bounds pass.
 */
export type LineRejectReason = 'too_long' | 'too_short' | 'non_printable' | 'timeout';

export type LineOutput = { kind: 'code'; code: string } | { kind: 'rejected'; reason: LineRejectReason; length: number };

export interface LineParserConfig {
  max_line_length: number;
  min_line_length: number;
}

const CR = 0x0d;
const LF = 0x0a;

export class ScanLineParser {
  private buf: number[] = [];
  private overlong = false;
  private nonPrintable = false;
  private lastWasCr = false;

  constructor(private readonly cfg: LineParserConfig) {}

  get pending(): number {
    return this.buf.length;
  }

  push(bytes: Uint8Array): LineOutput[] {
    const out: LineOutput[] = [];
    for (const b of bytes) {
      if (b === LF && this.lastWasCr) {
        // the LF of a CRLF pair: the line already ended at CR
        this.lastWasCr = false;
        continue;
      }
      this.lastWasCr = b === CR;
      if (b === CR || b === LF) {
        const line = this.endLine();
        if (line) out.push(line);
        continue;
      }
      if (b < 0x20 || b > 0x7e) this.nonPrintable = true;
      if (this.buf.length >= this.cfg.max_line_length) this.overlong = true;
      else this.buf.push(b);
    }
    return out;
  }

  /** A partial line waited too long for its terminator: drop it. */
  expire(): LineOutput | null {
    if (this.buf.length === 0 && !this.overlong) return null;
    const length = this.buf.length;
    this.reset();
    return { kind: 'rejected', reason: 'timeout', length };
  }

  private endLine(): LineOutput | null {
    const length = this.buf.length;
    const { overlong, nonPrintable } = this;
    const text = String.fromCharCode(...this.buf);
    this.reset();
    if (overlong) return { kind: 'rejected', reason: 'too_long', length };
    if (nonPrintable) return { kind: 'rejected', reason: 'non_printable', length };
    if (length === 0) return null; // blank lines between scans are normal
    const code = text.trim();
    if (code.length < this.cfg.min_line_length) return { kind: 'rejected', reason: 'too_short', length };
    return { kind: 'code', code };
  }

  private reset(): void {
    this.buf = [];
    this.overlong = false;
    this.nonPrintable = false;
  }
}
