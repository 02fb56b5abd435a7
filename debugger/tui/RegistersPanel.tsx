import React from 'react';
import { Text } from 'ink';
import { Panel } from './Panel.js';
import type { Theme } from './theme.js';
import type { RegisterView } from './controller.js';
import { hex, flagNames, fit } from './format.js';

/** General registers in pairs, EIP/EFLAGS, decoded flags and selectors; values changed since the last stop are highlighted (and starred without colour). */
export function RegistersPanel(props: {
  registers: RegisterView[];
  eflags: number;
  previous: Map<string, number> | null;
  mode: string;
  width: number;
  height: number;
  theme: Theme;
}): React.JSX.Element {
  const { registers, previous, theme } = props;
  const inner = props.width - 2;
  const changed = (r: RegisterView) => previous !== null && previous.has(r.name) && previous.get(r.name) !== r.value;
  const cell = (r: RegisterView | undefined, key: string) => {
    if (!r) return <Text key={key}>{''.padEnd(14)}</Text>;
    const c = changed(r);
    return (
      <Text key={key} color={c ? theme.changed : undefined} bold={c}>
        {`${r.name.toUpperCase().padEnd(3)} ${hex(r.value, r.digits)}${c ? '*' : ' '}`.padEnd(14)}
      </Text>
    );
  };
  const byName = new Map(registers.map((r) => [r.name, r]));
  const pairs: [string, string][] = [['eax', 'esi'], ['ebx', 'edi'], ['ecx', 'ebp'], ['edx', 'esp']];
  const efl: RegisterView = { name: 'efl', value: props.eflags, digits: 8 };
  const segs = registers.filter((r) => r.digits === 4);
  const rows: React.JSX.Element[] = pairs.map(([a, b], i) => (
    <Text key={`p${i}`} wrap="truncate">
      {cell(byName.get(a), 'a')}
      {cell(byName.get(b), 'b')}
    </Text>
  ));
  rows.push(
    <Text key="ip" wrap="truncate">
      {cell(byName.get('eip'), 'eip')}
      {cell(efl, 'efl')}
    </Text>,
  );
  rows.push(
    <Text key="flags" color={theme.dim} wrap="truncate">
      {fit(`[${flagNames(props.eflags)}]`, inner)}
    </Text>,
  );
  for (let i = 0; i < segs.length; i += 3) {
    rows.push(
      <Text key={`s${i}`} wrap="truncate">
        {segs.slice(i, i + 3).map((r) => {
          const c = changed(r);
          return (
            <Text key={r.name} color={c ? theme.changed : undefined}>
              {`${r.name.toUpperCase()} ${hex(r.value, 4)}${c ? '*' : ' '} `}
            </Text>
          );
        })}
      </Text>,
    );
  }
  return (
    <Panel title={`Registers · ${props.mode}`} width={props.width} height={props.height} theme={theme}>
      {rows.slice(0, props.height - 3)}
    </Panel>
  );
}
