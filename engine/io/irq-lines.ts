/**
 * Interrupt request lines with level semantics. Each line is the OR of the
 * sources driving it (PCI devices share lines), kept as a bitmask of source
 * ids. The interrupt controller listens for changes and decides itself whether
 * a line is edge- or level-triggered.
 */
import { argError, checkInt } from '../errors.js';
import type { Snapshotable, StateRecord } from '../state/snapshot.js';
import { intoTyped } from '../state/snapshot.js';

export const IRQ_LINE_COUNT = 16;

export class IrqLines implements Snapshotable {
  readonly stateName = 'irq';
  readonly stateVersion = 1;
  /** Bitmask of asserting sources per line. */
  readonly sources = new Uint32Array(IRQ_LINE_COUNT);
  private readonly sourceNames: string[] = ['default'];
  /** Called with (line, level) whenever a line's level changes. */
  onChange: (line: number, level: boolean) => void = () => {};

  /** Returns a source id for a device that shares lines with others. */
  allocSource(name: string): number {
    if (this.sourceNames.length >= 32) throw argError('too many interrupt sources (32 at most)');
    this.sourceNames.push(name);
    return this.sourceNames.length - 1;
  }

  /** Drives `line` high or low on behalf of `source`. */
  set(line: number, high: boolean, source = 0): void {
    if (line >>> 0 >= IRQ_LINE_COUNT) checkInt('IRQ line', line, 0, IRQ_LINE_COUNT - 1);
    const before = this.sources[line]!;
    const after = high ? before | (1 << source) : before & ~(1 << source);
    this.sources[line] = after;
    if ((before === 0) !== (after === 0)) this.onChange(line, after !== 0);
  }

  raise(line: number, source = 0): void {
    this.set(line, true, source);
  }

  lower(line: number, source = 0): void {
    this.set(line, false, source);
  }

  /** Raise then lower: an edge for edge-triggered inputs. */
  pulse(line: number, source = 0): void {
    this.set(line, true, source);
    this.set(line, false, source);
  }

  level(line: number): boolean {
    return this.sources[line]! !== 0;
  }

  saveState(): StateRecord {
    return { sources: this.sources.slice() };
  }

  loadState(s: StateRecord): void {
    intoTyped(s, 'sources', this.sources);
  }
}
