// The reconcile benchmark: what a pass with nothing to do costs as a policy repository grows.
// For each size it generates a repository of one local StorageLocation and N BackupSchedules
// that are not due, with 2,000 existing backups in the location (bench/reconcile-repo.ts), runs
// a first `lifeboat reconcile --once` (which writes the status), then measures the second pass
// (status unchanged) against `lifeboat validate` of the same documents, in the same run.
// Figures are CPU seconds (user + system of the process and the Git processes it runs), not
// wall time: the machine is shared. "Beyond start" subtracts what `lifeboat --version` costs.
// Targets at 500 schedules: ≤ 2 s beyond start, and ≤ 3× validate's CPU beyond start.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureDist } from '../scripts/ensure-dist.mjs';
import { median, type Benchmark } from './benchmark.js';
import { createReconcileWorld, type ReconcileWorld } from './reconcile-repo.js';

const TARGET_SCHEDULES = 500;
const TARGET_PASS_S = 2;
const TARGET_RATIO = 3;

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'lifeboat.js');

interface Options {
  schedules: number[];
  backups: number;
  runs: number;
  keep: boolean;
  cpuProf?: string;
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      schedules: { type: 'string', default: '50,500,2000' },
      backups: { type: 'string', default: '2000' },
      runs: { type: 'string', default: '3' },
      keep: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
    },
  });
  const int = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${flag} must be an integer ≥ ${min}, not ${value}`);
    return n;
  };
  return {
    schedules: (values.schedules ?? '').split(',').map((v) => int('schedules', v.trim(), 1)),
    backups: int('backups', values.backups, 0),
    runs: int('runs', values.runs, 1),
    keep: values.keep ?? false,
    ...(values['cpu-prof'] ? { cpuProf: resolve(values['cpu-prof']) } : {}),
  };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** user + system CPU seconds of the process and every process it waited for. */
  cpu: number;
}

/**
 * Run a command under bash and read its CPU from bash's `times`: the children's user and system
 * time, which includes the grandchildren (Git) the command waited for.
 */
function timed(command: string[], cwd: string): Promise<Run> {
  const script = '"$@"; rc=$?; times >&2; exit $rc';
  const child = spawn('bash', ['-c', script, 'bash', ...command], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      const lines = stderr.trimEnd().split('\n');
      const children = lines.pop() ?? '';
      lines.pop(); // the shell's own times
      const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      if (seconds.length !== 2) return fail(new Error(`cannot read CPU times from: ${children}`));
      done({ code, stdout, stderr: lines.join('\n'), cpu: (seconds[0] ?? 0) + (seconds[1] ?? 0) });
    });
  });
}

function lifeboat(args: string[], nodeFlags: string[] = []): string[] {
  return [process.execPath, ...nodeFlags, cli, ...args];
}

function reconcileArgs(world: ReconcileWorld): string[] {
  return [
    'reconcile',
    '--once',
    '-o',
    'json',
    ...['--repo', world.remote, '--workdir', world.workdir, '--data-dir', world.dataDir],
  ];
}

/** The CLI runs dist/: build it when stale, so the figures are of this tree's code. */
function build(log: (line: string) => void): void {
  if (ensureDist()) log('built dist/ (npm run build)');
}

function check(run: Run, what: string, expectCode = 0): void {
  if (run.code !== expectCode)
    throw new Error(`${what} exited ${run.code} (expected ${expectCode}):\n${run.stdout}\n${run.stderr}`);
}

/** A quiet pass: nothing done, nothing committed; anything else means the world is wrong. */
function checkQuiet(run: Run, what: string): void {
  check(run, what);
  const report = JSON.parse(run.stdout) as { actions: unknown[]; events: unknown[]; statusCommit?: string };
  if (report.actions.length > 0 || report.events.length > 0 || report.statusCommit !== undefined) {
    throw new Error(`${what} was not quiet: ${run.stdout.slice(0, 2000)}`);
  }
}

interface SizeResult {
  schedules: number;
  firstPass: number;
  validate: number;
  pass: number;
}

async function measureSize(
  n: number,
  options: Options,
  ctx: { log: (line: string) => void; dir: string },
): Promise<SizeResult> {
  const world = await createReconcileWorld(join(ctx.dir, `s${n}`), {
    schedules: n,
    backups: options.backups,
  });
  const first = await timed(lifeboat(reconcileArgs(world)), ctx.dir);
  check(first, `first pass at ${n} schedules`);
  const validates: number[] = [];
  const passes: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    const v = await timed(lifeboat(['validate', world.policies]), ctx.dir);
    check(v, `validate at ${n} schedules`);
    validates.push(v.cpu);
    const profile =
      options.cpuProf && i === 0
        ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProf}`, `--cpu-prof-name=reconcile-${n}.cpuprofile`]
        : [];
    const p = await timed(lifeboat(reconcileArgs(world), profile), ctx.dir);
    checkQuiet(p, `second pass at ${n} schedules`);
    passes.push(p.cpu);
    ctx.log(`  ${n} schedules, run ${i + 1}: validate ${v.cpu.toFixed(2)} s, pass ${p.cpu.toFixed(2)} s CPU`);
  }
  return { schedules: n, firstPass: first.cpu, validate: median(validates), pass: median(passes) };
}

async function run(args: string[]): Promise<number> {
  const options = parseOptions(args);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  build(log);
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-bench-reconcile-'));
  try {
    const starts: number[] = [];
    for (let i = 0; i < Math.max(options.runs, 5); i++) {
      const r = await timed(lifeboat(['--version']), dir);
      check(r, 'lifeboat --version');
      starts.push(r.cpu);
    }
    const start = median(starts);
    log(`lifeboat --version: ${start.toFixed(2)} s CPU (median of ${starts.length})`);
    const results: SizeResult[] = [];
    for (const n of options.schedules) {
      log(`${n} schedules, ${options.backups} backups: generating…`);
      results.push(await measureSize(n, options, { log, dir }));
    }
    log('');
    log(
      `CPU seconds (user + sys, medians of ${options.runs}); beyond start = minus --version's ${start.toFixed(2)} s`,
    );
    log('schedules  backups  validate (beyond start)  2nd pass (beyond start)  ratio  1st pass');
    for (const r of results) {
      const v = Math.max(r.validate - start, 0.001);
      const p = r.pass - start;
      log(
        `${String(r.schedules).padStart(9)}  ${String(options.backups).padStart(7)}  ` +
          `${r.validate.toFixed(2).padStart(8)} (${v.toFixed(2).padStart(5)})         ` +
          `${r.pass.toFixed(2).padStart(8)} (${p.toFixed(2).padStart(5)})         ` +
          `${(p / v).toFixed(2).padStart(5)}  ${r.firstPass.toFixed(2).padStart(8)}`,
      );
    }
    const target = results.find((r) => r.schedules === TARGET_SCHEDULES);
    if (!target) {
      log(`(no run at ${TARGET_SCHEDULES} schedules: targets not checked)`);
      return 0;
    }
    const beyond = target.pass - start;
    const ratio = beyond / Math.max(target.validate - start, 0.001);
    const ok = beyond <= TARGET_PASS_S && ratio <= TARGET_RATIO;
    log(
      `target at ${TARGET_SCHEDULES} schedules: pass ≤ ${TARGET_PASS_S} s beyond start (${beyond.toFixed(2)} s) ` +
        `and ≤ ${TARGET_RATIO}× validate (${ratio.toFixed(2)}×): ${ok ? 'met' : 'NOT met'}`,
    );
    return ok ? 0 : 1;
  } finally {
    if (options.keep) log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

export const reconcileBenchmark: Benchmark = {
  description: 'CPU of a reconcile pass with nothing due (50/500/2,000 schedules, 2,000 backups) vs validate',
  run,
};
