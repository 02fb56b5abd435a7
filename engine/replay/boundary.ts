/**
 * The nondeterminism boundary: the one interface through which every value
 * that does not follow from guest state enters the machine.
 *
 * Inputs are events `[kind, icount, target, payload]`. The machine asks the
 * boundary for the icount of the next pending input, runs the CPU exactly up
 * to it, and then has the boundary deliver everything due, always at an
 * instruction boundary, never mid-instruction. The only value pulled rather
 * than pushed is the wall-clock time at power-on, taken once.
 *
 * Implementations:
 *  - ScriptedBoundary (here): a fixed list of events, for tests;
 *  - live / record / replay (engine/replay/, engine/host/): live takes inputs
 *    from the host and stamps them with the icount at which they are
 *    delivered; record does the same and appends each to the journal; replay
 *    takes them only from the journal.
 *
 * Pausing, breakpoints and throttling are host decisions and never cross the
 * boundary. Guest output (serial, 0xE9, transmitted frames) is reported to the
 * boundary too, so a recorder can hash it into sync records.
 */
import { argError, checkInt } from '../errors.js';

/** Input kinds. Numbers are journal record kinds: never renumber (see ARCHITECTURE.md). */
export const INPUT = {
  /** Host clock reading in ns (host clock mode): re-bases guest time. value = ns. */
  HOST_CLOCK: 1,
  /** Bytes received by a serial port. target = UART index (0 = COM1), data = bytes. */
  SERIAL: 2,
  /** Keyboard scancodes (set 1 bytes) into the i8042. data = bytes. */
  KEYBOARD: 3,
  /** An Ethernet frame received by a NIC. target = NIC index, data = whole frame. */
  NET_RX: 4,
  /** Entropy requested by a device. data = bytes. */
  ENTROPY: 5,
} as const;
export type InputKind = (typeof INPUT)[keyof typeof INPUT];
export const INPUT_NAMES: Record<number, string> = { 1: 'host-clock', 2: 'serial', 3: 'keyboard', 4: 'net-rx', 5: 'entropy' };

/** Output kinds, hashed into sync records. */
export const OUTPUT = { SERIAL: 1, DEBUGCON: 2, NET_TX: 3 } as const;
export type OutputKind = (typeof OUTPUT)[keyof typeof OUTPUT];

export interface InputEvent {
  kind: InputKind;
  icount: number;
  target: number;
  /** Payload bytes (SERIAL, KEYBOARD, NET_RX, ENTROPY), else null. */
  data: Uint8Array | null;
  /** Scalar payload (HOST_CLOCK), else 0. */
  value: number;
}

/** The machine side: delivers one input to the device it is for. */
export interface InputSink {
  deliverInput(ev: InputEvent): void;
}

export type BoundaryMode = 'live' | 'record' | 'replay' | 'scripted';

export interface Boundary {
  readonly mode: BoundaryMode;
  /** Wall-clock time at power-on, in ms since the Unix epoch. Called once per boot. */
  wallClockAtBoot(): number;
  /** The icount at which the next pending input must be delivered; Infinity if none is pending. */
  nextInputIcount(): number;
  /** Delivers, in order, every pending input due at or before `icount`. */
  deliverDue(icount: number, sink: InputSink): void;
  /** Guest output, reported as it happens (for hashing; never changes the run). */
  noteOutput(kind: OutputKind, target: number, icount: number, data: Uint8Array): void;
}

function validateEvent(ev: InputEvent): void {
  if (!Object.values(INPUT).includes(ev.kind)) throw argError(`unknown input kind ${String(ev.kind)}`);
  checkInt('input icount', ev.icount, 0, Number.MAX_SAFE_INTEGER);
  checkInt('input target', ev.target, 0, 255);
  if (ev.kind === INPUT.HOST_CLOCK) {
    if (!(typeof ev.value === 'number' && ev.value >= 0 && Number.isFinite(ev.value))) throw argError('host-clock input needs a finite non-negative value');
  } else if (!(ev.data instanceof Uint8Array) || ev.data.length === 0) {
    throw argError(`${INPUT_NAMES[ev.kind]} input needs non-empty data`);
  }
}

/** A boundary fed from a fixed list of events: deterministic inputs for tests. */
export class ScriptedBoundary implements Boundary {
  readonly mode = 'scripted' as const;
  private readonly events: InputEvent[];
  private next = 0;
  private readonly bootMs: number;
  readonly outputs: { kind: OutputKind; target: number; icount: number; data: Uint8Array }[] = [];

  constructor(events: InputEvent[] = [], wallClockMs = 1767225600000 /* 2026-01-01T00:00:00Z */) {
    for (const ev of events) validateEvent(ev);
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.icount < events[i - 1]!.icount) throw argError('scripted inputs must be in icount order');
    }
    this.events = events.slice();
    this.bootMs = wallClockMs;
  }

  wallClockAtBoot(): number {
    return this.bootMs;
  }

  nextInputIcount(): number {
    return this.next < this.events.length ? this.events[this.next]!.icount : Infinity;
  }

  deliverDue(icount: number, sink: InputSink): void {
    while (this.next < this.events.length && this.events[this.next]!.icount <= icount) {
      sink.deliverInput(this.events[this.next++]!);
    }
  }

  noteOutput(kind: OutputKind, target: number, icount: number, data: Uint8Array): void {
    this.outputs.push({ kind, target, icount, data: data.slice() });
  }
}
