// The backup benchmark: on a ground of its own, seed N objects (ConfigMaps, Secrets,
// Deployments, Services and custom resources across many namespaces), then compare a lifeboat
// backup of the whole cluster into S3 with a raw parallel paginated LIST of the same objects at
// the same concurrency and page size, and with the floor: the least any backup in Velero's
// layout costs on the machine at hand (bench/backup-measure.ts). Targets: the backup takes at
// most 1.15× the floor (issue 16; 1.25× the raw LIST before the floor showed that unreachable),
// and the measuring process peaks at 150 MB RSS.
//
// A loaded machine makes single runs meaningless, so --rounds repeats the measuring processes,
// taking turns (raw, floor, backup, then floor, backup, raw, …), and the figures are medians
// over every run of every round; --baseline REV measures that git revision's backup in the same
// turns, for an A/B comparison of a change.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_LIST_CONCURRENCY, DEFAULT_PAGE_SIZE } from '../src/backup/engine.js';
import type { BackupSpec } from '../src/backup/spec.js';
import { KubeClient } from '../src/kube/client.js';
import { startGround, type Ground } from '../test/ground/ground.js';
import { seedNamespaces } from '../test/fixtures/seed.js';
import { median, type Benchmark } from './benchmark.js';
import type { MeasureConfig, MeasureResult } from './backup-measure.js';
import { imageNodeFlags } from './node-flags.js';

const TARGET_FLOOR_RATIO = 1.15;
const TARGET_PEAK_RSS_MB = 150;
const KINDS = 5;
const SEED_PREFIX = 'bench'; // ConfigMaps, Secrets, Deployments, Services, custom resources
const MB = 1024 * 1024;

interface Options {
  objects: number;
  namespaces: number;
  runs: number;
  /** Measuring processes of each kind, taking turns. */
  rounds: number;
  /** A git revision whose backup is measured alongside (A/B). */
  baseline?: string;
  concurrency: number;
  pageSize: number;
  gzipLevel?: number;
  /** Write V8 CPU profiles of the measuring process here. */
  cpuProf?: string;
  /**
   * Which namespaces the backup selects: none given (the whole cluster), the seeded ones as a
   * pattern (`bench-*`), or as a literal list of every seeded name.
   */
  namespaceFilter: NamespaceFilter;
}

const NAMESPACE_FILTERS = ['all', 'pattern', 'literal'] as const;
type NamespaceFilter = (typeof NAMESPACE_FILTERS)[number];

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      objects: { type: 'string', default: '10000' },
      namespaces: { type: 'string', default: '100' },
      runs: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '1' },
      baseline: { type: 'string' },
      concurrency: { type: 'string', default: String(DEFAULT_LIST_CONCURRENCY) },
      'page-size': { type: 'string', default: String(DEFAULT_PAGE_SIZE) },
      'gzip-level': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'namespace-filter': { type: 'string', default: 'all' },
    },
  });
  const int = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${flag} must be an integer ≥ ${min}, not ${value}`);
    return n;
  };
  const options: Options = {
    objects: int('objects', values.objects, 1),
    namespaces: int('namespaces', values.namespaces, 1),
    runs: int('runs', values.runs, 1),
    rounds: int('rounds', values.rounds, 1),
    ...(values.baseline ? { baseline: values.baseline } : {}),
    concurrency: int('concurrency', values.concurrency, 1),
    pageSize: int('page-size', values['page-size'], 1),
    ...(values['gzip-level'] ? { gzipLevel: int('gzip-level', values['gzip-level'], 1) } : {}),
    ...(values['cpu-prof'] ? { cpuProf: resolve(values['cpu-prof']) } : {}),
    namespaceFilter: namespaceFilterOf(values['namespace-filter']),
  };
  if (options.objects < options.namespaces * KINDS) {
    throw new Error(
      `--objects must be at least ${options.namespaces * KINDS} (${KINDS} kinds in each namespace)`,
    );
  }
  return options;
}

function namespaceFilterOf(value: string | undefined): NamespaceFilter {
  const found = NAMESPACE_FILTERS.find((f) => f === value);
  if (!found)
    throw new Error(`--namespace-filter must be one of ${NAMESPACE_FILTERS.join(', ')}, not ${value}`);
  return found;
}

/** The backup's spec for --namespace-filter: what the raw LIST, the floor and the backup select. */
function specFor(filter: NamespaceFilter, seededNamespaces: string[]): BackupSpec {
  if (filter === 'pattern') return { includedNamespaces: [`${SEED_PREFIX}-*`] };
  if (filter === 'literal') return { includedNamespaces: seededNamespaces };
  return {}; // the whole cluster: everything seeded, plus what the cluster holds itself
}

/** Spread `objects` over the namespaces and the five kinds, as evenly as whole numbers allow. */
async function seed(ground: Ground, options: Options): Promise<{ objects: number; namespaces: string[] }> {
  const kube = await KubeClient.create({ kubeconfig: ground.info.kubeconfigPath, maxSockets: 32 });
  try {
    const each = Math.floor(options.objects / options.namespaces / KINDS);
    const seeded = await seedNamespaces({
      kube,
      prefix: SEED_PREFIX,
      namespaces: options.namespaces,
      perNamespace: { configMaps: each, secrets: each, deployments: each, services: each, custom: each },
      customType: { group: 'bench.lifeboat.dev', kind: 'Widget', plural: 'widgets' },
    });
    return seeded;
  } finally {
    kube.close();
  }
}

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Compile the measuring script and the product code it imports to plain JavaScript, as the
 * published CLI runs (bin/lifeboat.js loads dist/): under tsx, loading the modules alone would
 * cost ~90 MB more RSS and the CPU profiles would be full of the transpiler. The output goes
 * under node_modules/.cache so that package imports resolve from it.
 */
async function compileMeasure(
  log: (line: string) => void,
  source = root,
  outName = 'lifeboat-bench',
): Promise<string> {
  const out = join(root, 'node_modules', '.cache', outName);
  await rm(out, { recursive: true, force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [
    ...['--outDir', out, '--rootDir', source, '--target', 'ES2023', '--module', 'NodeNext'],
    ...[
      '--moduleResolution',
      'NodeNext',
      '--skipLibCheck',
      '--resolveJsonModule',
      '--types',
      'node',
      '--strict',
    ],
    join(source, 'bench', 'backup-measure.ts'),
  ];
  const child = spawn(process.execPath, [tsc, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream.setEncoding('utf8').on('data', (c: string) => (output += c));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const script = join(out, 'bench', 'backup-measure.js');
  // Type errors elsewhere in a work-in-progress tree do not stop tsc from emitting.
  if (!existsSync(script)) throw new Error(`compiling the benchmark failed (tsc exit ${code}):\n${output}`);
  if (code !== 0) log(`tsc reported type errors (the JavaScript was emitted anyway):\n${output.trim()}`);
  return script;
}

/**
 * The measuring script of git revision `rev`, compiled from a temporary worktree (removed
 * again); package imports resolve from this checkout's node_modules.
 */
async function compileBaseline(rev: string, log: (line: string) => void): Promise<string> {
  const git = promisify(execFile);
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-bench-baseline-'));
  await git('git', ['-C', root, 'worktree', 'add', '--detach', dir, rev]);
  try {
    // For the type checker: the compiled script resolves packages from this checkout anyway.
    await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
    log(`baseline: ${rev} in ${dir}`);
    return await compileMeasure(log, dir, 'lifeboat-bench-baseline');
  } finally {
    await git('git', ['-C', root, 'worktree', 'remove', '--force', dir]);
  }
}

type Kind = 'raw' | 'floor' | 'backup' | 'baseline';

/** Run one measuring process (bench/backup-measure.ts, compiled) and read its line of results. */
async function measure(
  script: string,
  config: MeasureConfig,
  cpuProf: string | undefined,
  label: string = config.mode,
): Promise<MeasureResult> {
  if (cpuProf) await mkdir(cpuProf, { recursive: true });
  const profiling = cpuProf
    ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`, `--cpu-prof-name=${label}.cpuprofile`]
    : [];
  // With the reconciler image's Node flags (Dockerfile), so memory is measured as it runs there.
  const child = spawn(process.execPath, [...imageNodeFlags(root), ...profiling, script], {
    env: { ...process.env, LIFEBOAT_BENCH_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`the ${config.mode} measuring process exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as MeasureResult;
}

/** Every run of two measuring processes of the same kind as one result. */
function merged(a: MeasureResult | undefined, b: MeasureResult): MeasureResult {
  if (!a) return b;
  return {
    ...b,
    ms: [...a.ms, ...b.ms],
    cpuMs: [...a.cpuMs, ...b.cpuMs],
    machineCpuMs: [...a.machineCpuMs, ...b.machineCpuMs],
    baselineRss: Math.max(a.baselineRss, b.baselineRss),
    peakRss: Math.max(a.peakRss, b.peakRss),
    firstRunPeakRss: Math.max(a.firstRunPeakRss, b.firstRunPeakRss),
    // A backup that did not complete in any process is reported.
    phase: a.phase === b.phase ? b.phase : `${a.phase}, ${b.phase}`,
  };
}

function report(
  options: Options,
  seeded: number,
  measured: { raw: MeasureResult; floor: MeasureResult; backup: MeasureResult; baseline?: MeasureResult },
): number {
  const { raw, floor, backup, baseline } = measured;
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const mb = (bytes: number) => `${Math.round(bytes / MB)} MB`;
  const rawMs = median(raw.ms);
  const floorMs = median(floor.ms);
  const backupMs = median(backup.ms);
  const ratio = backupMs / rawMs;
  const floorRatio = floorMs / rawMs;
  const row = (label: string, r: MeasureResult, medianMs: number): string[] => [
    label,
    r.ms.map(secs).join(', '),
    secs(medianMs),
    String(Math.round(r.items / (medianMs / 1000))),
    `${Math.round(median(r.cpuMs))} ms`,
    `${Math.round(median(r.machineCpuMs))} ms`,
    mb(r.baselineRss),
    mb(r.firstRunPeakRss),
    mb(r.peakRss),
  ];
  const rows = [
    [
      '',
      'runs',
      'median',
      'objects/s',
      'CPU / run',
      'machine CPU / run',
      'RSS at start',
      'peak RSS, 1st run',
      'peak RSS',
    ],
    row('raw LIST', raw, rawMs),
    row('floor', floor, floorMs),
    row('backup', backup, backupMs),
    ...(baseline ? [row(`backup ${options.baseline ?? ''}`, baseline, median(baseline.ms))] : []),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('   ')
      .trimEnd();

  const floorRatioOfBackup = backupMs / floorMs;
  const cpuRatio = (a: MeasureResult, b: MeasureResult) => median(a.cpuMs) / median(b.cpuMs);
  const ratioOk = floorRatioOfBackup <= TARGET_FLOOR_RATIO;
  const rssOk = backup.peakRss / MB <= TARGET_PEAK_RSS_MB;
  const problems = [
    ...(backup.phase === 'Completed' ? [] : [`the backup ended ${backup.phase}`]),
    // With a namespace filter the raw LIST counts what it listed, the backup what it kept.
    ...(backup.items === raw.items || options.namespaceFilter !== 'all'
      ? []
      : [`the backup holds ${backup.items} objects, the raw LIST saw ${raw.items}`]),
    ...(floor.items === raw.items ? [] : [`the floor saw ${floor.items} objects, the raw LIST ${raw.items}`]),
    ...(baseline && baseline.phase !== 'Completed' ? [`the baseline's backup ended ${baseline.phase}`] : []),
  ];
  process.stdout.write(
    [
      '',
      `lifeboat backup benchmark: ${seeded} objects seeded in ${options.namespaces} namespaces, ` +
        `namespaces selected: ${options.namespaceFilter}, ` +
        `${backup.items} backed up (${(backup.archiveBytes / MB).toFixed(1)} MB archive); ` +
        `${options.rounds} round(s) of ${options.runs} run(s), ` +
        `concurrency ${options.concurrency}, page size ${options.pageSize}, gzip level ${options.gzipLevel ?? 'default'}, ` +
        `node ${imageNodeFlags(root).join(' ') || '(no flags)'} as in the image`,
      '',
      ...rows.map(line),
      '',
      `ratio backup / floor      ${floorRatioOfBackup.toFixed(2)}   (target ≤ ${TARGET_FLOOR_RATIO})   ${ratioOk ? 'ok' : 'MISSED'}` +
        `   CPU ${cpuRatio(backup, floor).toFixed(2)}`,
      `ratio floor / raw LIST    ${floorRatio.toFixed(2)}   (the least any backup in this format costs here; ` +
        `floor: each object's JSON twice through gzip into S3, no tar, ${(floor.archiveBytes / MB).toFixed(1)} MB)` +
        `   CPU ${cpuRatio(floor, raw).toFixed(2)}`,
      `ratio backup / raw LIST   ${ratio.toFixed(2)}   CPU ${cpuRatio(backup, raw).toFixed(2)}`,
      ...(baseline
        ? [
            `ratio baseline / floor    ${(median(baseline.ms) / floorMs).toFixed(2)}   CPU ${cpuRatio(baseline, floor).toFixed(2)}`,
            `ratio backup / baseline   ${(backupMs / median(baseline.ms)).toFixed(2)}   CPU ${cpuRatio(backup, baseline).toFixed(2)}`,
          ]
        : []),
      `backup peak RSS           ${mb(backup.peakRss)}   (target ≤ ${TARGET_PEAK_RSS_MB} MB)   ${rssOk ? 'ok' : 'MISSED'}`,
      ...problems.map((p) => `problem: ${p}`),
      '',
    ].join('\n'),
  );
  return ratioOk && rssOk && problems.length === 0 ? 0 : 1;
}

export const backupBenchmark: Benchmark = {
  description:
    'backup of N objects to S3 vs the floor and a raw parallel LIST (--objects, --namespaces, --runs, ' +
    '--rounds, --baseline REV, --cpu-prof DIR, --namespace-filter all|pattern|literal)',
  async run(args) {
    const options = parseOptions(args);
    const log = (l: string) => process.stderr.write(`[bench] ${l}\n`);
    const ground = await startGround({ log });
    try {
      const started = Date.now();
      const { objects: seeded, namespaces } = await seed(ground, options);
      log(`seeded ${seeded} objects in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const { s3 } = ground.info;
      const bucket = 'bench';
      // As src/storage/s3-store.ts does: the SDK's Node-version notice is noise here.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      client.destroy();
      const config: Omit<MeasureConfig, 'mode'> = {
        kubeconfig: ground.info.kubeconfigPath,
        s3,
        bucket,
        spec: specFor(options.namespaceFilter, namespaces),
        runs: options.runs,
        concurrency: options.concurrency,
        pageSize: options.pageSize,
        ...(options.gzipLevel === undefined ? {} : { gzipLevel: options.gzipLevel }),
      };
      const script = await compileMeasure(log);
      const baselineScript = options.baseline ? await compileBaseline(options.baseline, log) : undefined;
      const kinds: Kind[] = ['raw', 'floor', 'backup', ...(baselineScript ? (['baseline'] as const) : [])];
      const results: Partial<Record<Kind, MeasureResult>> = {};
      for (let round = 0; round < options.rounds; round++) {
        // Each kind goes first in turn, so a load that rises or falls meets them all alike.
        const order = kinds.map((_, i) => kinds[(i + round) % kinds.length] as Kind);
        log(`round ${round + 1} of ${options.rounds}: ${order.join(', ')}`);
        for (const kind of order) {
          const mode = kind === 'baseline' ? 'backup' : kind;
          const result = await measure(
            kind === 'baseline' ? (baselineScript as string) : script,
            { ...config, mode },
            options.cpuProf,
            `${kind}-${round + 1}`,
          );
          results[kind] = merged(results[kind], result);
        }
      }
      if (options.cpuProf) log(`CPU profiles in ${options.cpuProf}`);
      const { raw, floor, backup, baseline } = results;
      if (!raw || !floor || !backup) throw new Error('a measurement is missing');
      return report(options, seeded, { raw, floor, backup, ...(baseline ? { baseline } : {}) });
    } finally {
      await ground.stop();
    }
  },
};
