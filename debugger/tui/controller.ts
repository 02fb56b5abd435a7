/**
 * What the terminal UI needs from a debugging session. The TUI renders a
 * DebugView (a plain snapshot of the machine at the current position) and
 * drives the session through DebugController; session-controller.ts adapts
 * the timeline's Session to this, and tests use fakes.
 */

export const MARK_KINDS = ['irq', 'exception', 'serial', 'net', 'breakpoint'] as const;
export type MarkKind = (typeof MARK_KINDS)[number];

export interface TimelineMark {
  icount: number;
  kind: MarkKind;
}

export interface RegisterView {
  name: string;
  value: number;
  /** Hex digits to show (8 for 32-bit registers, 4 for selectors). */
  digits: number;
}

export interface DisasmLine {
  /** Linear address. */
  addr: number;
  /** Instruction bytes as hex, e.g. "8b 45 08". */
  bytes: string;
  text: string;
  /** `symbol+off` label when the address starts a symbol or is known. */
  symbol: string | null;
}

export interface DebugView {
  /** Name of what is being debugged (recording file or "live"). */
  title: string;
  icount: number;
  /** End of known history (the recording's length, or the live run's current end). */
  historyEnd: number;
  mode: string;
  registers: RegisterView[];
  eflags: number;
  eip: number;
  /** Linear address of the top of stack. */
  esp: number;
  /** Guest serial output up to the current icount. */
  serial: string;
  marks: TimelineMark[];
  /** Linear addresses with breakpoints. */
  breakpoints: ReadonlySet<number>;
}

export interface StopInfo {
  /** One line shown in the status bar: why execution stopped. */
  message: string;
}

export interface ProgressReport {
  /** 0..1 */
  fraction: number;
  icount: number;
}

export interface DebugController {
  view(): DebugView;
  /** Disassembles `count` instructions starting at linear `addr` (or around it for negative offsets). */
  disassemble(addr: number, count: number): DisasmLine[];
  /** Instructions that end exactly before `addr`, best effort (for showing context above EIP). */
  disassembleBefore(addr: number, count: number): DisasmLine[];
  /** Reads linear memory; null bytes where unmapped. */
  readMemory(addr: number, length: number): (number | null)[];
  /** A label for a return-address guess on the stack ("symbol+off" or null). */
  symbolize(addr: number): string | null;

  step(direction: 1 | -1): Promise<StopInfo>;
  next(direction: 1 | -1): Promise<StopInfo>;
  finish(direction: 1 | -1): Promise<StopInfo>;
  /** Continue / reverse-continue until a breakpoint, watchpoint, event breakpoint or an edge of history. */
  cont(direction: 1 | -1, onProgress: (p: ProgressReport) => void, signal: AbortSignal): Promise<StopInfo>;
  seek(icount: number): Promise<StopInfo>;
  /** Jumps to the next (1) or previous (-1) timeline mark of `kind` (any kind if null). */
  jumpToMark(kind: MarkKind | null, direction: 1 | -1): Promise<StopInfo>;
  toggleBreakpoint(addr: number): string;
  /** Runs a `:` command line; returns the message to show (or throws a RewindError). */
  command(line: string): Promise<string>;
  /** Instructions per second of the last run, if known. */
  speed(): number | null;
}
