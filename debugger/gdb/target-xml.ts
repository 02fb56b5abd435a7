/**
 * The target description we give gdb (qXfer:features:read:target.xml).
 *
 * gdb's i386 architecture requires the feature org.gnu.gdb.i386.core with
 * its 32 registers in gdb's order (eax ecx edx ebx esp ebp esi edi, eip,
 * eflags, cs ss ds es fs gs, st0-st7, fctrl fstat ftag fiseg fioff foseg
 * fooff fop), numbered 0..31, and accepts org.gnu.gdb.i386.sse (xmm0-7,
 * mxcsr: 32..40). System registers follow in a feature of our own so that
 * `info registers cr0` works; gdb shows unknown features' registers as plain
 * integers. Register numbers in p/P packets and the g layout follow this
 * order. x87 values come from the target when it models them (read-only);
 * SSE registers are reported unavailable (`xx`).
 */

export interface GdbRegDef {
  name: string;
  /** Size in bytes. */
  size: number;
}

const CORE: GdbRegDef[] = [
  ...['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'eip', 'eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs'].map((name) => ({ name, size: 4 })),
  ...['st0', 'st1', 'st2', 'st3', 'st4', 'st5', 'st6', 'st7'].map((name) => ({ name, size: 10 })),
  ...['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'].map((name) => ({ name, size: 4 })),
];
const SSE: GdbRegDef[] = [...['xmm0', 'xmm1', 'xmm2', 'xmm3', 'xmm4', 'xmm5', 'xmm6', 'xmm7'].map((name) => ({ name, size: 16 })), { name: 'mxcsr', size: 4 }];
const SYSTEM: GdbRegDef[] = ['cr0', 'cr2', 'cr3', 'cr4', 'fs_base', 'gs_base'].map((name) => ({ name, size: 4 }));

/** All registers in gdb's numbering. */
export const GDB_REGS: readonly GdbRegDef[] = [...CORE, ...SSE, ...SYSTEM];
export const GDB_REG_INDEX: ReadonlyMap<string, number> = new Map(GDB_REGS.map((r, i) => [r.name, i]));
/** Byte offset of each register in the g packet. */
export const GDB_REG_OFFSET: readonly number[] = (() => {
  const out: number[] = [];
  let off = 0;
  for (const r of GDB_REGS) {
    out.push(off);
    off += r.size;
  }
  return out;
})();
export const GDB_G_BYTES = GDB_REG_OFFSET[GDB_REGS.length - 1]! + GDB_REGS[GDB_REGS.length - 1]!.size;

const EFLAGS_FIELDS: [string, number][] = [
  ['CF', 0], ['', 1], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9], ['DF', 10], ['OF', 11],
  ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19], ['VIP', 20], ['ID', 21],
];

function reg(name: string, bits: number, type: string, group?: string): string {
  return `  <reg name="${name}" bitsize="${bits}" type="${type}"${group ? ` group="${group}"` : ''}/>\n`;
}

export function targetXml(): string {
  let core = '<feature name="org.gnu.gdb.i386.core">\n  <flags id="i386_eflags" size="4">\n';
  for (const [n, b] of EFLAGS_FIELDS) core += `    <field name="${n}" start="${b}" end="${b}"/>\n`;
  core += '  </flags>\n';
  for (const n of ['eax', 'ecx', 'edx', 'ebx']) core += reg(n, 32, 'int32');
  core += reg('esp', 32, 'data_ptr') + reg('ebp', 32, 'data_ptr');
  for (const n of ['esi', 'edi']) core += reg(n, 32, 'int32');
  core += reg('eip', 32, 'code_ptr') + reg('eflags', 32, 'i386_eflags');
  for (const n of ['cs', 'ss', 'ds', 'es', 'fs', 'gs']) core += reg(n, 32, 'int32');
  for (let i = 0; i < 8; i++) core += reg(`st${i}`, 80, 'i387_ext');
  for (const n of ['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop']) core += reg(n, 32, 'int', 'float');
  core += '</feature>\n';
  let sse = '<feature name="org.gnu.gdb.i386.sse">\n';
  sse += '  <vector id="v4f" type="ieee_single" count="4"/>\n  <vector id="v2d" type="ieee_double" count="2"/>\n';
  sse += '  <vector id="v16i8" type="int8" count="16"/>\n  <vector id="v8i16" type="int16" count="8"/>\n';
  sse += '  <vector id="v4i32" type="int32" count="4"/>\n  <vector id="v2i64" type="int64" count="2"/>\n';
  sse += '  <union id="vec128">\n    <field name="v4_float" type="v4f"/>\n    <field name="v2_double" type="v2d"/>\n';
  sse += '    <field name="v16_int8" type="v16i8"/>\n    <field name="v8_int16" type="v8i16"/>\n';
  sse += '    <field name="v4_int32" type="v4i32"/>\n    <field name="v2_int64" type="v2i64"/>\n    <field name="uint128" type="uint128"/>\n  </union>\n';
  sse += '  <flags id="i386_mxcsr" size="4">\n';
  for (const [n, b] of [['IE', 0], ['DE', 1], ['ZE', 2], ['OE', 3], ['UE', 4], ['PE', 5], ['DAZ', 6], ['IM', 7], ['DM', 8], ['ZM', 9], ['OM', 10], ['UM', 11], ['PM', 12], ['FZ', 15]] as const) {
    sse += `    <field name="${n}" start="${b}" end="${b}"/>\n`;
  }
  sse += '  </flags>\n';
  for (let i = 0; i < 8; i++) sse += reg(`xmm${i}`, 128, 'vec128', 'vector');
  sse += reg('mxcsr', 32, 'i386_mxcsr', 'vector');
  sse += '</feature>\n';
  let sys = '<feature name="org.rewind.i386.system">\n';
  for (const n of ['cr0', 'cr2', 'cr3', 'cr4']) sys += reg(n, 32, 'uint32', 'system');
  sys += reg('fs_base', 32, 'data_ptr', 'system') + reg('gs_base', 32, 'data_ptr', 'system');
  sys += '</feature>\n';
  return `<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n<target version="1.0">\n<architecture>i386</architecture>\n${core}${sse}${sys}</target>\n`;
}
