/**
 * Ports for test guests and firmware debugging:
 *
 *  - 0xE9, the Bochs/QEMU debug console: each byte written goes to the host
 *    (OUTPUT.DEBUGCON, target 0); reading returns 0xE9, which is how
 *    software detects the port (as Bochs and QEMU answer).
 *  - 0x402, the same console at the port QEMU's firmware uses (SeaBIOS
 *    writes its debug log there after reading 0xE9 back from it): bytes go
 *    to OUTPUT.DEBUGCON with target 1, so hosts can show or hide them.
 *  - 0x80, the POST code port: the last byte written is kept (lastPostCode,
 *    -1 if none) and read back; the summary shows it.
 *  - 0xF4, debug-exit: writing value v ends the run with STOP.EXIT and exit
 *    code v (the byte as written: 0 = pass, 1 = fail, 2 = crash for our
 *    guests; see fixtures/guests/lib/defs.inc). This is deliberately not
 *    QEMU's isa-debug-exit convention ((v << 1) | 1): the exit code is the
 *    value itself. 16- and 32-bit writes use the whole value.
 */
import type { Device, DeviceContext } from '../device.js';
import { STOP } from '../device.js';
import { OUTPUT } from '../replay/boundary.js';
import type { StateRecord } from '../state/snapshot.js';
import { num } from '../state/snapshot.js';

export const DEBUGCON_PORT = 0xe9;
export const FIRMWARE_DEBUGCON_PORT = 0x402;
export const POST_PORT = 0x80;
export const DEBUG_EXIT_PORT = 0xf4;

export class DebugPorts implements Device {
  readonly stateName = 'debug-ports';
  readonly stateVersion = 1;
  /** Last POST code written to port 0x80, or -1. */
  lastPostCode = -1;
  /** Number of POST codes written (summary). */
  postWrites = 0;
  private ctx: DeviceContext | null = null;
  private readonly outByte = new Uint8Array(1);

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    ctx.ports.register(DEBUGCON_PORT, 1, 'debugcon', {
      read8: () => DEBUGCON_PORT,
      write8: (_p, v) => this.console(v),
    });
    ctx.ports.register(FIRMWARE_DEBUGCON_PORT, 1, 'debugcon', {
      read8: () => DEBUGCON_PORT,
      write8: (_p, v) => this.console(v, 1),
    });
    ctx.ports.register(POST_PORT, 1, 'post', {
      read8: () => (this.lastPostCode < 0 ? 0xff : this.lastPostCode),
      write8: (_p, v) => {
        this.lastPostCode = v;
        this.postWrites++;
      },
    });
    ctx.ports.register(DEBUG_EXIT_PORT, 1, 'debug-exit', {
      read8: () => 0xff,
      write8: (_p, v) => this.exit(v),
      write16: (_p, v) => this.exit(v),
      write32: (_p, v) => this.exit(v >>> 0),
    });
  }

  private console(v: number, target = 0): void {
    this.outByte[0] = v;
    this.ctx?.output(OUTPUT.DEBUGCON, target, this.outByte);
  }

  private exit(v: number): void {
    this.ctx?.requestStop(STOP.EXIT, `debug-exit port 0x${DEBUG_EXIT_PORT.toString(16)} <- 0x${v.toString(16)}`, v);
  }

  reset(): void {
    // POST codes survive a reset on purpose: the last one before a reboot is the interesting one.
  }

  saveState(): StateRecord {
    return { lastPostCode: this.lastPostCode, postWrites: this.postWrites };
  }

  loadState(s: StateRecord): void {
    this.lastPostCode = num(s, 'lastPostCode');
    this.postWrites = num(s, 'postWrites');
  }
}
