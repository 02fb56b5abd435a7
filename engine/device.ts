/**
 * The one small interface every device implements. A device is attached once
 * to the machine's buses (ports, physical map, IRQ lines, scheduler, boundary),
 * can be reset, and saves/loads its state as named, versioned fields.
 */
import type { PortBus } from './io/port-bus.js';
import type { PhysMemory } from './memory/phys-memory.js';
import type { IrqLines } from './io/irq-lines.js';
import type { Scheduler } from './time/scheduler.js';
import type { GuestClock } from './time/clock.js';
import type { Logger } from './log.js';
import type { Boundary, OutputKind, InputEvent } from './replay/boundary.js';
import type { Snapshotable } from './state/snapshot.js';

export interface DeviceContext {
  readonly ports: PortBus;
  readonly memory: PhysMemory;
  readonly irq: IrqLines;
  readonly scheduler: Scheduler;
  readonly clock: GuestClock;
  readonly logger: Logger;
  readonly boundary: Boundary;
  /** The current instruction count (the machine's clock of record). */
  icount(): number;
  /** Guest time now, in ns. */
  nowNs(): number;
  /** Reports guest output (serial bytes, 0xE9, transmitted frames) to the host and the boundary. */
  output(kind: OutputKind, target: number, data: Uint8Array): void;
  /** The interrupt controller drives the CPU's INTR pin through this. */
  setIntr(level: boolean): void;
  /** Asks the run loop to stop after the current instruction (debug-exit, reset, triple fault). */
  requestStop(reason: StopReason, detail?: string, exitCode?: number): void;
  /** Asserts or releases the CPU's A20 line (i8042, port 0x92). */
  setA20(enabled: boolean): void;
  /** Routes boundary inputs of `kind` (INPUT.*) for `target` (e.g. UART index) to this device. */
  registerInput(kind: number, target: number, handler: (ev: InputEvent) => void): void;
  /** Resets the whole machine (i8042 0xFE, port 0xCF9, triple fault) at the next instruction boundary. */
  requestReset(reason: string): void;
}

export interface Device extends Snapshotable {
  attach(ctx: DeviceContext): void;
  /** Returns the device to its power-on state (scheduler tasks cancelled). */
  reset(): void;
}

/** Why Machine.run returned. */
export const STOP = {
  BUDGET: 'budget',
  HALTED: 'halted',
  EXIT: 'exit',
  RESET: 'reset',
  TRIPLE_FAULT: 'triple-fault',
  BREAKPOINT: 'breakpoint',
  REQUESTED: 'requested',
  ERROR: 'error',
  UNTIL: 'until',
} as const;
export type StopReason = (typeof STOP)[keyof typeof STOP];
