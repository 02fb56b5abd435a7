/**
 * Expectations of a recording, checked by `rewind test`. They live beside the
 * journal as NAME.expect.json (for NAME.rwj) and are written by
 * `rewind record --expect ...`:
 *
 *   { "exit": 0,                                   guest debug-exit status
 *     "serialContains": ["bye"],                   COM1 output contains each text
 *     "noException": [6, 13],                      no CPU exception with these vectors
 *     "reaches": [{ "symbol": "main", "addr": 983040 }] }   EIP reaches each address
 *
 * Beyond these, every replay checks the journal itself: each SYNC state
 * hash, and at END the final state hash and the hash of all guest output.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { RewindError, ERR, argError } from '../../engine/errors.js';
import type { SymbolTable } from '../timeline/symbols.js';
import { parseIntArg } from './args.js';

export interface Expectations {
  exit?: number;
  serialContains?: string[];
  noException?: number[];
  reaches?: { symbol: string; addr: number }[];
}

/** NAME.rwj -> NAME.expect.json */
export function expectPath(journalPath: string): string {
  const base = journalPath.replace(/\.partial$/, '');
  return (/\.[^./]+$/.test(base) ? base.replace(/\.[^./]+$/, '') : base) + '.expect.json';
}

/** Parses `--expect` items; `reaches:` needs symbols (or a 0x address). */
export function parseExpectations(items: string[], symbols: SymbolTable | null): Expectations {
  const e: Expectations = {};
  for (const item of items) {
    const colon = item.indexOf(':');
    const key = colon >= 0 ? item.slice(0, colon) : item;
    const val = colon >= 0 ? item.slice(colon + 1) : '';
    if (val === '') throw argError(`--expect ${key} needs a value (e.g. --expect exit:0, serial-contains:TEXT, no-exception:6, reaches:SYMBOL)`);
    switch (key) {
      case 'exit':
        e.exit = parseIntArg('expect exit', val, 0, 255);
        break;
      case 'serial-contains':
        (e.serialContains ??= []).push(val);
        break;
      case 'no-exception':
        (e.noException ??= []).push(parseIntArg('expect no-exception', val, 0, 31));
        break;
      case 'reaches': {
        let addr: number | null = /^0x[0-9a-f]+$/i.test(val) ? parseInt(val, 16) : null;
        if (addr === null) {
          if (!symbols) throw argError(`--expect reaches:${val} needs symbols (give --symbols FILE, or an address like 0xf8000)`);
          addr = symbols.lookup(val);
          if (addr === null) throw argError(`--expect reaches:${val}: no such symbol`);
        }
        (e.reaches ??= []).push({ symbol: val, addr: addr >>> 0 });
        break;
      }
      default:
        throw argError(`unknown expectation ${JSON.stringify(key)} (use exit:N, serial-contains:TEXT, no-exception:V or reaches:SYMBOL)`);
    }
  }
  return e;
}

export function writeExpectations(path: string, e: Expectations): void {
  try {
    writeFileSync(path, JSON.stringify(e, null, 2) + '\n');
  } catch (err) {
    throw new RewindError(ERR.CONFIG, `cannot write ${path}: ${(err as { code?: string }).code ?? (err as Error).message}`);
  }
}

/** Reads NAME.expect.json if present (null if there is none); a malformed file is an error naming it. */
export function readExpectations(path: string): Expectations | null {
  if (!existsSync(path)) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RewindError(ERR.CONFIG, `${path}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const bad = (what: string): never => {
    throw new RewindError(ERR.CONFIG, `${path}: ${what}`);
  };
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad('must be a JSON object');
  const o = v as Record<string, unknown>;
  const e: Expectations = {};
  for (const k of Object.keys(o)) if (!['exit', 'serialContains', 'noException', 'reaches'].includes(k)) bad(`unknown key ${JSON.stringify(k)}`);
  if (o['exit'] !== undefined) {
    if (!Number.isInteger(o['exit'])) bad('"exit" must be an integer');
    e.exit = o['exit'] as number;
  }
  if (o['serialContains'] !== undefined) {
    if (!Array.isArray(o['serialContains']) || !o['serialContains'].every((s) => typeof s === 'string')) bad('"serialContains" must be a list of strings');
    e.serialContains = o['serialContains'] as string[];
  }
  if (o['noException'] !== undefined) {
    if (!Array.isArray(o['noException']) || !o['noException'].every((s) => Number.isInteger(s) && s >= 0 && s < 32)) bad('"noException" must be a list of vectors 0-31');
    e.noException = o['noException'] as number[];
  }
  if (o['reaches'] !== undefined) {
    const r = o['reaches'];
    if (!Array.isArray(r) || !r.every((x) => x && typeof x === 'object' && typeof (x as { symbol?: unknown }).symbol === 'string' && Number.isInteger((x as { addr?: unknown }).addr))) {
      bad('"reaches" must be a list of { "symbol": NAME, "addr": ADDRESS }');
    }
    e.reaches = r as { symbol: string; addr: number }[];
  }
  return e;
}

export function describeExpectations(e: Expectations): string[] {
  const out: string[] = [];
  if (e.exit !== undefined) out.push(`exit:${e.exit}`);
  for (const s of e.serialContains ?? []) out.push(`serial-contains:${JSON.stringify(s)}`);
  for (const v of e.noException ?? []) out.push(`no-exception:${v}`);
  for (const r of e.reaches ?? []) out.push(`reaches:${r.symbol}`);
  return out;
}
