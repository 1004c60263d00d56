// Markdown tables for the benchmark output (docs/performance.md holds the same tables).

export type Cell = string | number;

export function table(head: readonly string[], rows: readonly (readonly Cell[])[], align?: readonly ('l' | 'r')[]): string {
  const a = align ?? head.map((_, i) => (i === 0 ? 'l' : 'r'));
  const line = (cells: readonly Cell[]): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(head), `|${a.map((x) => (x === 'r' ? '---:' : '---')).join('|')}|`, ...rows.map(line)].join('\n');
}

export const ms = (n: number): string => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : n >= 100 ? `${Math.round(n)} ms` : `${n.toFixed(1)} ms`);
export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
