/**
 * Raw mode on the host terminal for an interactive serial console: every
 * keystroke goes to the guest as it is typed (Ctrl-C included), and the
 * terminal is put back exactly once on every way out -- normal return,
 * thrown error, signal, or process exit -- so a crash never leaves the
 * user's shell without echo.
 */
import type { Readable } from 'node:stream';

export interface TtyInput extends Readable {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export class RawTerminal {
  private readonly input: TtyInput;
  private active = false;
  private readonly onExit: () => void;

  private constructor(input: TtyInput) {
    this.input = input;
    this.onExit = () => this.restore();
  }

  /** Puts `input` in raw mode if it is a terminal; null (nothing to restore) otherwise. */
  static enter(input: TtyInput): RawTerminal | null {
    if (!input.isTTY || typeof input.setRawMode !== 'function') return null;
    const t = new RawTerminal(input);
    input.setRawMode(true);
    t.active = true;
    process.once('exit', t.onExit);
    return t;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Leaves raw mode (idempotent). */
  restore(): void {
    if (!this.active) return;
    this.active = false;
    process.off('exit', this.onExit);
    try {
      this.input.setRawMode?.(false);
    } catch {
      // the terminal is gone (hangup): nothing to restore
    }
  }
}

/**
 * Runs `fn` with `handler` installed for SIGINT, SIGTERM and SIGHUP, removing
 * it afterwards whatever happens.
 */
export async function withSignals<T>(enabled: boolean, handler: (signal: NodeJS.Signals) => void, fn: () => Promise<T>): Promise<T> {
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  if (enabled) for (const s of sigs) process.on(s, handler);
  try {
    return await fn();
  } finally {
    if (enabled) for (const s of sigs) process.off(s, handler);
  }
}
