/**
 * Boots the guest programs of fixtures/guests/ on a rewind machine and
 * collects what they report: 0xE9 console text, COM1 serial text, the last
 * POST code, the debug-exit status and why the run stopped.
 *
 * The machine comes from engine/pc.ts (`createPc(config, deps, { kind: 'bios' })`);
 * if that module is missing, from `new Machine(...)` with engine/cpu/cpu.ts's
 * `Cpu`, the debug ports and whatever PC devices exist, wired here. The engine modules are imported dynamically so that
 * this file builds before they exist; `loadGuestEngine()` says what is missing,
 * and tests skip with that message instead of failing or passing falsely.
 *
 * Guest conventions (fixtures/guests/README.md): a ROM image mapped as the
 * BIOS, started from the reset vector; exit status 0 = all checks passed,
 * 1 = a check failed (named on 0xE9), 2 = unexpected exception.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine, type MachineConfig } from '../../engine/machine.js';
import { OUTPUT, ScriptedBoundary, type InputEvent, type Boundary } from '../../engine/replay/boundary.js';
import type { CpuCore } from '../../engine/cpu/cpu-core.js';
import type { Device } from '../../engine/device.js';
import { STOP } from '../../engine/device.js';
import { repoRoot } from '../util.js';

/** Exit statuses the guests write to port 0xF4 (fixtures/guests/lib/defs.inc). */
export const GUEST_EXIT = { PASS: 0, FAIL: 1, CRASH: 2 } as const;

export const guestsDir = join(repoRoot, 'fixtures', 'guests');

export function guestImage(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(guestsDir, `${name}.rom`)));
}

export interface GuestRun {
  /** Why Machine.run returned (STOP.*). */
  reason: string;
  detail: string;
  /** The debug-exit status when reason is 'exit', else null. */
  exitCode: number | null;
  /** Bytes written to port 0xE9, as latin1 text. */
  console: string;
  /** Bytes written by the guest to COM1 (when a UART is present). */
  serial: string;
  /** Last POST code written to port 0x80 (-1 if none seen). */
  post: number;
  icount: number;
  machine: Machine;
  /** The scripted boundary: `outputs` holds every output (serial, 0xE9, frames) with its icount. */
  boundary: ScriptedBoundary;
}

export interface GuestOptions {
  maxInstructions?: number;
  ramBytes?: number;
  /** Inputs delivered through a ScriptedBoundary (serial bytes, frames...). */
  inputs?: InputEvent[];
  /** Wall-clock time at power-on (ms since the epoch) for the RTC. */
  wallClockMs?: number;
}

type CpuCtor = new (m: Machine) => CpuCore;
type PcFactory = (config: Record<string, unknown>, deps: Record<string, unknown>, spec: Record<string, unknown>) => unknown;

export interface GuestEngine {
  /** Builds a machine with the given boundary and the image mapped as the BIOS, reset. */
  create(image: Uint8Array, boundary: Boundary, config: MachineConfig): Machine;
  /** True when the machine includes the PC devices (PIC, PIT, UART, RTC, PCI, PCnet). */
  fullPc: boolean;
  /** What this engine is built from, for test names/messages. */
  describe: string;
}

/** The engine, or a message naming what is missing. */
export type EngineLoad = { engine: GuestEngine; missing: null } | { engine: null; missing: string };

const builtRoot = fileURLToPath(new URL('../../', import.meta.url));

async function tryImport(rel: string): Promise<{ mod: Record<string, unknown> | null; why: string }> {
  const file = join(builtRoot, rel);
  if (!existsSync(file)) return { mod: null, why: `${rel.replace(/\.js$/, '.ts')} does not exist yet` };
  try {
    return { mod: (await import(new URL(`../../${rel}`, import.meta.url).href)) as Record<string, unknown>, why: '' };
  } catch (e) {
    return { mod: null, why: `${rel.replace(/\.js$/, '.ts')} does not load: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** Stand-in for engine/devices/debug-ports.ts while it is missing: 0xE9 text, 0x80 POST, 0xF4 exit. */
class DebugPortsStandIn implements Device {
  readonly stateName = 'debug-ports-standin';
  readonly stateVersion = 1;
  post = -1;
  private ctx: Parameters<Device['attach']>[0] | null = null;
  private readonly one = new Uint8Array(1);

  attach(ctx: Parameters<Device['attach']>[0]): void {
    this.ctx = ctx;
    ctx.ports.register(0xe9, 1, 'debugcon', {
      write8: (_p, v) => {
        this.one[0] = v;
        ctx.output(OUTPUT.DEBUGCON, 0, this.one);
      },
      read8: () => 0xe9,
    });
    ctx.ports.register(0x80, 1, 'post', { write8: (_p, v) => void (this.post = v) });
    ctx.ports.register(0xf4, 1, 'debug-exit', { write8: (_p, v) => ctx.requestStop(STOP.EXIT, `debug-exit ${v}`, v) });
  }
  reset(): void {}
  saveState(): Record<string, number> {
    return { post: this.post };
  }
  loadState(s: Record<string, unknown>): void {
    this.post = typeof s['post'] === 'number' ? s['post'] : -1;
    void this.ctx;
  }
}

let cached: EngineLoad | null = null;

/**
 * Finds the pieces to build a machine. Prefers engine/pc.ts; else Machine +
 * Cpu + debug ports. The result is cached.
 */
export async function loadGuestEngine(): Promise<EngineLoad> {
  if (cached) return cached;
  const pc = await tryImport('engine/pc.js');
  const createPc = pc.mod?.['createPc'];
  if (typeof createPc === 'function') {
    const factory = createPc as PcFactory;
    cached = {
      missing: null,
      engine: {
        fullPc: true,
        describe: 'engine/pc.ts createPc',
        create(image, boundary, config) {
          const made = factory({ ...config }, { boundary }, { kind: 'bios', image, name: 'guest' });
          const machine = made instanceof Machine ? made : (made as { machine?: unknown }).machine;
          if (!(machine instanceof Machine)) throw new Error('createPc returned neither a Machine nor { machine }');
          return machine;
        },
      },
    };
    return cached;
  }
  const cpu = await tryImport('engine/cpu/cpu.js');
  const Cpu = cpu.mod?.['Cpu'];
  if (typeof Cpu !== 'function') {
    cached = { engine: null, missing: cpu.mod ? 'engine/cpu/cpu.ts does not export Cpu' : cpu.why };
    return cached;
  }
  const dbg = await tryImport('engine/devices/debug-ports.js');
  const DebugPorts = dbg.mod?.['DebugPorts'] as (new () => Device) | undefined;
  const parts = await loadPcParts();
  cached = {
    missing: null,
    engine: {
      fullPc: parts !== null,
      describe: `Machine + Cpu + ${typeof DebugPorts === 'function' ? 'DebugPorts' : 'a debug-port stand-in'}${parts ? ' + PC devices (test assembly)' : ''}`,
      create(image, boundary, config) {
        const m = new Machine(config, { boundary, createCpu: (mm) => new (Cpu as CpuCtor)(mm) });
        m.addDevice(typeof DebugPorts === 'function' ? new DebugPorts() : new DebugPortsStandIn());
        if (parts) parts.wire(m);
        m.memory.mapBios(image);
        m.reset();
        return m;
      },
    },
  };
  return cached;
}

/**
 * Until engine/pc.ts exists: the PC devices wired the way the datasheets put
 * them (PIC pair -> CPU INTR and INTA; PIT IRQ0; COM1 IRQ4, COM2 IRQ3; RTC
 * IRQ8; PCI host with the PCnet at 00:03.0 on INTA#). Null when any is missing.
 */
interface PcParts {
  wire(m: Machine): void;
}
export let pcPartsMissing = '';
async function loadPcParts(): Promise<PcParts | null> {
  const names: [string, string][] = [
    ['engine/devices/pic8259.js', 'Pic8259'],
    ['engine/devices/pit8254.js', 'Pit8254'],
    ['engine/devices/uart16550.js', 'Uart16550'],
    ['engine/devices/cmos-rtc.js', 'CmosRtc'],
    ['engine/devices/pci-host.js', 'PciHost'],
    ['engine/devices/pcnet.js', 'PcNet'],
  ];
  const ctors: Record<string, new (...args: never[]) => unknown> = {};
  for (const [file, name] of names) {
    const r = await tryImport(file);
    const c = r.mod?.[name];
    if (typeof c !== 'function') {
      pcPartsMissing = r.mod ? `${file.replace(/\.js$/, '.ts')} does not export ${name}` : r.why;
      return null;
    }
    ctors[name] = c as new (...args: never[]) => unknown;
  }
  type Ctor<T> = new (...args: never[]) => T;
  const Pic = ctors['Pic8259'] as unknown as Ctor<Device & { acknowledge(): number }>;
  const Pit = ctors['Pit8254'] as unknown as Ctor<Device>;
  const Uart = ctors['Uart16550'] as unknown as new (opts: { index: number }) => Device;
  const Rtc = ctors['CmosRtc'] as unknown as Ctor<Device>;
  const Pci = ctors['PciHost'] as unknown as Ctor<Device & { addFunction(addr: { device: number; fn: number }, fn: unknown): { setIntx(a: boolean): void } }>;
  const Nic = ctors['PcNet'] as unknown as new (opts: { nicIndex: number; setIrq?: (l: boolean) => void }) => Device;
  return {
    wire(m: Machine): void {
      const pic = m.addDevice(new Pic());
      (m.cpu as unknown as { intAck: { acknowledge(): number } }).intAck = pic;
      m.addDevice(new Pit());
      m.addDevice(new Uart({ index: 0 }));
      m.addDevice(new Uart({ index: 1 }));
      m.addDevice(new Rtc());
      const pci = m.addDevice(new Pci());
      let intx: { setIntx(a: boolean): void } | null = null;
      const nic = new Nic({ nicIndex: 0, setIrq: (level) => intx?.setIntx(level) });
      intx = pci.addFunction({ device: 3, fn: 0 }, nic);
      m.addDevice(nic);
    },
  };
}

/** Reads the last POST code from whatever debug-port device the machine has. */
function lastPost(m: Machine): number {
  for (const d of m.devices) {
    const rec = d as unknown as Record<string, unknown>;
    for (const k of ['lastPostCode', 'post', 'postCode', 'lastPost']) {
      if (typeof rec[k] === 'number') return rec[k] as number;
    }
  }
  return -1;
}

/** Boots `image` and runs it until it exits, stops, or the budget runs out. */
export function runGuest(engine: GuestEngine, image: Uint8Array, opts: GuestOptions = {}): GuestRun {
  const boundary = new ScriptedBoundary(opts.inputs ?? [], opts.wallClockMs);
  const m = engine.create(image, boundary, { ramBytes: opts.ramBytes ?? 32 * 1024 * 1024 });
  let consoleText = '';
  let serial = '';
  m.onOutput = (kind, target, data) => {
    let s = '';
    for (let i = 0; i < data.length; i++) s += String.fromCharCode(data[i]!);
    if (kind === OUTPUT.DEBUGCON) consoleText += s;
    else if (kind === OUTPUT.SERIAL && target === 0) serial += s;
  };
  const r = m.run(opts.maxInstructions ?? 20_000_000);
  return {
    reason: r.reason,
    detail: r.detail,
    exitCode: r.reason === STOP.EXIT ? r.exitCode : null,
    console: consoleText,
    serial,
    post: lastPost(m),
    icount: m.icount,
    machine: m,
    boundary,
  };
}

/** A one-paragraph description of a run, for assertion messages. */
export function describeRun(name: string, run: GuestRun): string {
  const status = run.exitCode === null ? `no exit (${run.reason}${run.detail ? `: ${run.detail}` : ''})` : `exit status ${run.exitCode}`;
  const post = run.post >= 0 ? `, last POST 0x${run.post.toString(16)}` : '';
  return `${name}: ${status} after ${run.icount} instructions${post}\n--- 0xE9 console ---\n${run.console}${run.serial ? `--- COM1 ---\n${run.serial}` : ''}`;
}
