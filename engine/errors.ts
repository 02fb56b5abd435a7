/**
 * Typed errors for rewind's public entry points. Every error a user can provoke
 * (bad argument, bad image, bad journal) is a RewindError whose message is one
 * clear line naming the problem; the CLI prints `message` and exits non-zero.
 */
export const ERR = {
  ARGUMENT: 'ERR_ARGUMENT',
  CONFIG: 'ERR_CONFIG',
  IMAGE: 'ERR_IMAGE',
  JOURNAL: 'ERR_JOURNAL',
  SNAPSHOT: 'ERR_SNAPSHOT',
  STATE: 'ERR_STATE',
  DIVERGENCE: 'ERR_DIVERGENCE',
  GUEST: 'ERR_GUEST',
} as const;
export type ErrorCode = (typeof ERR)[keyof typeof ERR];

export class RewindError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'RewindError';
    this.code = code;
  }
}

export function argError(message: string): RewindError {
  return new RewindError(ERR.ARGUMENT, message);
}

/** Throws an ERR_ARGUMENT error unless `v` is an integer in [min, max]. */
export function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw argError(`${name} must be an integer in [${fmtNum(min)}, ${fmtNum(max)}], got ${describe(v)}`);
  }
  return v;
}

function fmtNum(n: number): string {
  return n >= 0x10000 ? '0x' + n.toString(16) : String(n);
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  return typeof v;
}
