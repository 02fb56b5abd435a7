/**
 * `rewind info FILE`: what a journal holds, without replaying it.
 */
import { argError } from '../../../engine/errors.js';
import { INPUT, INPUT_NAMES } from '../../../engine/replay/boundary.js';
import type { JournalContents } from '../../../engine/replay/journal.js';
import type { MsgValue } from '../../../engine/replay/msgpack.js';
import { toHex } from '../../../engine/state/sha256.js';
import { journalId } from '../../../engine/host/journal-file.js';
import { parseArgs } from '../args.js';
import { INFO_OPTIONS } from '../commands.js';
import { commas, formatNs, type CliIo } from '../io.js';
import { journalEnd, openJournal } from '../journal-open.js';
import { describeExpectations, expectPath, readExpectations } from '../expect.js';

/** Guest time at the end of a journal, following its host-clock readings as the guest clock does. */
export function guestDurationNs(c: JournalContents): number {
  const ns = Number(c.header.machine['nsPerInstr'] ?? 10);
  let baseIcount = c.header.startIcount;
  let baseNs = 0;
  for (const ev of c.events) {
    if (ev.kind !== INPUT.HOST_CLOCK) continue;
    const now = baseNs + (ev.icount - baseIcount) * ns;
    baseIcount = ev.icount;
    baseNs = ev.value > now ? ev.value : now;
  }
  return baseNs + (journalEnd(c) - baseIcount) * ns;
}

function plain(v: MsgValue): unknown {
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function describeJournal(path: string, c: JournalContents): Record<string, unknown> {
  const h = c.header;
  const counts: Record<string, number> = {};
  const bytes: Record<string, number> = {};
  for (const ev of c.events) {
    const k = INPUT_NAMES[ev.kind] ?? String(ev.kind);
    counts[k] = (counts[k] ?? 0) + 1;
    bytes[k] = (bytes[k] ?? 0) + (ev.data ? ev.data.length : 0);
  }
  const { imagePaths: _paths, ...machine } = h.machine;
  void _paths;
  return {
    file: path,
    id: journalId(c),
    status: c.truncated === null ? 'complete (closed cleanly)' : c.truncated,
    format: h.format,
    rewind: h.rewind,
    machine: plain(machine),
    clockMode: h.clockMode,
    commandLine: h.argv.join(' '),
    bootTime: new Date(h.bootWallMs).toISOString(),
    images: h.images.map((i) => ({ name: i.name, size: i.size, sha256: toHex(i.sha256), bundled: i.data !== null })),
    startIcount: h.startIcount,
    endIcount: journalEnd(c),
    instructions: journalEnd(c) - h.startIcount,
    guestNs: guestDurationNs(c),
    events: counts,
    eventBytes: bytes,
    syncs: c.syncs.length,
    syncInterval: 2 ** h.syncShift,
    finalStateHash: c.end ? toHex(c.end.stateHash) : null,
    parent: h.parent,
    bytes: c.bytes,
  };
}

export async function info(argv: string[], io: CliIo): Promise<number> {
  const { opts, positional } = parseArgs(argv, INFO_OPTIONS);
  if (positional.length !== 1) throw argError(positional.length === 0 ? 'info needs a journal FILE' : `unexpected argument ${JSON.stringify(positional[1])}`);
  const j = openJournal(positional[0]!, io.cwd);
  const c = j.contents;
  const d = describeJournal(j.path, c);
  if (opts['json'] === true) {
    io.stdout.write(JSON.stringify(d, null, 2) + '\n');
    return 0;
  }
  const h = c.header;
  const events = Object.entries(d['events'] as Record<string, number>);
  const evBytes = d['eventBytes'] as Record<string, number>;
  const lines = [
    `journal      ${j.path}`,
    `status       ${d['status'] as string}`,
    `format       ${h.format} (written by rewind ${h.rewind}), ${commas(c.bytes)} bytes, id ${(d['id'] as string).slice(0, 16)}...`,
    `machine      ${JSON.stringify(d['machine'])}`,
    `clock        ${h.clockMode}`,
    `boot time    ${d['bootTime'] as string}`,
    `command      ${h.argv.join(' ') || '(not recorded)'}`,
    ...(h.parent ? [`branch of    ${h.parent.journal.slice(0, 16)}... at icount ${commas(h.parent.icount)}`] : []),
    'images',
    ...(h.images.length ? h.images.map((i) => `  ${i.name.padEnd(24)} ${commas(i.size).padStart(12)} bytes  sha256 ${toHex(i.sha256)}${i.data ? '  (bundled)' : ''}`) : ['  none']),
    `instructions ${commas(d['instructions'] as number)} (icount ${commas(h.startIcount)} to ${commas(d['endIcount'] as number)})`,
    `guest time   ${formatNs(d['guestNs'] as number)}`,
    `inputs       ${c.events.length === 0 ? 'none' : events.map(([k, n]) => `${k} ${commas(n)}${evBytes[k] ? ` (${commas(evBytes[k]!)} bytes)` : ''}`).join(', ')}`,
    `syncs        ${commas(c.syncs.length)} (every 2^${h.syncShift} instructions)`,
    `final state  ${c.end ? toHex(c.end.stateHash) : 'unknown (no END record)'}`,
  ];
  const exp = readExpectations(expectPath(j.path));
  if (exp) lines.push(`expectations ${describeExpectations(exp).join(' ') || 'none'} (${expectPath(j.path)})`);
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
}
