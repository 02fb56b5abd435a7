/**
 * Colours used by the TUI, in one place. With NO_COLOR set (https://no-color.org)
 * every colour is undefined, so Ink prints plain text; emphasis then comes from
 * markers (`>`, `*`) that never depend on colour.
 */
export interface Theme {
  title: string | undefined;
  border: string | undefined;
  current: string | undefined;
  changed: string | undefined;
  breakpoint: string | undefined;
  symbol: string | undefined;
  dim: string | undefined;
  error: string | undefined;
  mark: Record<string, string | undefined>;
}

export function makeTheme(env: Record<string, string | undefined>): Theme {
  const off = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  const c = (name: string): string | undefined => (off ? undefined : name);
  return {
    title: c('cyan'),
    border: c('gray'),
    current: c('greenBright'),
    changed: c('yellow'),
    breakpoint: c('red'),
    symbol: c('magenta'),
    dim: c('gray'),
    error: c('red'),
    mark: { irq: c('blue'), exception: c('red'), serial: c('green'), net: c('yellow'), breakpoint: c('magenta') },
  };
}
