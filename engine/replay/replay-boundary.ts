/**
 * The replay boundary: inputs come only from the journal and are delivered at
 * exactly their icount (the machine ends a slice there: nextInputIcount). At
 * every sync point the Runner reaches, the machine's sync values are checked
 * against the journal's SYNC record; the first mismatch throws a
 * DivergenceError with a report. Guest output is hashed as when recording.
 *
 * The boundary can be repositioned (seek: a checkpoint stores its position),
 * and its journal can be one still being written (a live session replaying
 * what it has recorded so far): it reads the arrays it is given.
 */
import { RewindError, ERR } from '../errors.js';
import { INPUT_NAMES, type Boundary, type InputEvent, type InputSink, type OutputKind } from './boundary.js';
import type { SyncRecord, EndRecord } from './journal.js';
import { OutputHasher, SyncTables, type OutputHashState, type SyncState } from './sync.js';
import { DivergenceError, diffFields, diffGroups, nearEvents, type DivergenceReport } from './divergence.js';
import { toHex } from '../state/sha256.js';

/** Where a replay is in its journal: saved with every checkpoint. */
export interface ReplayPosition {
  eventIndex: number;
  syncIndex: number;
  lastGoodSync: number;
  output: OutputHashState;
}

export interface ReplaySource {
  events: InputEvent[];
  syncs: SyncRecord[];
  end: EndRecord | null;
  /** The icount the journal starts at. */
  startIcount: number;
  /** How far the journal is known to be good (END's icount, or the last whole record's). */
  lastIcount: number;
  /** Field slots of its SYNC records. */
  fields: string[];
  bootWallMs: number;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ReplayBoundary implements Boundary {
  readonly mode = 'replay' as const;
  readonly source: ReplaySource;
  private pos = 0;
  private syncPos = 0;
  /** The icount of the last SYNC that matched (or the journal start). */
  lastGoodSync: number;
  readonly output = new OutputHasher();
  syncsVerified = 0;
  endVerified = false;

  constructor(source: ReplaySource) {
    this.source = source;
    this.lastGoodSync = source.startIcount;
  }

  wallClockAtBoot(): number {
    return this.source.bootWallMs;
  }

  /** The icount up to which this journal can be replayed. */
  get endIcount(): number {
    return this.source.end ? this.source.end.icount : this.source.lastIcount;
  }

  get eventIndex(): number {
    return this.pos;
  }

  nextInputIcount(): number {
    const ev = this.source.events[this.pos];
    return ev ? ev.icount : Infinity;
  }

  deliverDue(icount: number, sink: InputSink): void {
    const evs = this.source.events;
    while (this.pos < evs.length && evs[this.pos]!.icount <= icount) {
      const ev = evs[this.pos]!;
      if (ev.icount < icount) {
        // The machine ran past an input: it cannot have come from a journal-following run.
        throw new RewindError(ERR.DIVERGENCE, `replay passed journal input #${this.pos} (${INPUT_NAMES[ev.kind]} at icount ${ev.icount}) without stopping: machine is at ${icount}`);
      }
      this.pos++;
      sink.deliverInput(ev);
    }
  }

  noteOutput(kind: OutputKind, target: number, icount: number, data: Uint8Array): void {
    this.output.note(kind, target, icount, data);
  }

  /** Checks the machine against the journal's SYNC at `icount`, if it has one. */
  atSync(icount: number, sync: SyncState): void {
    const syncs = this.source.syncs;
    while (this.syncPos < syncs.length && syncs[this.syncPos]!.icount < icount) this.syncPos++;
    const rec = syncs[this.syncPos];
    if (!rec || rec.icount !== icount) return;
    const v = sync.compute();
    const out = this.output.digest();
    if (!equalBytes(v.stateHash, rec.stateHash) || !equalBytes(out, rec.outHash)) {
      throw new DivergenceError(this.report(icount, sync, v.stateHash, v.fieldHashes, v.groupHashes, !equalBytes(out, rec.outHash), rec.stateHash, this.syncPos, rec.recordNo, false));
    }
    this.syncPos++;
    this.syncsVerified++;
    this.lastGoodSync = icount;
  }

  /** Checks the END record if the machine is at its icount (once). */
  atEnd(icount: number, sync: SyncState): void {
    const end = this.source.end;
    if (!end || this.endVerified || icount !== end.icount) return;
    const v = sync.compute();
    const out = this.output.digest();
    if (!equalBytes(v.stateHash, end.stateHash) || !equalBytes(out, end.outHash)) {
      throw new DivergenceError(this.report(icount, sync, v.stateHash, v.fieldHashes, v.groupHashes, !equalBytes(out, end.outHash), end.stateHash, this.source.syncs.length, -1, true));
    }
    this.endVerified = true;
  }

  private report(
    icount: number,
    sync: SyncState,
    stateHash: Uint8Array,
    fieldHashes: Uint8Array,
    groupHashes: Uint8Array,
    output: boolean,
    recordedHash: Uint8Array,
    syncIndex: number,
    recordNo: number,
    atEnd: boolean,
  ): DivergenceReport {
    // Rebuild the recording's tables as of the last SYNC at or before this point.
    const tables = new SyncTables(this.source.fields.length, sync.groupCount, sync.zeroGroupHash);
    const syncs = this.source.syncs;
    const upto = atEnd ? syncs.length - 1 : syncIndex;
    for (let i = 0; i <= upto && i < syncs.length; i++) tables.apply(syncs[i]!.fieldDelta, syncs[i]!.groupDelta);
    // The replay's field hashes are over the header's slots only when the machine has the same slot list.
    const fields = sync.slots.length === this.source.fields.length && sync.slots.every((s, i) => s === this.source.fields[i])
      ? diffFields(this.source.fields, tables.fieldHashes, fieldHashes)
      : ['(machine has different components than the recording)'];
    const comps = [...new Set(fields.map((f) => f.slice(0, f.lastIndexOf('.'))))];
    // For END the tables reflect the last SYNC, not END: RAM/fields are only named at SYNCs.
    const ram = atEnd ? [] : diffGroups(tables.groupHashes, groupHashes, (g) => sync.groupRange(g));
    return {
      icount,
      sinceIcount: this.lastGoodSync,
      recordNo,
      atEnd,
      recordedHash: toHex(recordedHash),
      replayedHash: toHex(stateHash),
      fields: atEnd ? [] : fields,
      components: atEnd ? [] : comps,
      ram,
      output,
      nearEvents: nearEvents(this.source.events, this.lastGoodSync, icount),
    };
  }

  position(): ReplayPosition {
    return { eventIndex: this.pos, syncIndex: this.syncPos, lastGoodSync: this.lastGoodSync, output: this.output.save() };
  }

  /** Moves to a saved position (the machine is restored to the matching checkpoint by the caller). */
  reposition(p: ReplayPosition): void {
    if (!(p.eventIndex >= 0 && p.eventIndex <= this.source.events.length)) throw new RewindError(ERR.STATE, `replay position ${p.eventIndex} is outside the journal`);
    this.pos = p.eventIndex;
    this.syncPos = p.syncIndex;
    this.lastGoodSync = p.lastGoodSync;
    this.output.load(p.output);
    this.endVerified = false;
  }
}
