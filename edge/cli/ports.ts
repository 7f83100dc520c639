/** `store-edge ports`: the serial ports the OS sees, to fill drivers.*.transport. */
import type { Command } from 'commander';
import { listSerialPorts } from '../../drivers/index.ts';

export function registerPortsCommand(program: Command): void {
  program
    .command('ports')
    .description('list this PC\'s serial ports (USB-RS-485 adapters, scanners), for drivers.*.transport serial:///<path>?baud=9600; takes no store\'s --data-dir or --config / 列出本机串口')
    .option('--json', 'print JSON / 输出 JSON')
    .action(async (opts: { json?: boolean }) => {
      const ports = await listSerialPorts();
      if (opts.json) return console.log(JSON.stringify(ports));
      if (ports.length === 0) return console.log('No serial ports found. 未找到串口。');
      for (const p of ports) console.log(`serial://${p.byId ?? p.path}\t${p.byId ? `(${p.path})  ` : ''}${[p.manufacturer, p.vendorId && `${p.vendorId}:${p.productId ?? ''}`, p.serialNumber].filter(Boolean).join('  ')}`);
    });
}
