import React from 'react';
import { Text } from 'ink';
import { Panel } from './Panel.js';
import type { Theme } from './theme.js';
import { tailLines } from './format.js';

/** Serial console output as it was at the current instruction count. */
export function SerialPanel(props: { text: string; width: number; height: number; theme: Theme }): React.JSX.Element {
  const lines = tailLines(props.text, props.width - 2, props.height - 3);
  return (
    <Panel title="Serial (COM1) at this instant" width={props.width} height={props.height} theme={props.theme}>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate">
          {l}
        </Text>
      ))}
    </Panel>
  );
}
