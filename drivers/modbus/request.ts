/** What a Modbus RTU bus can be asked, and what it answers; shared by the bus and its adapter. */
export type ModbusRequest =
  | { fn: 'read_coils'; unit: number; address: number; count: number }
  | { fn: 'read_discrete_inputs'; unit: number; address: number; count: number }
  | { fn: 'read_holding_registers'; unit: number; address: number; count: number }
  | { fn: 'write_coil'; unit: number; address: number; on: boolean }
  /** FC05 with a value other than FF00/0000 (e.g. the relay board's timed pulse). */
  | { fn: 'write_coil_value'; unit: number; address: number; value: number }
  | { fn: 'write_register'; unit: number; address: number; value: number }
  | { fn: 'write_registers'; unit: number; address: number; values: number[] };

export type ModbusReply = { bits: boolean[] } | { registers: number[] } | { written: true };
