/**
 * A whole PC for record/replay tests: engine/pc.ts's createPc when it exists,
 * else one assembled from the real CPU and devices: PIC (acknowledging for the CPU),
 * PIT, COM1, RTC and the debug ports, with a guest ROM as the BIOS. Imported
 * dynamically so this builds before those modules do; returns null with a
 * reason when something is missing.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Machine, type MachineConfig } from '../../../engine/machine.js';
import type { Boundary } from '../../../engine/replay/boundary.js';
import type { CpuCore, InterruptAcknowledge } from '../../../engine/cpu/cpu-core.js';
import type { Device } from '../../../engine/device.js';

type Ctor<T> = new (...args: never[]) => T;

export type MiniPcFactory = (image: Uint8Array, boundary: Boundary, config: MachineConfig) => Machine;

const built = fileURLToPath(new URL('../../../', import.meta.url));

async function get(rel: string, name: string): Promise<unknown> {
  if (!existsSync(join(built, rel))) throw new Error(`${rel.replace(/\.js$/, '.ts')} does not exist`);
  const mod = (await import(new URL(`../../../${rel}`, import.meta.url).href)) as Record<string, unknown>;
  if (typeof mod[name] !== 'function') throw new Error(`${rel} does not export ${name}`);
  return mod[name];
}

export async function loadMiniPc(): Promise<{ create: MiniPcFactory | null; missing: string }> {
  // The lead's PC assembly when it exists.
  if (existsSync(join(built, 'engine/pc.js'))) {
    try {
      const createPc = (await get('engine/pc.js', 'createPc')) as (c: MachineConfig & { nic?: boolean }, d: { boundary: Boundary }, spec: { kind: 'bios'; image: Uint8Array }) => { machine: Machine };
      return { create: (image, boundary, config) => createPc({ ...config, nic: false }, { boundary }, { kind: 'bios', image }).machine, missing: '' };
    } catch (e) {
      return { create: null, missing: (e as Error).message };
    }
  }
  try {
    const Cpu = (await get('engine/cpu/cpu.js', 'Cpu')) as Ctor<CpuCore & { intAck: InterruptAcknowledge }>;
    const Pic = (await get('engine/devices/pic8259.js', 'Pic8259')) as Ctor<Device & InterruptAcknowledge>;
    const Pit = (await get('engine/devices/pit8254.js', 'Pit8254')) as Ctor<Device>;
    const Uart = (await get('engine/devices/uart16550.js', 'Uart16550')) as new (o: { index: number }) => Device;
    const Rtc = (await get('engine/devices/cmos-rtc.js', 'CmosRtc')) as Ctor<Device>;
    const Dbg = (await get('engine/devices/debug-ports.js', 'DebugPorts')) as Ctor<Device>;
    const create: MiniPcFactory = (image, boundary, config) => {
      const m = new Machine(config, { boundary, createCpu: (mm) => new (Cpu as unknown as new (m: Machine) => CpuCore)(mm) });
      const pic = m.addDevice(new (Pic as unknown as new () => Device & InterruptAcknowledge)());
      (m.cpu as CpuCore & { intAck: InterruptAcknowledge }).intAck = pic;
      m.addDevice(new (Pit as unknown as new () => Device)());
      m.addDevice(new Uart({ index: 0 }));
      m.addDevice(new (Rtc as unknown as new () => Device)());
      m.addDevice(new (Dbg as unknown as new () => Device)());
      m.memory.mapBios(image);
      m.reset();
      return m;
    };
    return { create, missing: '' };
  } catch (e) {
    return { create: null, missing: (e as Error).message };
  }
}
