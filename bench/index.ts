// `npm run bench -- <name> [options]`: the benchmarks, by name. Each one starts what it needs
// (usually its own test ground), measures, prints its figures and says whether they meet
// their targets. Add a benchmark by adding an entry to `benchmarks`.
import { backupBenchmark } from './backup.js';
import { createCostBenchmark } from './create-cost.js';
import { reconcileBenchmark } from './reconcile.js';
import { restoreBenchmark } from './restore.js';
import { veleroBenchmark } from './velero.js';
import { volumesBenchmark } from './volumes.js';
import { volumesFsBenchmark } from './volumes-fs.js';
import type { Benchmark } from './benchmark.js';

const benchmarks: Record<string, Benchmark> = {
  backup: backupBenchmark,
  restore: restoreBenchmark,
  reconcile: reconcileBenchmark,
  volumes: volumesBenchmark,
  velero: veleroBenchmark,
  'volumes-fs': volumesFsBenchmark,
  'create-cost': createCostBenchmark,
};

function usage(): string {
  const lines = Object.entries(benchmarks).map(([name, b]) => `  ${name.padEnd(11)} ${b.description}`);
  return `usage: npm run bench -- <benchmark> [options]\n\nbenchmarks:\n${lines.join('\n')}\n`;
}

const [name, ...args] = process.argv.slice(2);
const benchmark = name ? benchmarks[name] : undefined;
if (!benchmark) {
  process.stderr.write(name ? `unknown benchmark ${JSON.stringify(name)}\n\n${usage()}` : usage());
  process.exitCode = 2;
} else {
  process.exitCode = await benchmark.run(args);
}
