import React from 'react';
import { Box, Text } from 'ink';
import type { Theme } from './theme.js';

export const KEYS: [string, string][] = [
  ['s / S', 'step / reverse-step one instruction'],
  ['n / N', 'next / reverse-next (over CALL, REP, INT)'],
  ['f / F', 'finish / reverse-finish the current function'],
  ['c / C', 'continue / reverse-continue (Ctrl-C interrupts)'],
  ['↑ ↓', 'move the disassembly cursor'],
  ['b', 'toggle a breakpoint at the cursor'],
  ['w', 'add a watchpoint  (:watch ADDR [LEN] [r|w|rw])'],
  ['g', 'go to an instruction count or symbol  (:goto X)'],
  ['] / [', 'next / previous event on the timeline'],
  ['m', 'memory view follows an address or register  (:mem X)'],
  [':', 'command line (:help lists commands)'],
  ['?', 'this help'],
  ['q', 'quit'],
];

export function HelpOverlay(props: { width: number; height: number; theme: Theme }): React.JSX.Element {
  return (
    <Box flexDirection="column" width={props.width} height={props.height} borderStyle="double" borderColor={props.theme.title} paddingX={1}>
      <Text bold color={props.theme.title}>
        rewind keys (press any key to close)
      </Text>
      {KEYS.map(([k, d]) => (
        <Text key={k} wrap="truncate">
          <Text bold>{k.padEnd(8)}</Text> {d}
        </Text>
      ))}
    </Box>
  );
}
