import React from 'react';
import { Box, Text } from 'ink';
import type { Theme } from './theme.js';
import type { TimelineMark, MarkKind } from './controller.js';
import { commas } from './format.js';

const GLYPH: Record<MarkKind, string> = { exception: '!', breakpoint: '*', net: 'n', serial: 's', irq: 'i' };
const PRIORITY: Record<MarkKind, number> = { exception: 5, breakpoint: 4, net: 3, serial: 2, irq: 1 };

/** Which cell of a `width`-cell bar each mark falls in, keeping the most important kind per cell. */
export function timelineCells(marks: TimelineMark[], historyEnd: number, width: number): (MarkKind | null)[] {
  const cells: (MarkKind | null)[] = new Array<MarkKind | null>(width).fill(null);
  const span = Math.max(1, historyEnd);
  for (const m of marks) {
    const i = Math.min(width - 1, Math.floor((m.icount / span) * width));
    const cur = cells[i];
    if (i >= 0 && (cur === null || cur === undefined || PRIORITY[m.kind] > PRIORITY[cur])) cells[i] = m.kind;
  }
  return cells;
}

/** The whole recording as one bar: marks for events, a caret at the current position. */
export function TimelineBar(props: { marks: TimelineMark[]; icount: number; historyEnd: number; width: number; theme: Theme }): React.JSX.Element {
  const w = props.width;
  const cells = timelineCells(props.marks, props.historyEnd, w);
  const pos = Math.min(w - 1, Math.floor((props.icount / Math.max(1, props.historyEnd)) * w));
  // Group consecutive cells of one kind into a single Text to keep the frame small.
  const runs: { kind: MarkKind | null; text: string }[] = [];
  for (const k of cells) {
    const ch = k === null ? '─' : GLYPH[k];
    const last = runs[runs.length - 1];
    if (last && last.kind === k) last.text += ch;
    else runs.push({ kind: k, text: ch });
  }
  const label = `icount ${commas(props.icount)} of ${commas(props.historyEnd)}`;
  const caretLine = pos + 1 + label.length + 1 <= w ? ' '.repeat(pos) + '▲ ' + label : (label + ' ▲').padStart(pos + 1);
  return (
    <Box flexDirection="column" width={w}>
      <Text wrap="truncate">
        {runs.map((r, i) => (
          <Text key={i} color={r.kind === null ? props.theme.dim : props.theme.mark[r.kind]}>
            {r.text}
          </Text>
        ))}
      </Text>
      <Text color={props.theme.current} wrap="truncate">
        {caretLine.slice(0, w)}
      </Text>
    </Box>
  );
}
