// Build dist/ (npm run build) when it is missing or older than any source file: the CLI, the
// tests that spawn it, the demo and the benchmarks run the compiled JavaScript, as users and the
// reconciler image do. Plain JavaScript, so checking costs milliseconds, not a TypeScript loader.
//   node scripts/ensure-dist.mjs            build if stale
//   import { ensureDist } from '…'          the same, from a test setup or a benchmark
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Written by every build (tsconfig.build.json tsBuildInfoFile): the time of the last one. */
const STAMP = join(root, 'dist', '.tsbuildinfo');
const INPUTS = [join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json'), join(root, 'package.json')];

function newestInput(dir, newest = 0) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = newestInput(path, newest);
    else if (entry.name.endsWith('.ts') || entry.name.endsWith('.json'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function stampTime() {
  try {
    return statSync(STAMP).mtimeMs;
  } catch {
    return -1;
  }
}

/** Returns true when it built. Throws when the build fails. */
export function ensureDist() {
  const newest = Math.max(newestInput(join(root, 'src')), ...INPUTS.map((f) => statSync(f).mtimeMs));
  if (stampTime() >= newest) return false;
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (run.status !== 0) throw new Error(`building dist/ failed (tsc exit ${run.status})`);
  // tsc leaves the file alone when nothing it emits changed (a touched source): stamp it anyway.
  const now = new Date();
  utimesSync(STAMP, now, now);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensureDist();
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  }
}
