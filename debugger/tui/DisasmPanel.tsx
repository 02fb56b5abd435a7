import React from 'react';
import { Text } from 'ink';
import { Panel } from './Panel.js';
import type { Theme } from './theme.js';
import type { DisasmLine } from './controller.js';
import { hex, fit } from './format.js';

/** Disassembly around EIP: `>` marks the current instruction, `*` a breakpoint, `▸` the cursor. */
export function DisasmPanel(props: {
  lines: DisasmLine[];
  eip: number;
  cursor: number;
  breakpoints: ReadonlySet<number>;
  width: number;
  height: number;
  theme: Theme;
}): React.JSX.Element {
  const { theme } = props;
  const inner = props.width - 2;
  const rows: React.JSX.Element[] = [];
  for (const line of props.lines) {
    if (line.symbol !== null && !line.symbol.includes('+')) {
      rows.push(
        <Text key={`sym${line.addr}`} color={theme.symbol} wrap="truncate">
          {fit(`<${line.symbol}>:`, inner)}
        </Text>,
      );
    }
    const isCur = line.addr === props.eip;
    const isBp = props.breakpoints.has(line.addr);
    const isCursor = line.addr === props.cursor;
    const gutter = `${isCursor ? '▸' : ' '}${isBp ? '*' : ' '}${isCur ? '>' : ' '}`;
    const body = `${hex(line.addr, 8)}  ${line.bytes.padEnd(18).slice(0, 18)} ${line.text}`;
    rows.push(
      <Text key={line.addr} wrap="truncate">
        <Text color={isBp ? theme.breakpoint : undefined}>{gutter}</Text>
        <Text color={isCur ? theme.current : undefined} bold={isCur} inverse={isCursor && !isCur}>
          {fit(body, inner - 3)}
        </Text>
      </Text>,
    );
  }
  // Keep the current line visible: drop rows from the top if needed.
  const max = props.height - 3;
  const curRow = rows.findIndex((r) => r.key === String(props.eip));
  const start = rows.length <= max ? 0 : Math.max(0, Math.min(rows.length - max, curRow - Math.floor(max / 3)));
  return (
    <Panel title="Disassembly" width={props.width} height={props.height} theme={theme}>
      {rows.slice(start, start + max)}
    </Panel>
  );
}
