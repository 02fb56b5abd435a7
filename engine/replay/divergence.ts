/**
 * Divergence reports: when replay's state at a SYNC (or END) record differs
 * from the recording's, say where (the icount window since the last good
 * sync), what (fields by "component.field", RAM by physical range, guest
 * output), and which journal events are nearby.
 */
import { RewindError, ERR } from '../errors.js';
import { INPUT_NAMES, type InputEvent } from './boundary.js';
import { FIELD_HASH_BYTES, GROUP_HASH_BYTES } from './journal.js';

export interface NearEvent {
  index: number;
  icount: number;
  kind: string;
  target: number;
  bytes: number;
}

export interface DivergenceReport {
  /** The SYNC (or END) at which the difference was seen. */
  icount: number;
  /** The last sync that matched (or the journal start): the cause lies in (sinceIcount, icount]. */
  sinceIcount: number;
  /** Journal record number of the SYNC/END that failed. */
  recordNo: number;
  atEnd: boolean;
  recordedHash: string;
  replayedHash: string;
  /** "component.field" slots whose hashes differ (or "component.*": version or unlisted fields). */
  fields: string[];
  /** Components with any differing field. */
  components: string[];
  /** Differing RAM as inclusive physical ranges (adjacent groups merged). */
  ram: [number, number][];
  /** The running hash of guest output differs. */
  output: boolean;
  /** Journal inputs in the window, and the last one before it. */
  nearEvents: NearEvent[];
}

export class DivergenceError extends RewindError {
  readonly report: DivergenceReport;
  constructor(report: DivergenceReport) {
    super(ERR.DIVERGENCE, summarize(report));
    this.report = report;
  }
}

const hex = (n: number): string => '0x' + n.toString(16).padStart(8, '0');

/** One line: where and what. */
export function summarize(r: DivergenceReport): string {
  const what: string[] = [];
  if (r.fields.length) what.push(r.fields.slice(0, 6).join(', ') + (r.fields.length > 6 ? ` (+${r.fields.length - 6} more)` : ''));
  if (r.ram.length) what.push(`RAM ${r.ram.slice(0, 3).map(([a, b]) => `${hex(a)}-${hex(b)}`).join(', ')}${r.ram.length > 3 ? ` (+${r.ram.length - 3} more ranges)` : ''}`);
  if (r.output) what.push('guest output');
  if (what.length === 0) what.push('state hash only (no field or RAM hash differs)');
  return `replay diverged from the recording between icount ${r.sinceIcount} and ${r.icount}${r.atEnd ? ' (END record)' : ''}: ${what.join('; ')} differ`;
}

/** A multi-line report for the CLI / debugger. */
export function formatReport(r: DivergenceReport): string {
  const lines = [summarize(r)];
  lines.push(`  window: icount ${r.sinceIcount} .. ${r.icount} (journal record ${r.recordNo})`);
  lines.push(`  state hash: recorded ${r.recordedHash.slice(0, 16)}..., replayed ${r.replayedHash.slice(0, 16)}...`);
  if (r.components.length) lines.push(`  components: ${r.components.join(', ')}`);
  if (r.fields.length) lines.push(`  fields: ${r.fields.join(', ')}`);
  for (const [a, b] of r.ram) lines.push(`  RAM ${hex(a)}-${hex(b)}`);
  if (r.output) lines.push('  guest output (serial, 0xE9 or transmitted frames) differs');
  if (r.nearEvents.length === 0) lines.push('  no journal inputs near the window');
  for (const e of r.nearEvents) lines.push(`  input #${e.index} at icount ${e.icount}: ${e.kind}${e.target ? ` target ${e.target}` : ''} (${e.bytes} bytes)`);
  return lines.join('\n');
}

export function diffFields(slots: string[], recorded: Uint8Array, replayed: Uint8Array): string[] {
  const out: string[] = [];
  for (let s = 0; s < slots.length; s++) {
    const o = s * FIELD_HASH_BYTES;
    for (let k = 0; k < FIELD_HASH_BYTES; k++) {
      if (recorded[o + k] !== replayed[o + k]) {
        out.push(slots[s]!);
        break;
      }
    }
  }
  return out;
}

export function diffGroups(recorded: Uint8Array, replayed: Uint8Array, range: (g: number) => [number, number]): [number, number][] {
  const out: [number, number][] = [];
  const n = Math.min(recorded.length, replayed.length) / GROUP_HASH_BYTES;
  for (let g = 0; g < n; g++) {
    const o = g * GROUP_HASH_BYTES;
    let differs = false;
    for (let k = 0; k < GROUP_HASH_BYTES; k++) if (recorded[o + k] !== replayed[o + k]) differs = true;
    if (!differs) continue;
    const [a, b] = range(g);
    const last = out[out.length - 1];
    if (last && last[1] + 1 === a) last[1] = b;
    else out.push([a, b]);
  }
  return out;
}

/** Inputs with icount in (since, at], at most `max`, plus the last input before the window. */
export function nearEvents(events: InputEvent[], since: number, at: number, max = 8): NearEvent[] {
  // Binary search for the first event with icount > since.
  let lo = 0, hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.icount <= since) lo = mid + 1;
    else hi = mid;
  }
  const out: NearEvent[] = [];
  const add = (i: number): void => {
    const e = events[i]!;
    out.push({ index: i, icount: e.icount, kind: INPUT_NAMES[e.kind] ?? String(e.kind), target: e.target, bytes: e.data ? e.data.length : 0 });
  };
  if (lo > 0) add(lo - 1);
  for (let i = lo; i < events.length && events[i]!.icount <= at && out.length < max + 1; i++) add(i);
  return out;
}
