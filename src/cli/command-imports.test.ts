// What a command loads before it runs: every module its static imports reach costs each start
// CPU (a reconcile pass runs every minute), so the engines a quiet pass or a validate does not
// use are imported on first use. These tests walk the static import graph of the sources and
// fail when such an engine becomes reachable again.
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('..', import.meta.url));

/** Relative runtime imports and re-exports of a source file (`import type` is left out). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(
    /^(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm,
  )) {
    const spec = m[1] ?? '';
    out.push(join(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

/** Every source module reachable from `entry` by static imports, relative to src/. */
function reachable(entry: string): Map<string, string> {
  const start = join(SRC, entry);
  const parent = new Map<string, string>([[start, '']]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift() ?? '';
    for (const dep of runtimeImports(file)) {
      if (parent.has(dep)) continue;
      parent.set(dep, file);
      queue.push(dep);
    }
  }
  return new Map([...parent].map(([file, from]) => [relative(SRC, file), from && relative(SRC, from)]));
}

/** How `module` is reached, for the failure message. */
function chain(graph: Map<string, string>, module: string): string {
  const path: string[] = [];
  for (let m: string | undefined = module; m; m = graph.get(m)) path.unshift(m);
  return path.join(' → ');
}

const ENGINES = [
  'backup/engine.ts',
  'restore/engine.ts',
  'restore/plan.ts',
  'restore/plan-render.ts',
  'reconcile/verification-run.ts',
];

describe('modules a command loads at start', () => {
  it.each(['cli/commands/reconcile.ts', 'cli/commands/validate.ts'])(
    '%s reaches no backup, restore, plan or verification engine',
    (entry) => {
      const graph = reachable(entry);
      expect(graph.size).toBeGreaterThan(20); // the walk found the command's imports
      const reached = ENGINES.filter((m) => graph.has(m)).map((m) => chain(graph, m));
      expect(reached).toEqual([]);
    },
  );
});
