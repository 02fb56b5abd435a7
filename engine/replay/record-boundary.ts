/**
 * The record boundary: the live boundary, plus every delivered input appended
 * to the journal, plus SYNC records (written when the Runner reaches a sync
 * point) and the END record. It also keeps the journal's events and syncs in
 * memory, so a live session can replay (seek back into) what it recorded.
 */
import type { InputEvent } from './boundary.js';
import type { BoundaryMode } from './boundary.js';
import { LiveBoundary } from './live-boundary.js';
import type { JournalEncoder, SyncRecord, EndRecord } from './journal.js';
import { SyncTables, type SyncState } from './sync.js';

export class RecordBoundary extends LiveBoundary {
  override readonly mode: BoundaryMode = 'record';
  readonly encoder: JournalEncoder;
  /** Inputs recorded so far (shared objects: do not mutate). */
  readonly events: InputEvent[] = [];
  readonly syncs: SyncRecord[] = [];
  end: EndRecord | null = null;
  private tables: SyncTables | null = null;

  constructor(wallClockMs: number, encoder: JournalEncoder, startIcount = -1) {
    super(wallClockMs, startIcount);
    this.encoder = encoder;
    this.onDeliver = (ev) => {
      this.events.push(ev);
      this.encoder.input(ev);
    };
  }

  /** Writes a SYNC record for the machine state now (the Runner calls it at every sync point). */
  atSync(icount: number, sync: SyncState): void {
    if (this.encoder.isEnded) return;
    this.tables ??= new SyncTables(sync.slots.length, sync.groupCount, sync.zeroGroupHash);
    const v = sync.compute();
    const { fieldDelta, groupDelta } = this.tables.diffAndUpdate(v);
    const outHash = this.output.digest();
    this.encoder.sync(icount, v.stateHash, outHash, fieldDelta, groupDelta);
    this.syncs.push({ icount, stateHash: v.stateHash, outHash: outHash.slice(), fieldDelta, groupDelta, eventIndex: this.events.length, recordNo: this.encoder.records - 1 });
  }

  /** Writes the END record (final icount and state hash). No record may follow. */
  finish(icount: number, sync: SyncState): EndRecord {
    const v = sync.compute();
    const outHash = this.output.digest().slice();
    this.encoder.end(icount, v.stateHash, outHash);
    this.end = { icount, stateHash: v.stateHash, outHash };
    return this.end;
  }
}
