/** `store-edge ports`: the serial ports the OS sees, to fill drivers.*.transport. */
import type { Command } from 'commander';
import { listSerialPorts } from '../../drivers/index.ts';

export function registerPortsCommand(program: Command): void {
  program
    .command('ports')
    .description('List serial ports (USB-RS-485 adapters, scanners); use the path in serial:///<path>?baud=9600')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const ports = await listSerialPorts();
      if (opts.json) return console.log(JSON.stringify(ports));
      if (ports.length === 0) return console.log('No serial ports found. 未找到串口。');
      for (const p of ports) console.log(`serial://${p.byId ?? p.path}\t${p.byId ? `(${p.path})  ` : ''}${[p.manufacturer, p.vendorId && `${p.vendorId}:${p.productId ?? ''}`, p.serialNumber].filter(Boolean).join('  ')}`);
    });
}
