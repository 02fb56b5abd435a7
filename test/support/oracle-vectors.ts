/**
 * Reader for the host-CPU integer oracle vectors
 * (fixtures/oracle/int/vectors.json.gz, written by fixtures/oracle/int/build.mjs;
 * the format is described at the top of that script).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface OracleCase {
  /** Position in the file (for messages). */
  readonly index: number;
  /** Mnemonic key (test/support/undefined-flags.ts; non-mnemonic keys such as `priv` group special cases). */
  readonly m: string;
  /** Operand size in bits. */
  readonly size: number;
  readonly code: Uint8Array;
  /** eax ecx edx ebx esp ebp esi edi */
  readonly regsIn: Uint32Array;
  readonly eflagsIn: number;
  readonly patches: ReadonlyArray<{ readonly linAddr: number; readonly bytes: Uint8Array }>;
  /** eax ecx edx ebx esp ebp esi edi after the instruction (at an exception: at the fault/trap). */
  readonly regsOut: Uint32Array;
  readonly eipOut: number;
  readonly eflagsOut: number;
  /** [vector, errorCode] of the exception the instruction raised ([vector, errorCode, cr2] for #PF), or null. */
  readonly exc: readonly number[] | null;
  /** Window bytes that changed: linear address -> new value. */
  readonly diffs: ReadonlyMap<number, number>;
  readonly ctx: {
    /** A group the case belongs to besides its mnemonic (`fault`: page-boundary faults). */
    readonly g?: string;
    /** Runs in a 16-bit code segment (LDT selector 0x07, base codeBase, limit codeSize-1); EIPs are offsets in it. */
    readonly m16?: number;
    /** CS afterwards, when the instruction changed it. */
    readonly cs?: number;
    /** Linear address of the instruction when it is not insnAddr (page-boundary placements). */
    readonly at?: number;
    /** [es, ds, ss] selectors at the start (0: the flat 0x2B; LDT selectors as in harness.c). */
    readonly seg?: readonly number[];
    /** SS afterwards, when the instruction changed it. */
    readonly ss?: number;
    readonly count?: number;
    readonly srcZero?: boolean;
    readonly addr?: number;
    /** Bytes whose value the SDM leaves implementation-specific (upper half of a pushed selector). */
    readonly um?: readonly number[];
    /** [es, ds] selectors afterwards, when not the flat user data selector. */
    readonly sr?: readonly [number, number];
  };
}

export interface OracleFile {
  readonly format: string;
  readonly host: { readonly cpu: string; readonly kernel: string; readonly harness: string };
  readonly seed: number;
  readonly insnAddr: number;
  readonly codeBase: number;
  readonly codeSize: number;
  /** [base, size] or [base, size, 1] for a read-only window. */
  readonly windows: ReadonlyArray<readonly number[]>;
  readonly stackTop: number;
  readonly cases: OracleCase[];
}

/** The initial byte of every window at linear address a (harness.c's pattern()). */
export function oraclePattern(a: number): number {
  let x = Math.imul(a, 0x9e3779b1) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x85ebca77) >>> 0;
  return x >>> 24;
}

type RawCase = [string, number, string, number[], [number, string][], number[], number[] | null, number[], OracleCase['ctx']];

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

export function loadOracleVectors(path: string): OracleFile {
  const raw = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as Omit<OracleFile, 'cases'> & { cases: RawCase[] };
  if (raw.format !== 'rewind-oracle-int-1') throw new Error(`${path}: unknown format ${String(raw.format)}`);
  const cases = raw.cases.map((r, index): OracleCase => {
    const [m, size, code, inp, patches, out, exc, diffs, ctx] = r;
    const d = new Map<number, number>();
    for (let i = 0; i < diffs.length; i += 2) d.set(diffs[i]!, diffs[i + 1]!);
    return {
      index, m, size, code: hex(code),
      regsIn: Uint32Array.from(inp.slice(0, 8)), eflagsIn: inp[8]!,
      patches: patches.map(([linAddr, b]) => ({ linAddr, bytes: hex(b) })),
      regsOut: Uint32Array.from(out.slice(0, 8)), eipOut: out[8]!, eflagsOut: out[9]!,
      exc, diffs: d, ctx,
    };
  });
  return { ...raw, cases };
}
