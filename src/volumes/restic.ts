// The one module that runs restic. restic owns chunking, dedup, encryption and the repository
// format; lifeboat passes it the repository, the password and the S3 credentials through the
// environment (never the command line, where `ps` would show them) and reads its --json output.
// Nothing here logs or returns the password or the credentials.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  failureOfExitCode,
  parseResticLine,
  stderrMessage,
  type ResticBackupSummary,
  type ResticFailure,
  type ResticProgress,
  type ResticRestoreSummary,
} from './restic-output.js';

export interface ResticRepository {
  /** restic's repository string, e.g. s3:http://host:9000/bucket/prefix/restic/shop. */
  url: string;
  password: string;
  s3?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; region?: string };
  /** Path-style bucket addressing (S3-compatible servers such as MinIO or versitygw). */
  pathStyle?: boolean;
}

export interface ResticOptions {
  /** The restic binary (default: `restic` on PATH). */
  binary?: string;
  /** restic's local cache; absent: --no-cache (the agent's file system may be read-only). */
  cacheDir?: string;
}

/** A failed restic command, its kind from the exit code; the message never holds a secret. */
export class ResticError extends Error {
  constructor(
    readonly failure: ResticFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ResticError';
  }
}

/** restic's repository string for `<prefix>/restic/<namespace>` of an S3 location. */
export function s3RepositoryUrl(o: {
  s3Url?: string;
  bucket: string;
  prefix?: string;
  namespace: string;
}): string {
  const path = [o.bucket, o.prefix?.replace(/^\/+|\/+$/g, ''), 'restic', o.namespace]
    .filter((p) => p !== undefined && p !== '')
    .join('/');
  const endpoint = (o.s3Url ?? 'https://s3.amazonaws.com').replace(/\/+$/, '');
  return `s3:${endpoint}/${path}`;
}

interface RunResult {
  code: number | null;
  stderr: string;
  errors: string[];
}

/** Runs restic with the repository's environment; each JSON line goes to onMessage. */
function runRestic(
  args: string[],
  repo: ResticRepository,
  opts: ResticOptions & { cwd?: string; onLine?: (line: string) => void },
): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    RESTIC_REPOSITORY: repo.url,
    RESTIC_PASSWORD: repo.password,
    ...(repo.s3
      ? {
          AWS_ACCESS_KEY_ID: repo.s3.accessKeyId,
          AWS_SECRET_ACCESS_KEY: repo.s3.secretAccessKey,
          ...(repo.s3.sessionToken ? { AWS_SESSION_TOKEN: repo.s3.sessionToken } : {}),
          AWS_DEFAULT_REGION: repo.s3.region ?? 'us-east-1',
        }
      : {}),
    ...(opts.cacheDir ? { RESTIC_CACHE_DIR: opts.cacheDir } : {}),
  };
  const common = [
    ...(opts.cacheDir ? [] : ['--no-cache']),
    ...(repo.pathStyle ? ['-o', 's3.bucket-lookup=path'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(opts.binary ?? 'restic', [...args, ...common], {
      env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const errors: string[] = [];
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      // Only the tail is kept: memory stays bounded whatever restic prints.
      stderr = (stderr + chunk).slice(-8_192);
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = parseResticLine(line);
      if (m?.type === 'error' && errors.length < 20) errors.push(m.message);
      opts.onLine?.(line);
    });
    child.on('error', (err) => reject(new ResticError('failed', `cannot run restic: ${err.message}`)));
    child.on('close', (code) => resolve({ code, stderr, errors }));
  });
}

/** A ResticError for a failed run, saying what restic said (the last lines of its stderr). */
function failed(what: string, r: RunResult): ResticError {
  const failure = failureOfExitCode(r.code);
  const tail = r.stderr.trim().split('\n').slice(-3).map(stderrMessage);
  const said = [...new Set([...r.errors, ...tail])].filter(Boolean).join('; ');
  const meaning: Record<ResticFailure, string> = {
    'no-repository': 'the restic repository does not exist',
    'wrong-password': 'wrong repository password (the password Secret does not open this repository)',
    locked: 'the restic repository is locked by another process',
    incomplete: 'some files could not be read',
    failed: `restic exited with code ${String(r.code)}`,
  };
  return new ResticError(failure, `${what}: ${meaning[failure]}${said ? ` (${said})` : ''}`);
}

/** Whether the repository exists and opens with the password (wrong password throws). */
export async function repositoryExists(repo: ResticRepository, opts: ResticOptions = {}): Promise<boolean> {
  const r = await runRestic(['cat', 'config', '--json'], repo, opts);
  if (r.code === 0) return true;
  if (failureOfExitCode(r.code) === 'no-repository') return false;
  throw failed('opening the restic repository', r);
}

/** Creates the repository unless it exists. */
export async function ensureRepository(repo: ResticRepository, opts: ResticOptions = {}): Promise<void> {
  if (await repositoryExists(repo, opts)) return;
  const r = await runRestic(['init', '--json'], repo, opts);
  // Another agent may have created it meanwhile: that is fine if it opens now.
  if (r.code !== 0 && !(await repositoryExists(repo, opts)))
    throw failed('creating the restic repository', r);
}

/**
 * `restic backup .` in dir: the snapshot's tree holds the volume's contents at its root (its
 * `paths` still say dir), so it restores into any directory, on any node, as is.
 */
export async function backupDirectory(
  repo: ResticRepository,
  o: {
    dir: string;
    host: string;
    tags: Record<string, string>;
    /** A directory at the volume's root left out (default .lifeboat-restore). */
    excludeMarker?: string;
    onProgress?: (p: ResticProgress) => void;
  } & ResticOptions,
): Promise<ResticBackupSummary> {
  let summary: ResticBackupSummary | undefined;
  const tags = Object.entries(o.tags).flatMap(([k, v]) => ['--tag', `${k}=${v}`]);
  // The marker a restore leaves for the pod's restore-wait init container is not the pod's data.
  const exclude = ['--exclude', `/${o.excludeMarker ?? '.lifeboat-restore'}`];
  const r = await runRestic(['backup', '--json', '--host', o.host, ...tags, ...exclude, '.'], repo, {
    ...o,
    cwd: o.dir,
    onLine: (line) => {
      const m = parseResticLine(line);
      if (m?.type === 'progress') o.onProgress?.(m.progress);
      if (m?.type === 'backup-summary') summary = m.summary;
    },
  });
  if (r.code !== 0 || !summary) throw failed('restic backup', r);
  return summary;
}

/** `restic restore <snapshot>` into target (the volume's directory), optionally read back (verify). */
export async function restoreSnapshot(
  repo: ResticRepository,
  o: {
    snapshotId: string;
    target: string;
    /**
     * `--verify`: after writing, restic reads every restored file back and compares each chunk
     * with the content hash the snapshot holds for it; any difference fails the restore.
     */
    verify?: boolean;
    onProgress?: (p: ResticProgress) => void;
  } & ResticOptions,
): Promise<ResticRestoreSummary> {
  let summary: ResticRestoreSummary | undefined;
  const verify = o.verify ? ['--verify'] : [];
  const r = await runRestic(['restore', '--json', ...verify, o.snapshotId, '--target', o.target], repo, {
    ...o,
    onLine: (line) => {
      const m = parseResticLine(line);
      if (m?.type === 'progress') o.onProgress?.(m.progress);
      if (m?.type === 'restore-summary') summary = m.summary;
    },
  });
  if (r.code !== 0 || !summary) throw failed('restic restore', r);
  return summary;
}

/** `restic check`: the repository's structure is consistent (no data read). */
export async function checkRepository(
  repo: ResticRepository,
  opts: ResticOptions & { readDataSubset?: string } = {},
): Promise<void> {
  // With a subset, that share of the packs is also downloaded and its contents verified.
  const subset = opts.readDataSubset ? ['--read-data-subset', opts.readDataSubset] : [];
  const r = await runRestic(['check', '--json', ...subset], repo, opts);
  if (r.code !== 0) throw failed('restic check', r);
}

// ---- repository lifecycle: snapshots of a backup, forget, prune, locks --------------------

/** One snapshot as `restic snapshots --json` lists it (the fields lifeboat reads). */
export interface ResticSnapshot {
  id: string;
  time: string;
  tags: string[];
  paths: string[];
}

/** Collects stdout's lines (for commands whose --json output is one document, not a stream). */
function collectLines(limitBytes = 64 * 1024 * 1024): { onLine: (l: string) => void; text: () => string } {
  const lines: string[] = [];
  let size = 0;
  return {
    onLine: (l) => {
      size += l.length;
      // Bounded: beyond the limit nothing more is kept, and text() says so.
      if (size <= limitBytes) lines.push(l);
    },
    text: () => {
      if (size > limitBytes) throw new ResticError('failed', `restic printed more than ${limitBytes} bytes`);
      return lines.join('\n');
    },
  };
}

/** The snapshots carrying every one of these tags (restic's `--tag a,b` means a and b). */
export async function snapshotsTagged(
  repo: ResticRepository,
  tags: Record<string, string>,
  opts: ResticOptions = {},
): Promise<ResticSnapshot[]> {
  const out = collectLines();
  const filter = Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const r = await runRestic(['snapshots', '--json', '--tag', filter], repo, { ...opts, onLine: out.onLine });
  if (r.code !== 0) throw failed('listing restic snapshots', r);
  const list = JSON.parse(out.text() || '[]') as {
    id?: unknown;
    time?: unknown;
    tags?: unknown;
    paths?: unknown;
  }[];
  return list.flatMap((s) =>
    typeof s.id === 'string'
      ? [
          {
            id: s.id,
            time: typeof s.time === 'string' ? s.time : '',
            tags: Array.isArray(s.tags) ? s.tags.filter((t): t is string => typeof t === 'string') : [],
            paths: Array.isArray(s.paths) ? s.paths.filter((t): t is string => typeof t === 'string') : [],
          },
        ]
      : [],
  );
}

/**
 * `restic forget <ids>`: the snapshots are removed from the repository's list; their data
 * stays until a prune. Batches keep the command line short.
 */
export async function forgetSnapshots(
  repo: ResticRepository,
  ids: readonly string[],
  opts: ResticOptions & { retryLock?: string } = {},
): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    const batch = ids.slice(i, i + 100);
    const r = await runRestic(
      ['forget', ...(opts.retryLock ? ['--retry-lock', opts.retryLock] : []), ...batch],
      repo,
      opts,
    );
    if (r.code !== 0) throw failed('restic forget', r);
  }
}

/** `restic prune`: the data no snapshot references any more is deleted from the bucket. */
export async function pruneRepository(
  repo: ResticRepository,
  opts: ResticOptions & { retryLock?: string } = {},
): Promise<void> {
  const r = await runRestic(
    ['prune', ...(opts.retryLock ? ['--retry-lock', opts.retryLock] : [])],
    repo,
    opts,
  );
  if (r.code !== 0) throw failed('restic prune', r);
}

/** A lock file of the repository, as `restic cat lock` shows it. */
export interface ResticLock {
  id: string;
  time: string;
  exclusive: boolean;
  hostname: string;
  pid: number;
}

/** Every lock in the repository (a lock that cannot be read is skipped: it may be going away). */
export async function listLocks(repo: ResticRepository, opts: ResticOptions = {}): Promise<ResticLock[]> {
  const ids = collectLines();
  // --no-lock: listing locks must not add one.
  const r = await runRestic(['list', 'locks', '--no-lock'], repo, { ...opts, onLine: ids.onLine });
  if (r.code !== 0) throw failed('listing restic locks', r);
  const out: ResticLock[] = [];
  for (const id of ids
    .text()
    .split('\n')
    .filter((l) => /^[0-9a-f]{64}$/.test(l.trim()))) {
    const body = collectLines();
    const c = await runRestic(['cat', 'lock', id.trim(), '--no-lock'], repo, {
      ...opts,
      onLine: body.onLine,
    });
    if (c.code !== 0) continue;
    try {
      const l = JSON.parse(body.text()) as Record<string, unknown>;
      out.push({
        id: id.trim(),
        time: typeof l.time === 'string' ? l.time : '',
        exclusive: l.exclusive === true,
        hostname: typeof l.hostname === 'string' ? l.hostname : '',
        pid: typeof l.pid === 'number' ? l.pid : 0,
      });
    } catch {
      // An unreadable lock is restic's to judge (unlock); it is not listed here.
    }
  }
  return out;
}

/**
 * `restic unlock` without --remove-all: restic removes only the locks it judges stale — made on
 * this host by a process that no longer runs, or not refreshed for 30 minutes (restic refreshes
 * live locks every 5). A lock of a live agent on another node is never removed, so this is
 * safe while other agents run. Returns how many were removed.
 */
export async function unlockStale(repo: ResticRepository, opts: ResticOptions = {}): Promise<number> {
  let said = '';
  const r = await runRestic(['unlock'], repo, {
    ...opts,
    onLine: (l) => {
      said += `${l}\n`;
    },
  });
  if (r.code !== 0) throw failed('restic unlock', r);
  const m = /removed (\d+) locks?/.exec(`${said}\n${r.stderr}`);
  return m ? Number(m[1]) : 0;
}
