/** Public surface of the drivers. Everything else under drivers/ is internal. */
export { DriversConfigSchema, resolveDriversConfig } from './config.ts';
export type { DriversConfig, LockConfig, ScalesConfig, ScannerConfig, ModbusBusConfig, ScaleConfig, ScaleRegisterMap } from './config.ts';
export { DriverError, isDriverError, type DriverErrorCode } from './errors.ts';
export { createDrivers, type Drivers } from './create.ts';
export { ModbusBus, type BusHealth, type BusStats, type Priority } from './modbus/bus.ts';
export { LockDriver, type LockEvents, type UnlockResult, type DoorState, type LockAlarmReason } from './lock/lock-driver.ts';
export { ScaleDriver, type ScaleEvents, type SlotStatus, type ScaleHealth } from './scales/scale-driver.ts';
export type { WeightChange } from './scales/reading.ts';
export { ScannerDriver, type ScannerEvents } from './scanner/scanner-driver.ts';
export { SimNetwork } from './transport/sim-network.ts';
export { parseTransportUrl, wireMs, type TransportSpec } from './transport/url.ts';
export { listSerialPorts } from './transport/byte-stream.ts';
export { createSimulatedHardware, type SimulatedHardware, type SimulatedHardwareOptions, type SimulatedHardwareState } from './sim/hardware.ts';
export type { SimFault, SimFaultKind } from './sim/rtu-bus.ts';
export type { ScalePhysics } from './sim/scale-sim.ts';
