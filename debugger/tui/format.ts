/** Small, pure formatting helpers shared by the panels (and tested directly). */

export function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0').slice(-digits);
}

/** 1234567 -> "1,234,567" (no locale dependence). */
export function commas(n: number): string {
  const s = Math.floor(n).toString();
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const FLAG_BITS: [number, string][] = [
  [11, 'OF'], [10, 'DF'], [9, 'IF'], [8, 'TF'], [7, 'SF'], [6, 'ZF'], [4, 'AF'], [2, 'PF'], [0, 'CF'],
];

/** EFLAGS as the names of the set flags, e.g. "ZF PF IF". */
export function flagNames(eflags: number): string {
  const names = FLAG_BITS.filter(([bit]) => (eflags >>> bit) & 1).map(([, n]) => n);
  const iopl = (eflags >>> 12) & 3;
  if (iopl) names.push(`IOPL${iopl}`);
  if ((eflags >>> 17) & 1) names.push('VM');
  if ((eflags >>> 14) & 1) names.push('NT');
  return names.join(' ');
}

/** Pads or cuts a string to exactly `width` columns. */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  return s.length > width ? s.slice(0, Math.max(0, width - 1)) + '…' : s.padEnd(width);
}

/** The last `rows` lines of `text` after wrapping at `width`. */
export function tailLines(text: string, width: number, rows: number): string[] {
  const out: string[] = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (const line of lines) {
    const clean = line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
    if (clean.length === 0) out.push('');
    for (let i = 0; i < clean.length; i += Math.max(1, width)) out.push(clean.slice(i, i + width));
  }
  if (out.length > 0 && out[out.length - 1] === '' && text.endsWith('\n')) out.pop();
  return out.slice(-rows);
}

/** Screen layout in rows for a terminal of `rows` x `cols` (80x24 minimum). */
export interface Layout {
  cols: number;
  rightWidth: number;
  leftWidth: number;
  disasmRows: number;
  memoryRows: number;
  regsRows: number;
  stackRows: number;
  serialRows: number;
}

/** Box heights include their borders (2 rows). */
export function computeLayout(rows: number, cols: number): Layout {
  const r = Math.max(24, rows);
  const c = Math.max(80, cols);
  const body = r - 4; // status bar, two timeline rows, command line
  const serialRows = Math.max(4, Math.round(body * 0.22));
  const top = body - serialRows;
  const memoryRows = Math.max(5, Math.round(top * 0.3));
  const regsRows = 11;
  const rightWidth = c >= 120 ? 40 : 34;
  return {
    cols: c,
    rightWidth,
    leftWidth: c - rightWidth,
    disasmRows: top - memoryRows,
    memoryRows,
    regsRows,
    stackRows: top - regsRows,
    serialRows,
  };
}
