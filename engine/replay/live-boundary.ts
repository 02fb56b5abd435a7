/**
 * The live boundary: inputs pushed by host sources (stdin, the UDP network
 * backend, the host clock) are queued and delivered at the next slice
 * boundary, stamped with the icount then.
 *
 * "Next" is strict: an input pushed after the machine already delivered
 * inputs at icount X (every slice starts by doing so) is delivered at X+1 or
 * later, never at X. Otherwise an input pushed between two run() calls that
 * both start at X would be delivered *after* the scheduler tasks due at X,
 * while replay, running straight through X, delivers it before them. With the
 * rule, record and replay see the same order: inputs, then tasks, at every
 * icount. nextInputIcount() therefore reports X+1 while inputs are queued, so
 * a halted CPU wakes one (idle) instruction later.
 */
import { argError } from '../errors.js';
import { INPUT, INPUT_NAMES, type Boundary, type BoundaryMode, type InputEvent, type InputKind, type InputSink, type OutputKind } from './boundary.js';
import { MAX_INPUT_BYTES } from './journal.js';
import { OutputHasher } from './sync.js';

export class LiveBoundary implements Boundary {
  readonly mode: BoundaryMode = 'live';
  private queue: InputEvent[] = [];
  /** The icount of the last deliverDue() call; inputs pushed now are stamped later than it. */
  lastDeliverIcount: number;
  private readonly bootMs: number;
  /** Running hash of guest output (a recorder writes it into SYNC records). */
  readonly output = new OutputHasher();
  /** Every input delivered, in order (the recorder journals them). */
  onDeliver: (ev: InputEvent) => void = () => {};
  delivered = 0;

  /**
   * `wallClockMs`: the host's wall-clock time at power-on (engine/host reads it).
   * `startIcount`: the machine's icount now (going live in the middle of a run).
   */
  constructor(wallClockMs: number, startIcount = -1) {
    if (!Number.isFinite(wallClockMs)) throw argError('wall-clock time at boot must be a finite number');
    this.bootMs = wallClockMs;
    this.lastDeliverIcount = startIcount;
  }

  wallClockAtBoot(): number {
    return this.bootMs;
  }

  /** Queues an input from a host source. Validated here: host sources are outside the engine. */
  push(kind: InputKind, target: number, data: Uint8Array | null, value = 0): void {
    if (!(kind in INPUT_NAMES)) throw argError(`unknown input kind ${String(kind)}`);
    if (!Number.isInteger(target) || target < 0 || target > 255) throw argError(`input target must be in [0, 255], got ${target}`);
    if (kind === INPUT.HOST_CLOCK) {
      if (!Number.isSafeInteger(value) || value < 0) throw argError(`host-clock input must be whole non-negative ns, got ${value}`);
      this.queue.push({ kind, icount: -1, target, data: null, value });
      return;
    }
    if (!(data instanceof Uint8Array) || data.length === 0) throw argError(`${INPUT_NAMES[kind]} input needs non-empty data`);
    // Long serial pastes are split; a frame longer than the limit is refused.
    if (data.length > MAX_INPUT_BYTES) {
      if (kind === INPUT.NET_RX) throw argError(`received frame of ${data.length} bytes is larger than ${MAX_INPUT_BYTES}`);
      for (let o = 0; o < data.length; o += MAX_INPUT_BYTES) this.push(kind, target, data.subarray(o, o + MAX_INPUT_BYTES));
      return;
    }
    this.queue.push({ kind, icount: -1, target, data: data.slice(), value: 0 });
  }

  get pendingInputs(): number {
    return this.queue.length;
  }

  nextInputIcount(): number {
    return this.queue.length > 0 ? this.lastDeliverIcount + 1 : Infinity;
  }

  deliverDue(icount: number, sink: InputSink): void {
    if (icount <= this.lastDeliverIcount) return;
    this.lastDeliverIcount = icount;
    if (this.queue.length === 0) return;
    const q = this.queue;
    this.queue = [];
    for (const ev of q) {
      ev.icount = icount;
      this.delivered++;
      this.onDeliver(ev);
      sink.deliverInput(ev);
    }
  }

  noteOutput(kind: OutputKind, target: number, icount: number, data: Uint8Array): void {
    this.output.note(kind, target, icount, data);
  }
}
