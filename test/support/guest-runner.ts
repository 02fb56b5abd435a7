/**
 * Boots the guest programs of fixtures/guests/ on the emulated PC
 * (engine/pc.ts, booted from the image as its BIOS) and collects what they
 * report: 0xE9 console text, COM1 serial text, the last POST code, the
 * debug-exit status and why the run stopped.
 *
 * Guest conventions (fixtures/guests/README.md): a 64 KiB ROM started from
 * the reset vector; exit status 0 = every check passed, 1 = a check failed
 * (named on 0xE9), 2 = unexpected exception.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine, MachineConfig } from '../../engine/machine.js';
import { createPc, type Pc } from '../../engine/pc.js';
import { OUTPUT, ScriptedBoundary, type InputEvent, type Boundary } from '../../engine/replay/boundary.js';
import { STOP } from '../../engine/device.js';
import { repoRoot } from '../util.js';

/** Exit statuses the guests write to port 0xF4 (fixtures/guests/lib/defs.inc). */
export const GUEST_EXIT = { PASS: 0, FAIL: 1, CRASH: 2 } as const;

export const guestsDir = join(repoRoot, 'fixtures', 'guests');

export function guestImage(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(guestsDir, `${name}.rom`)));
}

/** A PC with `image` as its BIOS, about to execute the reset vector. */
export function guestPc(image: Uint8Array, boundary: Boundary, config: MachineConfig = {}): Pc {
  return createPc({ ramBytes: 32 * 1024 * 1024, ...config }, { boundary }, { kind: 'bios', image, name: 'guest' });
}

export interface GuestRun {
  /** Why Machine.run returned (STOP.*). */
  reason: string;
  detail: string;
  /** The debug-exit status when reason is 'exit', else null. */
  exitCode: number | null;
  /** Bytes written to port 0xE9, as latin1 text. */
  console: string;
  /** Bytes written by the guest to COM1. */
  serial: string;
  /** Last POST code written to port 0x80 (-1 if none). */
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

/** Boots `image` and runs it until it exits, stops, or the budget runs out. */
export function runGuest(image: Uint8Array, opts: GuestOptions = {}): GuestRun {
  const boundary = new ScriptedBoundary(opts.inputs ?? [], opts.wallClockMs);
  const pc = guestPc(image, boundary, opts.ramBytes !== undefined ? { ramBytes: opts.ramBytes } : {});
  const m = pc.machine;
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
    post: pc.debug.lastPostCode,
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

/**
 * The older interface other tests use (written while the CPU and the PC were
 * still being built, when this could report a missing piece): now always
 * engine/pc.ts.
 */
export interface GuestEngine {
  /** Builds a PC with the given boundary and the image as its BIOS, at the reset vector. */
  create(image: Uint8Array, boundary: Boundary, config: MachineConfig): Machine;
  /** True: the machine includes the PC devices. */
  fullPc: boolean;
  describe: string;
}
export type EngineLoad = { engine: GuestEngine; missing: null } | { engine: null; missing: string };

const pcEngine: GuestEngine = {
  create: (image, boundary, config) => guestPc(image, boundary, config).machine,
  fullPc: true,
  describe: 'engine/pc.ts createPc',
};

export async function loadGuestEngine(): Promise<EngineLoad> {
  return { engine: pcEngine, missing: null };
}
