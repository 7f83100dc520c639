/** A USB-serial QR/barcode reader: sends a line per scan, ignores what the host writes. */
import type { SimDevicePort } from '../transport/sim-network.ts';

export class ScannerSim implements SimDevicePort {
  private toHost: ((bytes: Buffer) => void) | null = null;
  /** Scans made while no host had the port open (lost, as with a real reader). */
  lost = 0;

  connect(toHost: ((bytes: Buffer) => void) | null): void {
    this.toHost = toHost;
  }

  fromHost(_bytes: Buffer): void {}

  get connected(): boolean {
    return this.toHost !== null;
  }

  /** Sends `code` with the reader's terminator. Returns false if no host was listening. */
  scan(code: string, terminator: '\r' | '\n' | '\r\n' = '\r'): boolean {
    return this.raw(Buffer.from(code + terminator, 'latin1'));
  }

  /** Arbitrary bytes: noise, a half line, a reader in the wrong mode. */
  raw(bytes: Buffer): boolean {
    if (!this.toHost) {
      this.lost += 1;
      return false;
    }
    this.toHost(bytes);
    return true;
  }
}
