// Rendering command output: tables for people, JSON and YAML for scripts.
import { stringify } from 'yaml';
import { stringifyJson } from '../util/json.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

export function parseFormat(value: string, allowed: readonly string[] = ['table', 'json', 'yaml']): string {
  if (!allowed.includes(value))
    throw new UsageError(`unknown output format ${JSON.stringify(value)}: use ${allowed.join('|')}`);
  return value;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Colours only on a terminal and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env);
}

export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
          .join('   ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function render(value: unknown, format: OutputFormat, toTable: () => string): string {
  // stringifyJson: a plan can hold int64 values from custom resources as BigInts.
  if (format === 'json') return stringifyJson(value, 2) + '\n';
  if (format === 'yaml') return stringify(value);
  return toTable();
}

export function age(from: string | undefined, now = new Date()): string {
  if (!from) return '';
  const s = Math.max(0, Math.floor((now.getTime() - new Date(from).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
