/**
 * The P6 performance-monitoring counters (SDM Vol. 3B, "Performance
 * Monitoring Events for P6 Family Processors"): PerfEvtSel0/1 (MSRs
 * 0x186/0x187) and the 40-bit PerfCtr0/1 (0xC1/0xC2), read with RDMSR or
 * RDPMC (ECX = 0/1).
 *
 * Counting is computed, not ticked: the counters hold their value at the last
 * `sync`, which adds what happened since, from the icount and the guest clock.
 * Syncs happen at every PMU access, before every CPL change (the USR/OS
 * filter), at HLT and at the wake-up from it, so the hot loop pays nothing.
 *
 * Modelled events (any other event, or one with INV/CMASK, counts nothing and
 * is reported once per event code when it is enabled):
 * - 0xC0 INST_RETIRED: retired instructions, exactly: the icount, less the
 *   idle instructions credited while halted (HLT itself retires). A REP string
 *   instruction counts once per iteration, as it does in the icount.
 * - 0x79 CPU_CLK_UNHALTED: guest nanoseconds (the TSC's 1 GHz clock) while not
 *   halted.
 * An instruction counts under the CPL it retires at (the one that changes the
 * CPL counts under the new one); interrupt delivery is not an instruction.
 * EN (bit 22) of PerfEvtSel0 starts and stops both counters; in PerfEvtSel1
 * it is kept and ignored. Bit 21 and bits 63:32 of PerfEvtSel are reserved
 * (#GP). WRMSR to a counter writes bits 31:0 and sign-extends bit 31 into
 * 39:32. Counters wrap at 2^40. INT (bit 20) is kept but raises nothing:
 * overflow interrupts go through the local APIC's LVT, which this machine
 * does not have (as on a P6 with its APIC disabled).
 */
import type { Cpu } from './cpu.js';
import type { StateRecord } from '../state/snapshot.js';
import { num } from '../state/snapshot.js';
import { LOG } from '../log.js';

export const MSR_P6 = { PERFCTR0: 0xc1, PERFCTR1: 0xc2, PERFEVTSEL0: 0x186, PERFEVTSEL1: 0x187 } as const;
export const PERFEVTSEL = { USR: 1 << 16, OS: 1 << 17, E: 1 << 18, PC: 1 << 19, INT: 1 << 20, EN: 1 << 22, INV: 1 << 23 } as const;
/** Reserved bits of PerfEvtSel's low half (bit 21); the high half is all reserved. */
export const PERFEVTSEL_RESERVED = 1 << 21;
export const P6_EVENT = { CPU_CLK_UNHALTED: 0x79, INST_RETIRED: 0xc0 } as const;

const CTR_MOD = 2 ** 40;
const TWO32 = 2 ** 32;

export class P6Pmu {
  /** PerfEvtSel0/1 (the low 32 bits; the high ones are reserved and read 0). */
  readonly evtSel: Uint32Array;
  /** PerfCtr0/1 as of the last sync, 0 .. 2^40-1. */
  readonly ctr: Float64Array;
  /** icount and guest clock cycles (floor of ns) at the last sync. */
  baseIcount: number;
  baseCycles: number;
  /** HLT retired while counting; instructions and clocks are not counted until the wake-up. */
  asleep: boolean;
  private readonly reported: Set<number>;

  constructor() {
    this.evtSel = new Uint32Array(2);
    this.ctr = new Float64Array(2);
    this.baseIcount = 0;
    this.baseCycles = 0;
    this.asleep = false;
    this.reported = new Set();
  }

  /** RESET: PerfEvtSel cleared (the counters are undefined; they read 0 here). */
  reset(): void {
    this.evtSel.fill(0);
    this.ctr.fill(0);
    this.asleep = false;
  }

  /** Counting is on (EN in PerfEvtSel0): the CPU syncs at CPL changes and HLT. */
  get counting(): boolean {
    return (this.evtSel[0]! & PERFEVTSEL.EN) !== 0;
  }

  /** The reset state: the snapshot omits the PMU then (see saveInto). */
  get isDefault(): boolean {
    return this.evtSel[0] === 0 && this.evtSel[1] === 0 && this.ctr[0] === 0 && this.ctr[1] === 0 && !this.asleep;
  }

  /** Adds the events since the last sync (at the current CPL) and moves the base to now. */
  sync(c: Cpu, icount: number = c.icount): void {
    const cycles = Math.floor(c.machine.clock.nowNs(icount));
    if (this.counting && !this.asleep) {
      const dInstr = icount - this.baseIcount;
      const dCycles = cycles - this.baseCycles;
      const filter = c.cpl === 0 ? PERFEVTSEL.OS : PERFEVTSEL.USR;
      for (let k = 0; k < 2; k++) {
        const sel = this.evtSel[k]!;
        if (!(sel & filter) || !modelled(sel)) continue;
        const ev = sel & 0xff;
        const d = ev === P6_EVENT.INST_RETIRED ? dInstr : dCycles;
        this.ctr[k] = (this.ctr[k]! + d) % CTR_MOD;
      }
    }
    if (!this.asleep) {
      this.baseIcount = icount;
      this.baseCycles = cycles;
    }
  }

  /** HLT (called before it retires): counts up to and including the HLT, then stops. */
  sleep(c: Cpu): void {
    this.sync(c, c.icount + 1);
    this.asleep = true;
  }

  /** The halted CPU takes an interrupt: counting resumes from now. */
  wake(c: Cpu): void {
    this.asleep = false;
    this.baseIcount = c.icount;
    this.baseCycles = Math.floor(c.machine.clock.nowNs(c.icount));
  }

  /** RDMSR/RDPMC of counter k: its 40-bit value now. */
  readCounter(c: Cpu, k: number): number {
    this.sync(c);
    return this.ctr[k]!;
  }

  /** WRMSR PerfCtr k: bits 31:0 from EAX, bit 31 sign-extended into 39:32 (EDX ignored). */
  writeCounter(c: Cpu, k: number, lo: number): void {
    this.sync(c);
    lo >>>= 0;
    this.ctr[k] = lo >= 0x80000000 ? lo + 0xff * TWO32 : lo;
  }

  /** WRMSR PerfEvtSel k; false when a reserved bit is set (#GP). */
  writeEvtSel(c: Cpu, k: number, lo: number, hi: number): boolean {
    if (hi !== 0 || (lo & PERFEVTSEL_RESERVED) !== 0) return false;
    this.sync(c);
    this.evtSel[k] = lo;
    if (this.counting) {
      for (let i = 0; i < 2; i++) {
        const sel = this.evtSel[i]!;
        if (!(sel & (PERFEVTSEL.USR | PERFEVTSEL.OS)) || modelled(sel)) continue;
        const key = sel & 0xffff;
        if (this.reported.has(key)) continue;
        this.reported.add(key);
        c.logger.log(LOG.INFO, 'cpu', `PMU: event 0x${(sel & 0xff).toString(16)} umask 0x${((sel >>> 8) & 0xff).toString(16)}${sel & 0xff800000 ? ' with INV/CMASK' : ''} is not modelled; PerfCtr${i} counts nothing (reported once)`);
      }
    }
    return true;
  }

  /** Named fields for the CPU's state record; the reset state adds none (older records load as reset). */
  saveInto(c: Cpu, s: StateRecord): void {
    if (this.isDefault) return;
    this.sync(c);
    s['pmu'] = {
      evtSel: [this.evtSel[0]!, this.evtSel[1]!],
      ctr: [this.ctr[0]!, this.ctr[1]!],
      baseIcount: this.baseIcount,
      baseCycles: this.baseCycles,
      asleep: this.asleep,
    };
  }

  loadFrom(s: StateRecord): void {
    const p = s['pmu'] as StateRecord | undefined;
    this.reset();
    this.baseIcount = num(s, 'icount');
    this.baseCycles = 0;
    if (p === undefined) return;
    const sel = p['evtSel'] as number[];
    const ctr = p['ctr'] as number[];
    this.evtSel[0] = sel[0]!;
    this.evtSel[1] = sel[1]!;
    this.ctr[0] = ctr[0]!;
    this.ctr[1] = ctr[1]!;
    this.baseIcount = num(p, 'baseIcount');
    this.baseCycles = num(p, 'baseCycles');
    this.asleep = p['asleep'] === true;
  }
}

/** INST_RETIRED and CPU_CLK_UNHALTED without INV or CMASK (the edge bit has no effect then). */
function modelled(sel: number): boolean {
  const ev = sel & 0xff;
  return (ev === P6_EVENT.INST_RETIRED || ev === P6_EVENT.CPU_CLK_UNHALTED) && (sel & 0xff800000) === 0;
}
