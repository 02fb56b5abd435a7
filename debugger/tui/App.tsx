/**
 * The rewind terminal debugger. One screen: disassembly, registers, memory,
 * stack, the serial console as it was at this instant, and a timeline of the
 * whole recording. Keys are listed in HelpOverlay (press `?`).
 */
import React, { useCallback, useMemo, useRef, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';
import type { DebugController, DebugView, StopInfo, MarkKind } from './controller.js';
import { MARK_KINDS } from './controller.js';
import { makeTheme, type Theme } from './theme.js';
import { computeLayout, commas, fit, hex } from './format.js';
import { useTerminalSize } from './hooks/use-terminal-size.js';
import { RegistersPanel } from './RegistersPanel.js';
import { DisasmPanel } from './DisasmPanel.js';
import { MemoryPanel, bytesPerRow } from './MemoryPanel.js';
import { StackPanel, type StackEntry } from './StackPanel.js';
import { SerialPanel } from './SerialPanel.js';
import { TimelineBar } from './TimelineBar.js';
import { HelpOverlay } from './HelpOverlay.js';

type Mode = 'normal' | 'command' | 'help' | 'running';

export interface AppProps {
  controller: DebugController;
  env?: Record<string, string | undefined>;
  /** Minimum ms between progress redraws while running (bounded refresh rate). */
  refreshMs?: number;
  now?: () => number;
}

function regMap(v: DebugView): Map<string, number> {
  return new Map(v.registers.map((r) => [r.name, r.value]));
}

export function App(props: AppProps): React.JSX.Element {
  const { controller } = props;
  const theme: Theme = useMemo(() => makeTheme(props.env ?? {}), [props.env]);
  const { exit } = useApp();
  const { rows, cols } = useTerminalSize();
  const layout = computeLayout(rows, cols);
  const now = props.now ?? (() => performance.now());

  const [view, setView] = useState<DebugView>(() => controller.view());
  const [previous, setPrevious] = useState<Map<string, number> | null>(null);
  const [cursor, setCursor] = useState<number>(view.eip);
  // Mode and command buffer live in refs too: keys can arrive faster than
  // React re-renders (typing fast, pasting), and each key must see the
  // effect of the one before.
  const [mode, setModeState] = useState<Mode>('normal');
  const [cmd, setCmdState] = useState('');
  const modeRef = useRef<Mode>('normal');
  const cmdRef = useRef('');
  const setMode = useCallback((m: Mode) => {
    modeRef.current = m;
    setModeState(m);
  }, []);
  const setCmd = useCallback((f: string | ((c: string) => string)) => {
    cmdRef.current = typeof f === 'string' ? f : f(cmdRef.current);
    setCmdState(cmdRef.current);
  }, []);
  const [message, setMessage] = useState('Press ? for help.');
  const [isError, setIsError] = useState(false);
  const [progress, setProgress] = useState<string>('');
  const [memFollow, setMemFollow] = useState<string>('esp');
  const abortRef = useRef<AbortController | null>(null);
  const lastDraw = useRef(0);

  const refresh = useCallback(
    (stop: StopInfo | null) => {
      const before = view;
      const after = controller.view();
      setPrevious(regMap(before));
      setView(after);
      setCursor(after.eip);
      if (stop) {
        setMessage(stop.message);
        setIsError(false);
      }
    },
    [controller, view],
  );

  const run = useCallback(
    (op: () => Promise<StopInfo>) => {
      setMode('running');
      setProgress('working…');
      op().then(
        (stop) => {
          setMode('normal');
          setProgress('');
          refresh(stop);
        },
        (err: unknown) => {
          setMode('normal');
          setProgress('');
          refresh(null);
          setMessage(err instanceof Error ? err.message : String(err));
          setIsError(true);
        },
      );
    },
    [refresh],
  );

  const runCont = useCallback(
    (dir: 1 | -1) => {
      const ac = new AbortController();
      abortRef.current = ac;
      run(() =>
        controller.cont(
          dir,
          (p) => {
            const t = now();
            if (t - lastDraw.current < (props.refreshMs ?? 100)) return;
            lastDraw.current = t;
            const ips = controller.speed();
            setProgress(`${dir < 0 ? 'reverse-continuing' : 'continuing'}… ${Math.round(p.fraction * 100)}%  icount ${commas(p.icount)}${ips ? `  ${(ips / 1e6).toFixed(1)} MIPS` : ''}  (Ctrl-C stops)`);
          },
          ac.signal,
        ),
      );
    },
    [controller, run, props.refreshMs],
  );

  const disasmLines = useMemo(() => {
    const before = controller.disassembleBefore(view.eip, Math.floor((layout.disasmRows - 3) / 3));
    const after = controller.disassemble(view.eip, layout.disasmRows);
    return [...before, ...after];
  }, [controller, view, layout.disasmRows]);

  const memAddr = useMemo(() => {
    const r = view.registers.find((x) => x.name === memFollow.toLowerCase());
    if (r) return r.value >>> 0;
    const n = Number(memFollow);
    return Number.isFinite(n) ? n >>> 0 : 0;
  }, [view, memFollow]);
  const perRow = bytesPerRow(layout.leftWidth);
  const memBytes = useMemo(() => controller.readMemory(memAddr, perRow * (layout.memoryRows - 3)), [controller, view, memAddr, perRow, layout.memoryRows]);

  const stack: StackEntry[] = useMemo(() => {
    const n = layout.stackRows - 3;
    const raw = controller.readMemory(view.esp, n * 4);
    const out: StackEntry[] = [];
    for (let i = 0; i < n; i++) {
      const b = raw.slice(i * 4, i * 4 + 4);
      const value = b.some((x) => x === null) ? null : ((b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0);
      out.push({ addr: (view.esp + i * 4) >>> 0, value, guess: value === null ? null : controller.symbolize(value) });
    }
    return out;
  }, [controller, view, layout.stackRows]);

  const execCommand = useCallback(
    (line: string) => {
      const text = line.trim();
      if (text === '') return;
      const [word, ...rest] = text.split(/\s+/);
      const arg = rest.join(' ');
      if (word === 'q' || word === 'quit') {
        exit();
        return;
      }
      if (word === 'help') {
        setMode('help');
        return;
      }
      if (word === 'mem' || word === 'm') {
        setMemFollow(arg || 'esp');
        setMessage(`memory view follows ${arg || 'esp'}`);
        setIsError(false);
        return;
      }
      if ((word === 'goto' || word === 'g') && /^[0-9][0-9_,]*$/.test(arg)) {
        const ic = Number(arg.replace(/[_,]/g, ''));
        run(() => controller.seek(ic));
        return;
      }
      run(async () => ({ message: await controller.command(text) }));
    },
    [controller, exit, run],
  );

  const submitCommand = () => {
    setMode('normal');
    const line = cmdRef.current;
    setCmd('');
    execCommand(line);
  };
  /** Typed or pasted text: a CR or LF inside the chunk submits the line. */
  const typeIntoCommand = (text: string) => {
    for (const ch of text) {
      if (modeRef.current !== 'command') return;
      if (ch === '\r' || ch === '\n') submitCommand();
      else if (ch >= ' ') setCmd((c) => c + ch);
    }
  };

  useInput((input, key) => {
    const mode = modeRef.current;
    if (mode === 'running') {
      if (key.ctrl && input === 'c') abortRef.current?.abort();
      return;
    }
    if (mode === 'help') {
      setMode('normal');
      return;
    }
    if (mode === 'command') {
      if (key.escape || (key.ctrl && input === 'c')) {
        setMode('normal');
        setCmd('');
      } else if (key.backspace || key.delete) {
        setCmd((c) => c.slice(0, -1));
      } else if (key.return) {
        submitCommand();
      } else if (input && !key.ctrl && !key.meta) {
        typeIntoCommand(input);
      }
      return;
    }
    if (key.ctrl && input === 'c') {
      exit();
      return;
    }
    if (input.length > 1 && input.startsWith(':')) {
      // A command line that arrived in one chunk (pasted, or sent by a script).
      setMode('command');
      setCmd('');
      typeIntoCommand(input.slice(1));
      return;
    }
    if (key.upArrow || key.downArrow) {
      const i = disasmLines.findIndex((l) => l.addr === cursor);
      const j = Math.max(0, Math.min(disasmLines.length - 1, (i < 0 ? 0 : i) + (key.upArrow ? -1 : 1)));
      if (disasmLines[j]) setCursor(disasmLines[j]!.addr);
      return;
    }
    switch (input) {
      case 's': return run(() => controller.step(1));
      case 'S': return run(() => controller.step(-1));
      case 'n': return run(() => controller.next(1));
      case 'N': return run(() => controller.next(-1));
      case 'f': return run(() => controller.finish(1));
      case 'F': return run(() => controller.finish(-1));
      case 'c': return runCont(1);
      case 'C': return runCont(-1);
      case ']': return run(() => controller.jumpToMark(null, 1));
      case '[': return run(() => controller.jumpToMark(null, -1));
      case 'b': {
        setMessage(controller.toggleBreakpoint(cursor));
        setIsError(false);
        setView(controller.view());
        return;
      }
      case 'w': setMode('command'); setCmd('watch '); return;
      case 'g': setMode('command'); setCmd('goto '); return;
      case 'm': setMode('command'); setCmd('mem '); return;
      case ':': setMode('command'); setCmd(''); return;
      case '?': setMode('help'); return;
      case 'q': exit(); return;
      default:
        return;
    }
  });

  const ips = controller.speed();
  const status = `rewind · ${view.title} · icount ${commas(view.icount)} / ${commas(view.historyEnd)} · ${view.mode} · EIP ${hex(view.eip, 8)}${ips ? ` · ${(ips / 1e6).toFixed(1)} MIPS` : ''}`;
  const bodyRows = rows - 4 < 20 ? 20 : rows - 4;
  const bottom = mode === 'command' ? `:${cmd}█` : mode === 'running' ? progress : message;

  return (
    <Box flexDirection="column" width={layout.cols}>
      <Text inverse wrap="truncate">
        {fit(status, layout.cols)}
      </Text>
      {mode === 'help' ? (
        <HelpOverlay width={layout.cols} height={bodyRows} theme={theme} />
      ) : (
        <>
          <Box flexDirection="row">
            <Box flexDirection="column">
              <DisasmPanel lines={disasmLines} eip={view.eip} cursor={cursor} breakpoints={view.breakpoints} width={layout.leftWidth} height={layout.disasmRows} theme={theme} />
              <MemoryPanel title={`Memory · ${memFollow} = ${hex(memAddr, 8)}`} addr={memAddr} bytes={memBytes} perRow={perRow} width={layout.leftWidth} height={layout.memoryRows} theme={theme} />
            </Box>
            <Box flexDirection="column">
              <RegistersPanel registers={view.registers} eflags={view.eflags} previous={previous} mode={view.mode} width={layout.rightWidth} height={layout.regsRows} theme={theme} />
              <StackPanel entries={stack} width={layout.rightWidth} height={layout.stackRows} theme={theme} />
            </Box>
          </Box>
          <SerialPanel text={view.serial} width={layout.cols} height={layout.serialRows} theme={theme} />
        </>
      )}
      <TimelineBar marks={view.marks} icount={view.icount} historyEnd={view.historyEnd} width={layout.cols} theme={theme} />
      <Text color={isError && mode === 'normal' ? theme.error : undefined} wrap="truncate">
        {fit(bottom, layout.cols)}
      </Text>
    </Box>
  );
}

export { MARK_KINDS };
export type { MarkKind };
