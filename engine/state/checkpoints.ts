/**
 * Checkpoints: full-machine snapshots kept in memory while recording or
 * replaying, so that any icount can be reached quickly (seek: restore the
 * nearest checkpoint at or before it, then replay forward).
 *
 * RAM is stored as deltas: each checkpoint holds the pages written since the
 * previous (surviving) checkpoint, found with a DirtyCursor of the store's
 * own; the first (base) checkpoint holds every non-zero page. A page's content
 * at checkpoint i is its copy in the newest checkpoint <= i that has one, or
 * zeros.
 *
 * Restoring touches only pages that can differ: those written since the
 * checkpoint the machine was last at (taken or restored), plus the pages in
 * the deltas between that checkpoint and the target. Nothing scans all of RAM
 * except the cursor's stamp scan.
 *
 * Thinning: when the memory used exceeds the cap, checkpoints are removed
 * (their pages merged into the next one) choosing each time the one whose
 * removal leaves the smallest gap relative to its age (distance from the
 * newest), so spacing grows roughly in proportion to age: logarithmic density.
 * The base and the newest checkpoint are never removed. Page copies are
 * immutable and shared between checkpoints; memory counts each copy once.
 *
 * Each checkpoint also stores an opaque `position` (for replay: the journal
 * event index and output hash state), so whoever restores it can reposition
 * the input source to match.
 */
import { RewindError, ERR, argError, checkInt } from '../errors.js';
import type { Machine } from '../machine.js';
import type { DirtyCursor } from '../memory/phys-memory.js';
import { PAGE_SHIFT, PAGE_SIZE } from '../memory/phys-memory.js';
import type { ComponentState, StateValue } from './snapshot.js';

export const DEFAULT_CHECKPOINT_CAP_BYTES = 1024 * 1024 * 1024;

export interface Checkpoint<P> {
  readonly id: number;
  readonly icount: number;
  readonly components: Record<string, ComponentState>;
  /** Page index -> content, for pages changed since the previous checkpoint (base: all non-zero pages). */
  readonly pages: Map<number, Uint8Array>;
  readonly position: P;
  /** Estimated bytes of this checkpoint's component records and page entries (page copies, shared, are counted once by the store). */
  bytes: number;
}

export interface CheckpointStats {
  count: number;
  bytes: number;
  capBytes: number;
  pagesStored: number;
  taken: number;
  thinned: number;
  restores: number;
  pagesRestored: number;
}

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
/** Bookkeeping per page entry of a checkpoint (map entry), besides the page copy itself. */
const PAGE_ENTRY_BYTES = 48;

function samePage(a: Uint8Array, b: Uint8Array): boolean {
  const x = new Int32Array(a.buffer, a.byteOffset, a.length >>> 2);
  const y = new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function isZero(page: Uint8Array): boolean {
  const w = new Int32Array(page.buffer, page.byteOffset, page.length >>> 2);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

function sizeOf(v: StateValue): number {
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? 16 + v.length * 2 : 8;
  if (ArrayBuffer.isView(v)) return 64 + v.byteLength;
  if (Array.isArray(v)) return v.reduce<number>((n, x) => n + sizeOf(x), 32);
  let n = 32;
  for (const k of Object.keys(v)) n += 16 + k.length * 2 + sizeOf(v[k]!);
  return n;
}

export class CheckpointStore<P = unknown> {
  readonly machine: Machine;
  capBytes: number;
  private readonly cps: Checkpoint<P>[] = [];
  private readonly cursor: DirtyCursor;
  /** The checkpoint the machine's RAM was last equal to (taken or restored), or null. */
  private ref: Checkpoint<P> | null = null;
  /** Pages that may differ from `ref` besides those the cursor reports (from thinning `ref` away). */
  private readonly extraDirty = new Set<number>();
  private nextId = 1;
  private totalBytes = 0;
  /** How many checkpoints hold each page copy (copies are shared, never mutated). */
  private readonly refs = new Map<Uint8Array, number>();
  private readonly stats = { taken: 0, thinned: 0, restores: 0, pagesRestored: 0 };

  constructor(machine: Machine, capBytes = DEFAULT_CHECKPOINT_CAP_BYTES) {
    checkInt('checkpoint memory cap', capBytes, 1 << 20, Number.MAX_SAFE_INTEGER);
    this.machine = machine;
    this.capBytes = capBytes;
    // A new cursor reports every page written since power-on: the base delta.
    this.cursor = machine.memory.createDirtyCursor();
  }

  get count(): number {
    return this.cps.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Checkpoints, oldest first (read-only view). */
  list(): readonly Checkpoint<P>[] {
    return this.cps;
  }

  newest(): Checkpoint<P> | null {
    return this.cps[this.cps.length - 1] ?? null;
  }

  getStats(): CheckpointStats {
    let pagesStored = 0;
    for (const c of this.cps) pagesStored += c.pages.size;
    return { count: this.cps.length, bytes: this.totalBytes, capBytes: this.capBytes, pagesStored, ...this.stats };
  }

  /** Index of the newest checkpoint with icount <= `icount`, or -1. */
  private indexAtOrBefore(icount: number): number {
    let lo = 0, hi = this.cps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cps[mid]!.icount <= icount) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  nearestAtOrBefore(icount: number): Checkpoint<P> | null {
    const i = this.indexAtOrBefore(icount);
    return i >= 0 ? this.cps[i]! : null;
  }

  /** Pages that may differ between the machine now and checkpoint index `target`. */
  private candidatePages(targetIndex: number): Set<number> {
    const set = new Set<number>(this.extraDirty);
    const dirty = this.cursor.collect();
    for (let i = 0; i < dirty.length; i++) set.add(dirty[i]!);
    if (this.ref === null) {
      // Unknown relation to any checkpoint: every page any checkpoint holds may differ.
      for (const c of this.cps) for (const p of c.pages.keys()) set.add(p);
      return set;
    }
    const refIndex = this.cps.indexOf(this.ref);
    const [a, b] = refIndex < targetIndex ? [refIndex, targetIndex] : [targetIndex, refIndex];
    for (let i = a + 1; i <= b; i++) for (const p of this.cps[i]!.pages.keys()) set.add(p);
    return set;
  }

  /**
   * Takes a checkpoint of the machine now and returns it. Usually this extends
   * history (icount past the newest); it may also insert a checkpoint between
   * two others (the debugger densifies history near where the user is). If
   * one exists at this icount already, that one is returned.
   */
  take(position: P): Checkpoint<P> {
    const m = this.machine;
    const icount = m.icount;
    const prevIndex = this.indexAtOrBefore(icount);
    const prev = prevIndex >= 0 ? this.cps[prevIndex]! : null;
    if (prev !== null && prev.icount === icount) return prev;
    const next = this.cps[prevIndex + 1] ?? null;
    const candidates = this.candidatePages(prevIndex);
    const pages = new Map<number, Uint8Array>();
    const mem = m.memory.mem;
    const sorted = [...candidates].sort((x, y) => x - y);
    for (const p of sorted) {
      if (p >= m.memory.ramPages) continue;
      const off = p << PAGE_SHIFT;
      const page = mem.subarray(off, off + PAGE_SIZE);
      const old = prev === null ? null : this.pageAt(prevIndex, p);
      if (old !== null ? samePage(page, old) : isZero(page)) continue; // unchanged since prev
      pages.set(p, isZero(page) ? ZERO_PAGE : page.slice());
    }
    if (next !== null) {
      // `next` held its pages relative to prev; pages the new checkpoint changed but
      // `next` did not must keep prev's content for `next`: share prev's copy.
      for (const p of pages.keys()) {
        if (!next.pages.has(p)) this.addPage(next, p, (prev === null ? null : this.pageAt(prevIndex, p)) ?? ZERO_PAGE);
      }
    }
    const components = m.registry.save();
    let stateBytes = 0;
    for (const name of Object.keys(components)) stateBytes += 64 + sizeOf(components[name]!.s);
    const cp: Checkpoint<P> = { id: this.nextId++, icount, components, pages: new Map(), position, bytes: stateBytes };
    this.totalBytes += stateBytes;
    for (const [p, d] of pages) this.addPage(cp, p, d);
    this.cps.splice(prevIndex + 1, 0, cp);
    this.ref = cp;
    this.extraDirty.clear();
    this.cursor.reset();
    this.stats.taken++;
    this.thin();
    return cp;
  }

  /** Adds a page to a checkpoint, counting the memory of each page copy once however many checkpoints share it. */
  private addPage(cp: Checkpoint<P>, p: number, d: Uint8Array): void {
    cp.pages.set(p, d);
    cp.bytes += PAGE_ENTRY_BYTES;
    this.totalBytes += PAGE_ENTRY_BYTES;
    if (d === ZERO_PAGE) return;
    const n = this.refs.get(d) ?? 0;
    this.refs.set(d, n + 1);
    if (n === 0) this.totalBytes += PAGE_SIZE;
  }

  private dropPage(d: Uint8Array): void {
    this.totalBytes -= PAGE_ENTRY_BYTES;
    if (d === ZERO_PAGE) return;
    const n = this.refs.get(d)!;
    if (n === 1) {
      this.refs.delete(d);
      this.totalBytes -= PAGE_SIZE;
    } else this.refs.set(d, n - 1);
  }

  /** Content of page `p` at checkpoint index `i` (null: zeros). */
  private pageAt(i: number, p: number): Uint8Array | null {
    for (let k = i; k >= 0; k--) {
      const d = this.cps[k]!.pages.get(p);
      if (d !== undefined) return d;
    }
    return null;
  }

  /** Restores the machine to checkpoint `cp` (rewriting only pages that may differ). */
  restore(cp: Checkpoint<P>): void {
    const index = this.cps.indexOf(cp);
    if (index < 0) throw argError(`checkpoint ${cp.id} is no longer in the store`);
    const m = this.machine;
    const candidates = this.candidatePages(index);
    const mem = m.memory.mem;
    let n = 0;
    for (const p of candidates) {
      if (p >= m.memory.ramPages) continue;
      const want = this.pageAt(index, p) ?? ZERO_PAGE;
      const off = p << PAGE_SHIFT;
      const cur = mem.subarray(off, off + PAGE_SIZE);
      // Compare first: unchanged pages are not written (their digests and code caches stay valid).
      if (samePage(cur, want)) continue;
      m.memory.writeBytes(off, want);
      n++;
    }
    m.registry.load(cp.components);
    // The pages just written equal cp: not dirty with respect to it.
    this.cursor.reset();
    this.ref = cp;
    this.extraDirty.clear();
    this.stats.restores++;
    this.stats.pagesRestored += n;
  }

  /** Forgets every checkpoint after `icount` (e.g. history beyond a branch point). */
  truncateAfter(icount: number): void {
    while (this.cps.length > 0 && this.newest()!.icount > icount) {
      const cp = this.cps.pop()!;
      for (const d of cp.pages.values()) this.dropPage(d);
      this.totalBytes -= cp.bytes - cp.pages.size * PAGE_ENTRY_BYTES;
      if (this.ref === cp) this.forgetRef(cp, this.cps.length - 1);
    }
  }

  /** The machine's RAM was last equal to `cp`, which is going away: fall back to the previous one. */
  private forgetRef(cp: Checkpoint<P>, prevIndex: number): void {
    for (const p of cp.pages.keys()) this.extraDirty.add(p);
    this.ref = prevIndex >= 0 ? this.cps[prevIndex]! : null;
  }

  /** Removes checkpoint at index i (0 < i < last), merging its pages into the next. */
  private remove(i: number): void {
    const cp = this.cps[i]!;
    const next = this.cps[i + 1]!;
    for (const [p, d] of cp.pages) {
      if (!next.pages.has(p)) {
        next.pages.set(p, d); // the reference moves: memory unchanged
        next.bytes += PAGE_ENTRY_BYTES;
      } else this.dropPage(d);
    }
    this.cps.splice(i, 1);
    this.totalBytes -= cp.bytes - cp.pages.size * PAGE_ENTRY_BYTES; // its component state
    if (this.ref === cp) this.forgetRef(cp, i - 1);
    this.stats.thinned++;
  }

  private thin(): void {
    while (this.totalBytes > this.capBytes && this.cps.length > 2) {
      const newestIcount = this.newest()!.icount;
      let best = -1;
      let bestScore = Infinity;
      for (let i = 1; i < this.cps.length - 1; i++) {
        const gap = this.cps[i + 1]!.icount - this.cps[i - 1]!.icount;
        const age = newestIcount - this.cps[i]!.icount;
        const score = gap / (age + 1);
        if (score < bestScore) {
          bestScore = score;
          best = i;
        }
      }
      if (best < 0) break;
      this.remove(best);
    }
  }

  /** Drops everything (e.g. after loading an unrelated snapshot). */
  clear(): void {
    this.cps.length = 0;
    this.totalBytes = 0;
    this.refs.clear();
    this.ref = null;
    this.extraDirty.clear();
  }
}

/** Raised when seek has nothing to start from. */
export function noCheckpoint(icount: number): RewindError {
  return new RewindError(ERR.STATE, `no checkpoint at or before icount ${icount}`);
}
