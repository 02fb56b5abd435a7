/**
 * From command-line options (or a journal header) to a booted PC.
 *
 * The journal header's `machine` map is everything needed to build the same
 * PC again: RAM, clock mode, the NIC and its MAC, and what was booted, with
 * images named (their SHA-256 is in the header's image list):
 *
 *   { ramBytes, nsPerInstr, nic: true, mac: "52:54:00:12:34:56",
 *     boot: { kind: "bios", image: "demo.rom" }
 *         | { kind: "flat", image, loadAddr, entry: "real" | "real:CS:IP" | "pm32" | "pm32:EIP" }
 *         | { kind: "multiboot", image, cmdline, modules: [{ image, cmdline }] }
 *         | { kind: "linux", image, initrd: name | null, cmdline },
 *     imagePaths: { name: path relative to the journal's folder } }
 *
 * Replay finds an image, in order: `--image NAME=PATH`, bundled in the
 * journal, NAME beside the journal, the recorded relative path.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { RewindError, ERR, argError } from '../../engine/errors.js';
import type { ClockMode } from '../../engine/time/clock.js';
import { ScriptedBoundary } from '../../engine/replay/boundary.js';
import type { MsgValue } from '../../engine/replay/msgpack.js';
import type { JournalHeader, JournalImage } from '../../engine/replay/journal.js';
import { bundledImage, checkImage, imageEntry } from '../../engine/host/journal-file.js';
import { createPc, type BootSpec, type Pc, type PcConfig } from '../../engine/pc.js';
import type { FlatEntry } from '../../engine/boot/flat.js';
import { parseIntArg, type ParsedOpts } from './args.js';

export const DEFAULT_MAC = '52:54:00:12:34:56';
/** Largest image file read (a Linux initramfs can be tens of MiB). */
const MAX_IMAGE_BYTES = 1 << 30;

export interface ImageFile {
  name: string;
  /** Absolute path it was read from (null: bundled in a journal). */
  path: string | null;
  bytes: Uint8Array;
  /** Where the image lives on disk if known, even when it came bundled (for finding its symbols). */
  origin?: string | null;
}

export interface MachineSetup {
  config: PcConfig;
  boot: BootSpec;
  /** The boot description for the journal header (image names, not bytes). */
  bootInfo: { [key: string]: MsgValue };
  images: ImageFile[];
}

/** Reads an image named by an option; one clear line if it cannot. */
export function readImage(what: string, path: string, cwd: string): ImageFile {
  const abs = resolve(cwd, path);
  let size: number;
  try {
    const st = statSync(abs);
    if (!st.isFile()) throw new RewindError(ERR.IMAGE, `${what} ${path} is not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof RewindError) throw e;
    throw new RewindError(ERR.IMAGE, `cannot read ${what} ${path}: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  if (size === 0) throw new RewindError(ERR.IMAGE, `${what} ${path} is empty`);
  if (size > MAX_IMAGE_BYTES) throw new RewindError(ERR.IMAGE, `${what} ${path} is ${size} bytes, more than 1 GiB`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(abs));
  } catch (e) {
    throw new RewindError(ERR.IMAGE, `cannot read ${what} ${path}: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  return { name: basename(abs), path: abs, bytes };
}

function parseEntry(spec: string | undefined, loadAddr: number): FlatEntry {
  const s = spec ?? (loadAddr < 0x100000 ? 'real' : 'pm32');
  let m = /^real(?::(\w+):(\w+))?$/i.exec(s);
  if (m) {
    if (m[1] === undefined) return { mode: 'real' };
    return { mode: 'real', cs: parseIntArg('entry CS', m[1].startsWith('0x') ? m[1] : `0x${m[1]}`, 0, 0xffff), ip: parseIntArg('entry IP', m[2]!.startsWith('0x') ? m[2]! : `0x${m[2]}`, 0, 0xffff) };
  }
  m = /^pm32(?::(\w+))?$/i.exec(s);
  if (m) return m[1] === undefined ? { mode: 'protected32' } : { mode: 'protected32', eip: parseIntArg('entry', m[1], 0, 0xffffffff) };
  throw argError(`--entry must be real, real:CS:IP, pm32 or pm32:EIP, got ${JSON.stringify(s)}`);
}

function entryText(e: FlatEntry): string {
  if (e.mode === 'real') return e.cs === undefined ? 'real' : `real:${e.cs.toString(16)}:${(e.ip ?? 0).toString(16)}`;
  return e.eip === undefined ? 'pm32' : `pm32:0x${e.eip.toString(16)}`;
}

/** Gives every image a distinct name (two files may share a basename). */
function nameImages(images: ImageFile[]): void {
  const used = new Map<string, number>();
  for (const im of images) {
    const n = used.get(im.name) ?? 0;
    used.set(im.name, n + 1);
    if (n > 0) im.name = `${im.name}~${n + 1}`;
  }
}

function checkMac(mac: string): string {
  const m = /^([0-9a-f]{2})(?::[0-9a-f]{2}){5}$/i.exec(mac);
  if (!m) throw argError(`--mac must look like 52:54:00:12:34:56, got ${JSON.stringify(mac)}`);
  if (parseInt(m[1]!, 16) & 1) throw argError(`--mac ${mac} is a multicast address (the first byte must be even)`);
  return mac.toLowerCase();
}

/** The PC and what to boot, from `run`/`record` options. */
export function setupFromOptions(opts: ParsedOpts, positional: string[], cwd: string, defaultClock: ClockMode = 'host'): MachineSetup {
  const str = (k: string): string | undefined => opts[k] as string | undefined;
  if (positional.length > 1) throw argError(`unexpected argument ${JSON.stringify(positional[1])} (one IMAGE at most)`);
  if (positional.length === 1) {
    if (str('bios') !== undefined) throw argError(`give the image either as IMAGE or as --bios, not both`);
    opts['bios'] = positional[0];
  }
  const kinds = (['bios', 'kernel', 'flat', 'multiboot'] as const).filter((k) => str(k) !== undefined);
  if (kinds.length === 0) throw argError('nothing to boot: give an IMAGE, --bios, --kernel, --flat or --multiboot (see --help)');
  if (kinds.length > 1) throw argError(`choose one of --${kinds.join(', --')}`);
  const kind = kinds[0]!;
  if (str('initrd') !== undefined && kind !== 'kernel') throw argError('--initrd needs --kernel');
  if (str('append') !== undefined && kind !== 'kernel' && kind !== 'multiboot') throw argError('--append needs --kernel or --multiboot');
  if (str('entry') !== undefined && kind !== 'flat') throw argError('--entry needs --flat');
  const modules = (opts['module'] as string[] | undefined) ?? [];
  if (modules.length > 0 && kind !== 'multiboot') throw argError('--module needs --multiboot');

  const nic = opts['no-nic'] !== true;
  const mac = checkMac(str('mac') ?? DEFAULT_MAC);
  if (!nic && str('mac') !== undefined) throw argError('--mac makes no sense with --no-nic');
  const config: PcConfig = {
    ramBytes: (opts['memory'] as number) * 1024 * 1024,
    clockMode: (str('clock') as ClockMode | undefined) ?? defaultClock,
    nic,
    mac,
  };
  const images: ImageFile[] = [];
  const add = (what: string, path: string): ImageFile => {
    const im = readImage(what, path, cwd);
    images.push(im);
    return im;
  };
  let boot: BootSpec;
  let info: () => { [key: string]: MsgValue };
  switch (kind) {
    case 'bios': {
      const im = add('BIOS image', str('bios')!);
      boot = { kind: 'bios', image: im.bytes, name: im.name };
      info = () => ({ kind: 'bios', image: im.name });
      break;
    }
    case 'kernel': {
      const k = add('kernel', str('kernel')!);
      const rd = str('initrd') !== undefined ? add('initrd', str('initrd')!) : null;
      const cmdline = str('append') ?? '';
      boot = { kind: 'linux', image: k.bytes, initrd: rd?.bytes ?? null, cmdline, name: k.name };
      info = () => ({ kind: 'linux', image: k.name, initrd: rd?.name ?? null, cmdline });
      break;
    }
    case 'flat': {
      const spec = str('flat')!;
      const at = spec.lastIndexOf('@');
      if (at <= 0 || at === spec.length - 1) throw argError(`--flat must be FILE@ADDR (e.g. boot.bin@0x7c00), got ${JSON.stringify(spec)}`);
      const loadAddr = parseIntArg('flat load address', spec.slice(at + 1), 0, 0xffffffff);
      const entry = parseEntry(str('entry'), loadAddr);
      const im = add('flat binary', spec.slice(0, at));
      boot = { kind: 'flat', image: im.bytes, loadAddr, entry, name: im.name };
      info = () => ({ kind: 'flat', image: im.name, loadAddr, entry: entryText(entry) });
      break;
    }
    case 'multiboot': {
      const k = add('multiboot kernel', str('multiboot')!);
      const mods = modules.map((m) => {
        const comma = m.indexOf(',');
        const file = comma >= 0 ? m.slice(0, comma) : m;
        if (file === '') throw argError(`--module must be FILE[,CMDLINE], got ${JSON.stringify(m)}`);
        return { im: add('multiboot module', file), cmdline: comma >= 0 ? m.slice(comma + 1) : '' };
      });
      const cmdline = str('append') ?? '';
      boot = { kind: 'multiboot', image: k.bytes, cmdline, modules: mods.map((x) => ({ data: x.im.bytes, cmdline: x.cmdline })), name: k.name };
      info = () => ({ kind: 'multiboot', image: k.name, cmdline, modules: mods.map((x) => ({ image: x.im.name, cmdline: x.cmdline })) });
      break;
    }
  }
  nameImages(images);
  return { config, boot, bootInfo: info(), images };
}

/** The header's `machine` map for this setup; image paths are stored relative to the journal's folder. */
export function headerMachine(setup: MachineSetup, journalPath: string | null): { [key: string]: MsgValue } {
  const paths: { [key: string]: MsgValue } = {};
  if (journalPath !== null) {
    for (const im of setup.images) if (im.path) paths[im.name] = relative(dirname(resolve(journalPath)), im.path);
  }
  return {
    nic: setup.config.nic ?? true,
    mac: setup.config.mac ?? DEFAULT_MAC,
    boot: setup.bootInfo,
    imagePaths: paths,
  };
}

export function headerImages(setup: MachineSetup, bundle: boolean): JournalImage[] {
  return setup.images.map((im) => imageEntry(im.name, im.bytes, bundle));
}

function mapField(m: { [key: string]: MsgValue }, key: string, what: string): { [key: string]: MsgValue } {
  const v = m[key];
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new RewindError(ERR.JOURNAL, `journal header: ${what} is missing or not a map`);
  return v as { [key: string]: MsgValue };
}

function strField(m: { [key: string]: MsgValue }, key: string, what: string): string {
  const v = m[key];
  if (typeof v !== 'string') throw new RewindError(ERR.JOURNAL, `journal header: ${what}.${key} is missing or not a string`);
  return v;
}

/** Parses `--image NAME=PATH` overrides. */
export function parseImageOverrides(list: string[] | undefined, cwd: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of list ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0 || eq === s.length - 1) throw argError(`--image must be NAME=PATH, got ${JSON.stringify(s)}`);
    out.set(s.slice(0, eq), resolve(cwd, s.slice(eq + 1)));
  }
  return out;
}

/** Locates and checks one image a journal names. */
function findImage(entry: JournalImage, journalPath: string, recordedRel: string | null, overrides: Map<string, string>): ImageFile {
  const o = overrides.get(entry.name);
  if (o !== undefined) {
    const im = readImage(`image ${entry.name} (--image)`, o, '/');
    checkImage(entry, im.bytes);
    return { ...im, name: entry.name };
  }
  const dir = dirname(resolve(journalPath));
  if (entry.data) {
    const origin = recordedRel ? (isAbsolute(recordedRel) ? recordedRel : join(dir, recordedRel)) : null;
    return { name: entry.name, path: null, bytes: bundledImage(entry), origin };
  }
  const candidates = [join(dir, entry.name)];
  if (recordedRel) candidates.push(isAbsolute(recordedRel) ? recordedRel : join(dir, recordedRel));
  for (const c of candidates) {
    let bytes: Uint8Array;
    try {
      if (!statSync(c).isFile()) continue;
      bytes = new Uint8Array(readFileSync(c));
    } catch {
      continue;
    }
    checkImage(entry, bytes);
    return { name: entry.name, path: c, bytes };
  }
  throw new RewindError(ERR.IMAGE, `image ${entry.name} not found beside the journal${recordedRel ? ` or at ${recordedRel}` : ''} and not bundled (give --image ${entry.name}=PATH)`);
}

/** The PC and boot a journal was recorded with. */
export function setupFromHeader(h: JournalHeader, journalPath: string, overrides: Map<string, string> = new Map()): MachineSetup {
  const mc = h.machine;
  const boot = mapField(mc, 'boot', 'machine.boot');
  const pathsV = mc['imagePaths'];
  const paths = pathsV && typeof pathsV === 'object' && !Array.isArray(pathsV) && !(pathsV instanceof Uint8Array) ? (pathsV as { [key: string]: MsgValue }) : {};
  for (const name of overrides.keys()) {
    if (!h.images.some((i) => i.name === name)) throw argError(`--image ${name}: the journal has no image of that name (it has ${h.images.map((i) => i.name).join(', ') || 'none'})`);
  }
  const images: ImageFile[] = [];
  const byName = (name: string): ImageFile => {
    const have = images.find((i) => i.name === name);
    if (have) return have;
    const entry = h.images.find((i) => i.name === name);
    if (!entry) throw new RewindError(ERR.JOURNAL, `journal header: boot image ${name} is not in the image list`);
    const rel = paths[name];
    const im = findImage(entry, journalPath, typeof rel === 'string' ? rel : null, overrides);
    images.push(im);
    return im;
  };
  const kind = strField(boot, 'kind', 'machine.boot');
  let spec: BootSpec;
  switch (kind) {
    case 'bios': {
      const im = byName(strField(boot, 'image', 'machine.boot'));
      spec = { kind: 'bios', image: im.bytes, name: im.name };
      break;
    }
    case 'linux': {
      const im = byName(strField(boot, 'image', 'machine.boot'));
      const rdName = boot['initrd'];
      const rd = typeof rdName === 'string' ? byName(rdName) : null;
      spec = { kind: 'linux', image: im.bytes, initrd: rd?.bytes ?? null, cmdline: typeof boot['cmdline'] === 'string' ? boot['cmdline'] : '', name: im.name };
      break;
    }
    case 'flat': {
      const im = byName(strField(boot, 'image', 'machine.boot'));
      const loadAddr = boot['loadAddr'];
      if (typeof loadAddr !== 'number') throw new RewindError(ERR.JOURNAL, 'journal header: machine.boot.loadAddr is missing');
      spec = { kind: 'flat', image: im.bytes, loadAddr, entry: parseEntry(strField(boot, 'entry', 'machine.boot'), loadAddr), name: im.name };
      break;
    }
    case 'multiboot': {
      const im = byName(strField(boot, 'image', 'machine.boot'));
      const mods = Array.isArray(boot['modules']) ? (boot['modules'] as MsgValue[]) : [];
      spec = {
        kind: 'multiboot',
        image: im.bytes,
        cmdline: typeof boot['cmdline'] === 'string' ? boot['cmdline'] : '',
        modules: mods.map((m, i) => {
          const mm = m && typeof m === 'object' && !Array.isArray(m) && !(m instanceof Uint8Array) ? (m as { [key: string]: MsgValue }) : {};
          return { data: byName(strField(mm, 'image', `machine.boot.modules[${i}]`)).bytes, cmdline: typeof mm['cmdline'] === 'string' ? mm['cmdline'] : '' };
        }),
        name: im.name,
      };
      break;
    }
    default:
      throw new RewindError(ERR.JOURNAL, `journal header: unknown boot kind ${JSON.stringify(kind)}`);
  }
  const ram = mc['ramBytes'];
  if (typeof ram !== 'number') throw new RewindError(ERR.JOURNAL, 'journal header: machine.ramBytes is missing');
  const nsPerInstr = mc['nsPerInstr'];
  const config: PcConfig = {
    ramBytes: ram,
    clockMode: h.clockMode,
    nic: mc['nic'] !== false,
    mac: typeof mc['mac'] === 'string' ? mc['mac'] : DEFAULT_MAC,
    ...(typeof nsPerInstr === 'number' ? { nsPerInstr } : {}),
  };
  return { config, boot: spec, bootInfo: boot, images };
}

/**
 * Builds and boots the PC. The boundary given here only supplies the
 * wall-clock time at power-on (the RTC reads it at reset); the Runner swaps
 * in the live, record or replay boundary.
 */
export function buildPc(setup: MachineSetup, bootWallMs: number): Pc {
  return createPc(setup.config, { boundary: new ScriptedBoundary([], bootWallMs) }, setup.boot);
}

/** Default symbol file for an image: IMAGE minus its extension plus .sym or .elf, when present. */
export function guessSymbols(setup: MachineSetup): string | null {
  for (const im of setup.images) {
    const where = im.path ?? im.origin ?? null;
    if (!where) continue;
    const stem = where.replace(/\.[^./]+$/, '');
    for (const ext of ['.sym', '.elf', '.map']) {
      const p = stem + ext;
      try {
        if (p !== where && statSync(p).isFile()) return p;
      } catch {
        // not there
      }
    }
    break;
  }
  return null;
}
