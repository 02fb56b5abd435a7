import React from 'react';
import { Box, Text } from 'ink';
import type { Theme } from './theme.js';

/** A bordered box with a title line; `height` includes the border. */
export function Panel(props: { title: string; width: number; height: number; theme: Theme; children?: React.ReactNode }): React.JSX.Element {
  return (
    <Box flexDirection="column" width={props.width} height={props.height} borderStyle="round" borderColor={props.theme.border} overflow="hidden">
      <Text color={props.theme.title} bold wrap="truncate">
        {props.title}
      </Text>
      {props.children}
    </Box>
  );
}
