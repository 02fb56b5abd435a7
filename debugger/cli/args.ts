/**
 * A small, strict command-line parser. Options are declared once with their
 * type; anything unknown, missing or malformed is a RewindError whose message
 * names the option, so the CLI prints one line and exits non-zero.
 *
 * Accepted forms: `--name value`, `--name=value`, `--flag`, `--no-flag`, and
 * `--` to end options. Positional arguments are collected in order.
 */
import { RewindError, ERR } from '../../engine/errors.js';

export type OptType = 'string' | 'int' | 'number' | 'bool' | 'list';

export interface OptSpec {
  name: string;
  type: OptType;
  help: string;
  /** Shown in help as the value placeholder. */
  arg?: string;
  default?: string | number | boolean;
  min?: number;
  max?: number;
  /** Allowed values for strings. */
  choices?: readonly string[];
}

export type ParsedOpts = Record<string, string | number | boolean | string[] | undefined>;

export interface Parsed {
  opts: ParsedOpts;
  positional: string[];
}

function bad(message: string): RewindError {
  return new RewindError(ERR.ARGUMENT, message);
}

/** Parses an integer written in decimal, 0x-hex, or with a k/M/G suffix (binary multiples). */
export function parseIntArg(name: string, text: string, min = -Infinity, max = Infinity): number {
  const m = /^(-?)(0x[0-9a-f]+|\d+)([kmg]?)$/i.exec(text.replace(/_/g, ''));
  if (!m) throw bad(`--${name} needs an integer, got ${JSON.stringify(text)}`);
  let v = m[2]!.toLowerCase().startsWith('0x') ? parseInt(m[2]!, 16) : parseInt(m[2]!, 10);
  const mult = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 }[m[3]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  v *= mult;
  if (m[1]) v = -v;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(`--${name} must be between ${min} and ${max}, got ${text}`);
  }
  return v;
}

export function parseArgs(argv: string[], specs: OptSpec[]): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const opts: ParsedOpts = {};
  for (const s of specs) if (s.default !== undefined) opts[s.name] = s.default;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '--') {
      if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) throw bad(`unknown option ${a} (options are spelled --name)`);
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    let name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    let value: string | undefined = eq >= 0 ? a.slice(eq + 1) : undefined;
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'bool' && value === undefined) {
      name = name.slice(3);
      spec = byName.get(name)!;
      value = 'false';
    }
    if (!spec) {
      const near = specs.find((s) => s.name.startsWith(name) || name.startsWith(s.name));
      throw bad(`unknown option --${name}${near ? ` (did you mean --${near.name}?)` : ''}`);
    }
    if (spec.type === 'bool') {
      if (value === undefined) value = 'true';
      if (value !== 'true' && value !== 'false') throw bad(`--${name} takes no value (or =true/=false), got ${JSON.stringify(value)}`);
      opts[name] = value === 'true';
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw bad(`--${name} needs a value${spec.arg ? ` (${spec.arg})` : ''}`);
    }
    switch (spec.type) {
      case 'string':
        if (spec.choices && !spec.choices.includes(value)) throw bad(`--${name} must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(value)}`);
        opts[name] = value;
        break;
      case 'int':
        opts[name] = parseIntArg(name, value, spec.min, spec.max);
        break;
      case 'number': {
        const v = Number(value);
        if (value.trim() === '' || !Number.isFinite(v) || (spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
          throw bad(`--${name} needs a number${spec.min !== undefined ? ` >= ${spec.min}` : ''}${spec.max !== undefined ? ` and <= ${spec.max}` : ''}, got ${JSON.stringify(value)}`);
        }
        opts[name] = v;
        break;
      }
      case 'list': {
        const prev = opts[name];
        opts[name] = [...(Array.isArray(prev) ? prev : []), value];
        break;
      }
    }
  }
  return { opts, positional };
}

/** Formats option specs for --help. */
export function formatOptions(specs: OptSpec[]): string {
  const rows = specs.map((s) => [`--${s.name}${s.type === 'bool' ? '' : ` ${s.arg ?? s.type.toUpperCase()}`}`, s.help + (s.default !== undefined && s.type !== 'bool' ? ` (default ${String(s.default)})` : '')]);
  const w = Math.min(30, Math.max(...rows.map((r) => r[0]!.length)));
  return rows.map(([a, b]) => `  ${a!.padEnd(w)}  ${b}`).join('\n');
}
