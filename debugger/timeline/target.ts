/**
 * The small interface the session drives. A DebugTarget is one machine plus
 * its history (checkpoints and, when replaying, a journal). The adapter over
 * the real Machine + CPU + CheckpointStore is machine-target.ts; tests use a
 * small deterministic machine of their own.
 *
 * Positions. The clock is icount. The state "at icount t" is the state a
 * straight run stopped by `run(t)` has: instruction t (0-based) not yet
 * executed. When an interrupt or exception is delivered before instruction t
 * executes, the CPU passes through a second state at the same icount, the
 * handler's entry; `sub` counts such deliveries since the last retired
 * instruction, so a position is (icount, sub).
 */

/** Register ids. 0..15 are gdb's i386 numbering (eax..gs). */
export const REG = {
  EAX: 0, ECX: 1, EDX: 2, EBX: 3, ESP: 4, EBP: 5, ESI: 6, EDI: 7,
  EIP: 8, EFLAGS: 9, CS: 10, SS: 11, DS: 12, ES: 13, FS: 14, GS: 15,
  CR0: 16, CR2: 17, CR3: 18, CR4: 19,
  CS_BASE: 20, SS_BASE: 21, DS_BASE: 22, ES_BASE: 23, FS_BASE: 24, GS_BASE: 25,
} as const;
export type RegId = (typeof REG)[keyof typeof REG];
export const REG_NAMES: readonly string[] = [
  'eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi',
  'eip', 'eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs',
  'cr0', 'cr2', 'cr3', 'cr4',
  'cs_base', 'ss_base', 'ds_base', 'es_base', 'fs_base', 'gs_base',
];
export const REG_COUNT = REG_NAMES.length;

/** Event kinds a probe can ask for (bit flags). */
export const EV = {
  INTERRUPT: 1, // external interrupt or NMI delivered
  EXCEPTION: 2, // CPU exception delivered
  SOFT_INT: 4, // INT n / INT3 / INTO delivered
  IO: 8,
  SERIAL_OUT: 16,
  NET_RX: 32,
  NET_TX: 64,
  HLT: 128,
  MODE: 256,
} as const;
/** Events that move to a sub-position (handler entry before the next instruction retires). */
export const EV_DELIVERY = EV.INTERRUPT | EV.EXCEPTION;

export type TargetEvent =
  | { kind: 'interrupt'; vector: number; source: 'external' | 'nmi' | 'exception' | 'software'; errorCode: number }
  | { kind: 'io'; port: number; size: number; isWrite: boolean; value: number }
  | { kind: 'serial'; port: number; data: Uint8Array }
  | { kind: 'net'; dir: 'rx' | 'tx'; nic: number; frame: Uint8Array }
  | { kind: 'hlt' }
  | { kind: 'mode'; cr0: number; cr4: number; from: CpuMode; to: CpuMode };

export type CpuMode = 'real' | 'protected' | 'paging' | 'v86';

export function eventMask(ev: TargetEvent): number {
  switch (ev.kind) {
    case 'interrupt':
      return ev.source === 'exception' ? EV.EXCEPTION : ev.source === 'software' ? EV.SOFT_INT : EV.INTERRUPT;
    case 'io':
      return EV.IO;
    case 'serial':
      return EV.SERIAL_OUT;
    case 'net':
      return ev.dir === 'rx' ? EV.NET_RX : EV.NET_TX;
    case 'hlt':
      return EV.HLT;
    case 'mode':
      return EV.MODE;
  }
}

/**
 * What to watch during a forward run. Callbacks run synchronously while the
 * machine is paused at the point they describe; they may read registers and
 * memory but must not run the target. Returning true stops the run:
 *  - onInsn: before the instruction (position icount, sub);
 *  - onAccess: after the accessing instruction completes;
 *  - onEvent: deliveries of external interrupts, NMIs and exceptions are
 *    reported after the delivery, with `sub` already incremented, and stop
 *    at the handler's entry; INT n / INT3 / INTO (source 'software') are
 *    part of their instruction, like every other event: reported while it
 *    executes (position = its start) and stopping after it completes (which
 *    for INT n is the handler's entry). Net rx: where it is delivered.
 */
export interface Probe {
  /** Linear EIPs for which onInsn is called; null = every instruction; empty = none. */
  code: ReadonlySet<number> | null;
  onInsn(linEip: number): boolean;
  /** If false onAccess is never called (the fast path stays available). */
  memory: boolean;
  /** `value`: the value read or written (little-endian, `size` bytes), when the target knows it; else -1. */
  onAccess(linAddr: number, physAddr: number, size: number, isWrite: boolean, value: number): boolean;
  /** EV.* mask of events to report. */
  events: number;
  onEvent(ev: TargetEvent): boolean;
}

export type TargetStopReason =
  | 'until' // reached the requested icount
  | 'probe' // a probe callback returned true
  | 'halted' // halted with nothing that could wake the CPU (live input only)
  | 'exit' // the guest asked to stop (debug-exit port, shutdown)
  | 'end' // end of recorded history (replay)
  | 'error';

export interface TargetStop {
  reason: TargetStopReason;
  detail: string;
}

/** A recorded input or output event, for the `events` command. */
export interface TimelineEvent {
  icount: number;
  kind: string;
  summary: string;
}

/** x87 state as gdb shows it: st0..st7 in stack order, 10 bytes each (little-endian 80-bit). */
export interface FpuState {
  st: Uint8Array[];
  fctrl: number;
  fstat: number;
  /** The full 16-bit tag word. */
  ftag: number;
  fiseg: number;
  fioff: number;
  foseg: number;
  fooff: number;
  fop: number;
}

export interface DebugTarget {
  readonly icount: number;
  /** Deliveries since the last retired instruction (see the file comment). */
  readonly sub: number;
  /** Earliest reachable icount (the first checkpoint). */
  readonly historyStart: number;
  /** Last reachable icount in a replay; Infinity when live (running forward extends history). */
  readonly historyEnd: number;
  /** True after a debugger write in the past: the state is a disposable copy. */
  /** Live targets: the newest icount recorded so far (history is [historyStart, frontier]). */
  readonly frontier?: number;
  readonly onBranch: boolean;
  readonly halted: boolean;

  readReg(id: RegId): number;
  writeReg(id: RegId, value: number): void;
  /** Linear -> physical through segmentation-free paging; -1 if not mapped. */
  linearToPhysical(linAddr: number, forWrite: boolean): number;
  readPhysical(physAddr: number, length: number): Uint8Array;
  /** One byte of RAM/ROM (0xff elsewhere), without allocating: the per-instruction probes use it. Optional. */
  read8?(physAddr: number): number;
  writePhysical(physAddr: number, data: Uint8Array): void;
  /** The x87 registers, if the target models them (read-only for the debugger). */
  readFpu?(): FpuState;
  /** True if the code segment is 32-bit (CS.D), false in real mode / 16-bit code. */
  codeIs32(): boolean;

  /** Runs forward until icount reaches `untilIcount` or the probe stops it. */
  run(untilIcount: number, probe: Probe | null): TargetStop;
  /** Goes to (icount, 0) on the recorded timeline (discarding any branch). */
  seek(icount: number): void;
  /** The icount of the newest checkpoint at or before `icount` (>= historyStart). */
  checkpointAtOrBefore(icount: number): number;
  /** Adds a checkpoint at the current position (not on a branch); optional. */
  takeCheckpoint?(): void;
  /** Makes the current state a disposable branch before the debugger writes to it. */
  beginBranch(): void;
  /** Recorded events with icount in [from, to). */
  events(from: number, to: number): TimelineEvent[];
  stateHash(): string;
}
