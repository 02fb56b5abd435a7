import React from 'react';
import { Text } from 'ink';
import { Panel } from './Panel.js';
import type { Theme } from './theme.js';
import { hex } from './format.js';

/** Hex/ASCII dump; `??` for unmapped bytes. 8 or 16 bytes a row depending on width. */
export function MemoryPanel(props: { title: string; addr: number; bytes: (number | null)[]; perRow: number; width: number; height: number; theme: Theme }): React.JSX.Element {
  const rows: React.JSX.Element[] = [];
  for (let r = 0; r * props.perRow < props.bytes.length && r < props.height - 3; r++) {
    const chunk = props.bytes.slice(r * props.perRow, (r + 1) * props.perRow);
    const hx = chunk.map((b) => (b === null ? '??' : hex(b, 2))).join(' ');
    const asc = chunk.map((b) => (b === null ? ' ' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    rows.push(
      <Text key={r} wrap="truncate">
        <Text color={props.theme.dim}>{hex(props.addr + r * props.perRow, 8)} </Text>
        {hx} <Text color={props.theme.dim}>{asc}</Text>
      </Text>,
    );
  }
  return (
    <Panel title={props.title} width={props.width} height={props.height} theme={props.theme}>
      {rows}
    </Panel>
  );
}

export function bytesPerRow(width: number): number {
  // 8 (addr) + 1 + 3n - 1 (hex) + 1 + n (ascii) + 2 (border) <= width
  return width - 11 >= 4 * 16 ? 16 : 8;
}
