/**
 * What the machine needs from a CPU. engine/cpu/cpu.ts implements it; tests
 * may use small cores of their own to exercise the run loop.
 */
import type { Snapshotable } from '../state/snapshot.js';

export interface CpuCore extends Snapshotable {
  /** Instructions retired since power-on, plus idle instructions credited while halted (see ARCHITECTURE.md). */
  icount: number;
  /** True after HLT until an interrupt (or NMI/reset) wakes the CPU. */
  halted: boolean;
  /** The INTR pin, driven by the interrupt controller. */
  intr: boolean;
  /**
   * Executes instructions until icount reaches `stopIcount`, the CPU halts with
   * no deliverable interrupt, or `stopRequested` is set by a device/debugger.
   */
  run(stopIcount: number): void;
  /** Set to make run() return at the next instruction boundary. */
  stopRequested: boolean;
  /**
   * Makes run() return at the next instruction boundary, even from the fast
   * loop (sets stopRequested and whatever the core needs to notice it). The
   * machine calls it when a device arms a deadline earlier than the end of
   * the slice being run.
   */
  endSlice?(): void;
  /** Power-on / RESET# state. */
  reset(): void;
}

/** How the CPU obtains the vector of a maskable interrupt (the INTA cycle). */
export interface InterruptAcknowledge {
  acknowledge(): number;
}
