/**
 * The interactive console's escape key, as in QEMU: Ctrl-A is a prefix.
 *   Ctrl-A x      quit rewind (the recording, if any, is closed cleanly)
 *   Ctrl-A Ctrl-A send one Ctrl-A to the guest
 *   Ctrl-A h / ?  show these keys
 * Every other byte, Ctrl-C included, goes to the guest.
 */
export const ESCAPE_BYTE = 0x01;

export const ESCAPE_HELP = 'console: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h help; all other keys (Ctrl-C too) go to the guest';

export type EscapeCommand = 'quit' | 'help';

export class EscapeFilter {
  private pending = false;

  /** Splits typed bytes into bytes for the guest and console commands, in order. */
  feed(bytes: Uint8Array): { forward: Uint8Array; commands: EscapeCommand[] } {
    const out: number[] = [];
    const commands: EscapeCommand[] = [];
    for (const b of bytes) {
      if (this.pending) {
        this.pending = false;
        if (b === ESCAPE_BYTE) out.push(b);
        else if (b === 0x78 || b === 0x58 || b === 0x18 /* x, X, Ctrl-X */) commands.push('quit');
        else if (b === 0x68 || b === 0x3f) commands.push('help');
        // anything else after the prefix is dropped, as QEMU does
      } else if (b === ESCAPE_BYTE) {
        this.pending = true;
      } else {
        out.push(b);
      }
    }
    return { forward: Uint8Array.from(out), commands };
  }
}
