import React from 'react';
import { Text } from 'ink';
import { Panel } from './Panel.js';
import type { Theme } from './theme.js';
import { hex, fit } from './format.js';

export interface StackEntry {
  addr: number;
  value: number | null;
  /** A return-address guess (symbol) when the value points into known code. */
  guess: string | null;
}

/** Dwords from ESP upwards; values that look like return addresses are labelled. */
export function StackPanel(props: { entries: StackEntry[]; width: number; height: number; theme: Theme }): React.JSX.Element {
  const inner = props.width - 2;
  return (
    <Panel title="Stack" width={props.width} height={props.height} theme={props.theme}>
      {props.entries.slice(0, props.height - 3).map((e) => (
        <Text key={e.addr} wrap="truncate">
          <Text color={props.theme.dim}>{hex(e.addr, 8)} </Text>
          {e.value === null ? '????????' : hex(e.value, 8)}
          <Text color={props.theme.symbol}>{e.guess ? fit(` ↩ ${e.guess}`, inner - 17) : ''}</Text>
        </Text>
      ))}
    </Panel>
  );
}
