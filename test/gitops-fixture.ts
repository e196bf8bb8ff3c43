// Real Git repositories for the gitops integration tests: a bare "server" repository in a
// temporary directory and clones that play the people using it. People run the git CLI
// directly (not our code), so the tests check our behaviour against Git itself.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Person {
  name: string;
  email: string;
}

export const ALICE: Person = { name: 'Alice Admin', email: 'alice@example.com' };
export const BOB: Person = { name: 'Bob Builder', email: 'bob@example.com' };
export const CAROL: Person = { name: 'Carol Reviewer', email: 'carol@example.com' };

export interface GitRunOptions {
  /** Author (and committer unless `committer` is given). */
  as?: Person;
  committer?: Person;
  /** ISO date for author and committer. */
  date?: string;
  /** ISO committer date, when it differs from `date` (squash merges, web merges). */
  committerDate?: string;
}

/** Run git in `cwd` with a clean, deterministic environment (no user or system config). */
export async function git(cwd: string, args: string[], options: GitRunOptions = {}): Promise<string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.toUpperCase().startsWith('GIT_')) env[key] = value;
  }
  const author = options.as ?? ALICE;
  const committer = options.committer ?? author;
  Object.assign(env, {
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: committer.name,
    GIT_COMMITTER_EMAIL: committer.email,
    ...(options.date === undefined
      ? {}
      : { GIT_AUTHOR_DATE: options.date, GIT_COMMITTER_DATE: options.date }),
    ...(options.committerDate === undefined ? {} : { GIT_COMMITTER_DATE: options.committerDate }),
  });
  const { stdout } = await run('git', args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

export interface Sandbox {
  root: string;
  /** Path of the bare repository: the "server". */
  remote: string;
  /** A fresh directory for a WorkingCopy. */
  workDir(name?: string): string;
  /** Clone the remote as a person; returns the clone's directory. */
  clone(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** A bare repository whose main branch holds a README and one policy. */
export async function createSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'lifeboat-gitops-'));
  const remote = join(root, 'remote.git');
  await git(root, ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
  const sandbox: Sandbox = {
    root,
    remote,
    workDir: (name = 'reconciler') => join(root, 'work', name),
    clone: async (name) => {
      const dir = join(root, 'people', name);
      await mkdir(dirname(dir), { recursive: true });
      await git(root, ['clone', '--quiet', remote, dir]);
      return dir;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
  const seed = await sandbox.clone('seed');
  await git(seed, ['checkout', '--quiet', '-b', 'main']);
  await commitFiles(
    seed,
    {
      'README.md': '# policies\n',
      'policies/nightly.yaml': 'kind: BackupSchedule\nmetadata: { name: nightly }\n',
    },
    { message: 'initial policies', date: '2024-01-01T09:00:00Z' },
  );
  await git(seed, ['push', '--quiet', 'origin', 'main']);
  return sandbox;
}

/** Write (or with null, delete) files in a clone and commit them. Returns the new sha. */
export async function commitFiles(
  dir: string,
  files: Record<string, string | null>,
  options: GitRunOptions & { message: string },
): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    if (content === null) {
      await git(dir, ['rm', '--quiet', '--', path]);
    } else {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
      await git(dir, ['add', '--', path]);
    }
  }
  await git(dir, ['commit', '--quiet', '-m', options.message], options);
  return (await git(dir, ['rev-parse', 'HEAD'])).trim();
}

/** The sha of a branch on the bare remote, or undefined if it does not exist. */
export async function remoteSha(sandbox: Sandbox, branch: string): Promise<string | undefined> {
  const out = await git(sandbox.remote, ['for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`]);
  return out.trim() || undefined;
}

/** A file's content on a branch of the bare remote, or undefined. */
export async function remoteFile(
  sandbox: Sandbox,
  branch: string,
  path: string,
): Promise<string | undefined> {
  try {
    return await git(sandbox.remote, ['show', `refs/heads/${branch}:${path}`]);
  } catch {
    return undefined;
  }
}
