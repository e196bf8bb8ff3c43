// The reconciler's working copy of the policy repository.
//
// Only the reconciler writes in `dir`, so sync() may hard-reset it. People's files are never
// edited: writeFiles() accepts only the reconciler's own trees (repo-paths.ts), and commits
// are built from Git objects on top of the remote branch tip, not from the working tree.
//
// How a commit reaches the remote (commitAndPush):
//  1. Take the branch tip as last fetched, put it in a private index (.git/lifeboat/index),
//     apply our pending file changes, write the tree.
//  2. If the tree equals the tip's tree, there is nothing to say: no commit (like Argo CD's
//     commit server, commitserver/commit/commit.go, which commits only changed content).
//  3. Otherwise commit it with the tip as parent and push `<sha>:refs/heads/<branch>`,
//     never forced. If a person pushed in between, Git refuses (non-fast-forward): fetch,
//     rebuild our commit on their new tip, push again (push-retry.ts, bounded and jittered).
//
// Step 3 is a rebase of our commit onto theirs in which our version of each file we wrote
// wins. That is the conflict rule we chose: status/ and plans/ are projections the
// reconciler recomputes every pass, so if someone hand-edited one concurrently, the freshly
// computed content replaces it. Their commit stays in history untouched, and every other
// file of theirs is kept because our commit changes only the paths we wrote.
import { mkdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { parseTreeListing, splitBlobs } from './blob-batch.js';
import { formatCommitMessage } from './commit-message.js';
import type { Trailers } from './commit-message.js';
import { createGit } from './git-factory.js';
import type { GitIdentity } from './git-factory.js';
import { GitError, isPushRace, sanitizeUrl, translateGitError } from './git-errors.js';
import { httpTokenEnvironment } from './http-token.js';
import { DEFAULT_PUSH_RETRY, retryPush } from './push-retry.js';
import type { AttemptOutcome, PushRetryEvent, RetryPolicy } from './push-retry.js';
import { RepoPathError, branchGlob, checkBranchName, checkOwnedPath, checkRepoPath } from './repo-paths.js';

export interface WorkingCopyOptions {
  /** Clone URL; may carry credentials (https://user:token@host/...), which never reach errors. */
  remoteUrl: string;
  /**
   * A token for an http(s) remote (LIFEBOAT_GIT_TOKEN). It reaches Git only through the
   * environment of each Git process, as an Authorization header for this remote's URL: never
   * in .git/config, the remote URL, or a command line.
   */
  httpToken?: string;
  /** Local directory, owned by the reconciler. Created if missing. */
  dir: string;
  /** The policy branch people merge into. Default "main". */
  branch?: string;
  /** Where status commits go by default; created from `branch` when missing. Default: `branch`. */
  statusBranch?: string;
  /** Commit identity. Default "lifeboat <lifeboat@localhost>". */
  author?: GitIdentity;
  /** Extra Git environment (GIT_SSH_COMMAND with a key file, HTTPS_PROXY, ...). */
  env?: Readonly<Record<string, string>>;
  pushRetry?: Partial<RetryPolicy>;
  /** Called each time a push lost a race and will be retried (for metrics). */
  onPushRetry?: (event: PushRetryEvent) => void;
  timeoutMs?: number;
}

export interface RemoteBranch {
  name: string;
  sha: string;
}

export interface CommitAndPushOptions {
  message: string;
  trailers?: Trailers;
  /** Target branch. Default: the status branch (which is `branch` unless configured). */
  branch?: string;
  /** If the target branch does not exist yet, start it from this branch. */
  createFrom?: string;
  /**
   * If the target branch exists but does not contain this branch's tip, and the changes are not
   * already on it, the commit merges that tip in: its parents are both tips and its tree is this
   * branch's plus the changes. For review branches lifeboat writes to again: once one was merged
   * by squash or rebase, a commit on its old tip alone changes the same files as main did since,
   * and the pull request could not be merged.
   */
  mergeFrom?: string;
  /** Overrides of the working copy's push retry policy for this commit. */
  retry?: Partial<RetryPolicy>;
}

export type CommitResult =
  { committed: false; branch: string } | { committed: true; branch: string; sha: string; attempts: number };

const REMOTE_PREFIX = 'refs/remotes/origin/';
/**
 * Blobs per `git show`: 41 bytes of arguments each, 205 KB in all, below the argument limits
 * of Linux (2 MB) and macOS (256 KB and up). A status tree of 2,500 files (500 schedules,
 * 2,000 backups) is one Git process.
 */
const SHOW_BATCH = 5000;
/**
 * A commit that wrote at least this many blobs is followed by `git repack -d`: hash-object
 * writes each blob as a loose object, and the next pass reads the whole status tree. With 2,500
 * loose status files, `ls-tree` and `show` of that tree cost 0.55 s of CPU (a file open and
 * inflate per object); from one pack, 0.05 s. Repacking them costs about 0.5 s once. Smaller
 * commits leave their few loose objects to Git's own `gc --auto`.
 */
export const REPACK_AFTER_BLOBS = 100;

export class WorkingCopy {
  readonly dir: string;
  readonly branch: string;
  readonly statusBranch: string;
  /** The remote URL without credentials, for logs and status. */
  readonly remote: string;
  // Private (#) so that logging or serializing a WorkingCopy can never print the token.
  readonly #remoteUrl: string;
  #gitInstance: SimpleGit | undefined;
  readonly #gitOptions: {
    env?: Readonly<Record<string, string>>;
    identity?: GitIdentity;
    timeoutMs?: number;
  };
  readonly #retryPolicy: RetryPolicy;
  readonly #onPushRetry: ((event: PushRetryEvent) => void) | undefined;
  readonly #pending = new Map<string, string | null>();
  #pushRetries = 0;
  #checkedOut: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** The remote-tracking refs as last read; dropped by every Git command that may move them. */
  #refs: Map<string, string> | undefined;

  constructor(options: WorkingCopyOptions) {
    if (options.remoteUrl.trim() === '') throw new Error('WorkingCopy: remoteUrl must not be empty');
    if (options.dir.trim() === '') throw new Error('WorkingCopy: dir must not be empty');
    this.dir = options.dir;
    this.branch = checkBranchName(options.branch ?? 'main');
    this.statusBranch = checkBranchName(options.statusBranch ?? this.branch);
    this.remote = sanitizeUrl(options.remoteUrl);
    this.#remoteUrl = options.remoteUrl;
    this.#gitOptions = {
      env: { ...options.env, ...httpTokenEnvironment(options.remoteUrl, options.httpToken) },
      identity: options.author,
      timeoutMs: options.timeoutMs,
    };
    this.#retryPolicy = { ...DEFAULT_PUSH_RETRY, ...options.pushRetry };
    this.#onPushRetry = options.onPushRetry;
  }

  // Created on first use: simple-git refuses a base directory that does not exist yet, and
  // sync() creates it.
  get #git(): SimpleGit {
    this.#gitInstance ??= createGit(this.dir, this.#gitOptions);
    return this.#gitInstance;
  }

  /** How many pushes were retried after losing a race, since construction. */
  get pushRetries(): number {
    return this.#pushRetries;
  }

  /** The ref holding a branch as last fetched, for merge-info.ts and audit-log.ts. */
  remoteRef(branch: string): string {
    return `${REMOTE_PREFIX}${checkBranchName(branch)}`;
  }

  /**
   * Clone (first time) or fetch, then hard-reset the working tree to origin/<branch> and drop
   * untracked files. Discards pending writes: each pass starts from the remote's truth.
   * Returns the commit now checked out.
   */
  async sync(): Promise<string> {
    return this.#exclusive(async () => {
      this.#pending.clear();
      await mkdir(this.dir, { recursive: true });
      if (await isDirectory(join(this.dir, '.git'))) {
        // Re-set the URL every time: the credentials in it may have been rotated.
        await this.#raw('remote set-url', ['remote', 'set-url', 'origin', this.#remoteUrl]);
        await this.#raw('fetch', ['fetch', '--prune', 'origin']);
      } else {
        await this.#raw('clone', [
          'clone',
          '--no-checkout',
          '--origin',
          'origin',
          '--',
          this.#remoteUrl,
          '.',
        ]);
      }
      return this.#checkout(this.branch);
    });
  }

  /** The commit checked out in the working tree. */
  async head(): Promise<string> {
    return this.#exclusive(async () => (await this.#raw('rev-parse', ['rev-parse', 'HEAD'])).trim());
  }

  /**
   * Check out a branch as it is on the remote (e.g. a `restore/x` review branch), discarding
   * anything local. Returns its commit. sync() returns to the main branch.
   */
  async checkoutBranch(name: string): Promise<string> {
    checkBranchName(name);
    return this.#exclusive(() => this.#checkout(name));
  }

  /**
   * Read a file: from the working tree, or from a remote branch as last fetched.
   * Returns undefined when it does not exist.
   */
  async readFile(path: string, options: { branch?: string } = {}): Promise<string | undefined> {
    checkRepoPath(path);
    if (options.branch !== undefined) {
      const ref = this.remoteRef(options.branch);
      return this.#exclusive(() => this.#readBlob(ref, path));
    }
    return this.#exclusive(() => this.#readWorkingFile(path));
  }

  /** Files under `prefix` (e.g. "restores/"), from the checkout or from a remote branch. Sorted. */
  async listFiles(prefix = '', options: { branch?: string } = {}): Promise<string[]> {
    if (prefix !== '') checkRepoPath(prefix.replace(/\/$/, ''));
    const args =
      options.branch === undefined
        ? ['ls-files', '-z']
        : ['ls-tree', '-r', '-z', '--name-only', '--full-tree', this.remoteRef(options.branch)];
    return this.#exclusive(async () => {
      const out = await this.#raw('list files', args);
      return splitZ(out)
        .filter((file) => file.startsWith(prefix))
        .sort();
    });
  }

  /**
   * Every file under `prefix` on a remote branch as last fetched, path → content; symlinks and
   * submodules are left out, as readFile leaves them out. Two Git processes however many files
   * there are (a listing with blob sizes, then the blobs through `git show`, split by those
   * sizes and checked against their hashes): reading a status tree of thousands of files one
   * `ls-tree` and one `cat-file` at a time cost a reconcile pass ~40 ms of CPU per file.
   * Rejects when the branch does not exist.
   */
  async readFiles(prefix: string, options: { branch: string }): Promise<Map<string, string>> {
    if (prefix !== '') checkRepoPath(prefix.replace(/\/$/, ''));
    const ref = this.remoteRef(options.branch);
    return this.#exclusive(async () => {
      const listing = await this.#raw('ls-tree', ['ls-tree', '-r', '-l', '-z', '--full-tree', ref]);
      const blobs = parseTreeListing(listing).filter(
        (e) => e.type === 'blob' && e.mode !== '120000' && e.path.startsWith(prefix),
      );
      const contents = new Map<string, string>();
      const unique = [...new Map(blobs.map((b) => [b.sha, b.size])).entries()];
      for (let i = 0; i < unique.length; i += SHOW_BATCH) {
        const batch = unique.slice(i, i + SHOW_BATCH);
        for (const [sha, text] of splitBlobs(await this.#showBlobs(batch.map(([sha]) => sha)), batch))
          contents.set(sha, text);
      }
      const files = new Map<string, string>();
      for (const b of blobs.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0)))
        files.set(b.path, contents.get(b.sha) ?? '');
      return files;
    });
  }

  /** Remote branches matching a glob (`*` spans "/"), as last fetched. Sorted by name. */
  async remoteBranches(pattern = 'restore/*'): Promise<RemoteBranch[]> {
    const match = branchGlob(pattern);
    return this.#exclusive(async () => {
      const refs = await this.#remoteRefs();
      return [...refs]
        .filter(([name]) => name !== 'HEAD' && match.test(name))
        .map(([name, sha]) => ({ name, sha }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  /**
   * Stage file contents for the next commitAndPush (null deletes). Only paths under the
   * reconciler's trees (status/, plans/) are accepted; anything else throws RepoPathError
   * and nothing is staged. Nothing is written to disk until the commit.
   */
  writeFiles(files: Readonly<Record<string, string | null>>): void {
    const entries = Object.entries(files);
    for (const [path, content] of entries) {
      checkOwnedPath(path);
      if (content !== null && typeof content !== 'string') {
        throw new RepoPathError(path, 'content must be a string, or null to delete');
      }
    }
    for (const [path, content] of entries) this.#pending.set(path, content);
  }

  /** Paths staged by writeFiles and not yet committed. */
  pendingPaths(): string[] {
    return [...this.#pending.keys()].sort();
  }

  /**
   * Commit all staged files to `branch` (default: the status branch) with trailers, and
   * push. Commits only when the content differs from the branch tip. The staged set is
   * consumed either way: after a failure the next pass recomputes it from scratch.
   */
  async commitAndPush(options: CommitAndPushOptions): Promise<CommitResult> {
    const branch = checkBranchName(options.branch ?? this.statusBranch);
    const createFrom =
      options.createFrom ??
      (branch === this.statusBranch && branch !== this.branch ? this.branch : undefined);
    if (createFrom !== undefined) checkBranchName(createFrom);
    const message = formatCommitMessage({ message: options.message, trailers: options.trailers });
    const changes = new Map(this.#pending);
    this.#pending.clear();
    return this.#exclusive(async () => {
      if (changes.size === 0) return { committed: false, branch };
      return retryPush<CommitResult>({
        branch,
        policy: { ...this.#retryPolicy, ...options.retry },
        onRetry: (event) => {
          this.#pushRetries++;
          this.#onPushRetry?.(event);
        },
        attempt: (n) =>
          this.#commitAttempt({ n, branch, createFrom, mergeFrom: options.mergeFrom, message, changes }),
      });
    });
  }

  /**
   * `git log` for merge-info.ts and audit-log.ts (read-only; `--output` is refused so the
   * log can never write a file).
   */
  async log(args: readonly string[]): Promise<string> {
    if (args.some((arg) => arg.startsWith('--output')))
      throw new Error('WorkingCopy.log: --output is not allowed');
    return this.#exclusive(() => this.#raw('log', ['log', ...args]));
  }

  async #commitAttempt(attempt: {
    n: number;
    branch: string;
    createFrom: string | undefined;
    mergeFrom: string | undefined;
    message: string;
    changes: ReadonlyMap<string, string | null>;
  }): Promise<AttemptOutcome<CommitResult>> {
    const { n, branch, message, changes } = attempt;
    // The first attempt trusts the last fetch (the usual case: nobody pushed meanwhile).
    if (n > 1) await this.#raw('fetch', ['fetch', '--prune', 'origin']);
    const base = await this.#baseCommit(branch, attempt.createFrom);
    let { tree, blobs } = await this.#buildTree(base, changes);
    const baseTree = (await this.#raw('rev-parse', ['rev-parse', `${base}^{tree}`])).trim();
    if (tree === baseTree) return { done: true, value: { committed: false, branch } };
    const parents = [base];
    const merged = attempt.mergeFrom === undefined ? undefined : await this.#toMerge(base, attempt.mergeFrom);
    if (merged !== undefined) {
      ({ tree, blobs } = await this.#buildTree(merged, changes));
      parents.push(merged);
    }
    const messageFile = join(this.#scratchDir(), 'message');
    await writeFile(messageFile, message);
    const sha = (
      await this.#raw('commit-tree', [
        'commit-tree',
        tree,
        ...parents.flatMap((p) => ['-p', p]),
        '-F',
        messageFile,
      ])
    ).trim();
    try {
      this.#refs = undefined; // a push may update the remote-tracking ref too
      await this.#git.raw(['push', 'origin', `${sha}:refs/heads/${branch}`]);
    } catch (err) {
      if (isPushRace(err)) return { done: false };
      throw translateGitError(err, { operation: `push ${branch}`, remoteUrl: this.#remoteUrl });
    }
    await this.#raw('update-ref', ['update-ref', `${REMOTE_PREFIX}${branch}`, sha]);
    // Keep the checkout in step when we committed to the branch it shows.
    if (this.#checkedOut === branch) await this.#raw('reset', ['reset', '--hard', sha]);
    // Incremental (no -a): only the loose objects go into one new pack; gc --auto merges packs.
    if (blobs >= REPACK_AFTER_BLOBS) await this.#raw('repack', ['repack', '-d', '-q']);
    return { done: true, value: { committed: true, branch, sha, attempts: n } };
  }

  /** The tip of `from` when `base` does not contain it yet (see mergeFrom), else undefined. */
  async #toMerge(base: string, from: string): Promise<string | undefined> {
    const tip = (await this.#remoteRefs()).get(from);
    if (tip === undefined || tip === base) return undefined;
    // Exit status 1 (not an ancestor) is an error to #raw: caught as "not contained".
    const contained = await this.#raw('merge-base', ['merge-base', '--is-ancestor', tip, base]).then(
      () => true,
      () => false,
    );
    return contained ? undefined : tip;
  }

  async #baseCommit(branch: string, createFrom: string | undefined): Promise<string> {
    const refs = await this.#remoteRefs();
    const sha = refs.get(branch) ?? (createFrom === undefined ? undefined : refs.get(createFrom));
    if (sha !== undefined) return sha;
    const also = createFrom === undefined ? '' : ` nor "${createFrom}"`;
    throw new GitError({
      kind: 'config',
      operation: `commit to ${branch}`,
      detail: `the remote has no branch "${branch}"${also}`,
    });
  }

  // Build a tree = base tree + our changes, in a private index so the checkout is untouched.
  async #buildTree(
    base: string,
    changes: ReadonlyMap<string, string | null>,
  ): Promise<{ tree: string; blobs: number }> {
    const scratch = this.#scratchDir();
    await rm(scratch, { recursive: true, force: true });
    await mkdir(join(scratch, 'blobs'), { recursive: true });
    const indexGit = createGit(this.dir, {
      ...this.#gitOptions,
      env: { ...this.#gitOptions.env, GIT_INDEX_FILE: join(scratch, 'index') },
    });
    const run = async (operation: string, args: string[]) => {
      try {
        return await indexGit.raw(args);
      } catch (err) {
        throw translateGitError(err, { operation, remoteUrl: this.#remoteUrl });
      }
    };
    await run('read-tree', ['read-tree', base]);
    const writes = [...changes].filter((entry): entry is [string, string] => entry[1] !== null);
    if (writes.length > 0) {
      const files = writes.map((_, i) => join(scratch, 'blobs', String(i)));
      await Promise.all(writes.map(([, content], i) => writeFile(files[i] ?? '', content)));
      // --no-filters: store exactly the bytes we produced, whatever .gitattributes says.
      const blobs = splitLines(
        await this.#raw('hash-object', ['hash-object', '-w', '--no-filters', '--', ...files]),
      );
      const args = ['update-index', '--add', '--replace'];
      writes.forEach(([path], i) => args.push('--cacheinfo', `100644,${blobs[i] ?? ''},${path}`));
      await run('update-index', args);
    }
    const deletes = [...changes].filter(([, content]) => content === null).map(([path]) => path);
    if (deletes.length > 0) await run('update-index', ['update-index', '--force-remove', '--', ...deletes]);
    return { tree: (await run('write-tree', ['write-tree'])).trim(), blobs: writes.length };
  }

  async #checkout(name: string): Promise<string> {
    const sha = (await this.#remoteRefs()).get(name);
    if (sha === undefined) {
      throw new GitError({
        kind: 'config',
        operation: `checkout ${name}`,
        detail: `the remote has no branch "${name}"`,
      });
    }
    await this.#raw('checkout', ['checkout', '--force', '--no-track', '-B', name, `${REMOTE_PREFIX}${name}`]);
    await this.#raw('clean', ['clean', '--force', '-d', '-x']);
    this.#checkedOut = name;
    return sha;
  }

  /**
   * Remote branch → commit. Read once per change: a pass asks three times or more (checkout,
   * the status branch, review branches), and each read is a Git process (~15 ms of CPU).
   */
  async #remoteRefs(): Promise<Map<string, string>> {
    this.#refs ??= await this.#readRemoteRefs();
    return this.#refs;
  }

  async #readRemoteRefs(): Promise<Map<string, string>> {
    const out = await this.#raw('for-each-ref', [
      'for-each-ref',
      '--format=%(refname)%00%(objectname)',
      REMOTE_PREFIX,
    ]);
    const refs = new Map<string, string>();
    for (const line of splitLines(out)) {
      const [ref, sha] = line.split('\0');
      if (ref?.startsWith(REMOTE_PREFIX) && sha) refs.set(ref.slice(REMOTE_PREFIX.length), sha);
    }
    return refs;
  }

  async #readBlob(ref: string, path: string): Promise<string | undefined> {
    const listing = await this.#raw('ls-tree', ['ls-tree', '-z', '--full-tree', ref, '--', path]);
    // "<mode> <type> <sha>\t<path>"
    const entry = splitZ(listing).find((line) => line.endsWith(`\t${path}`));
    const [mode, type, sha] = entry?.split('\t')[0]?.split(' ') ?? [];
    if (type !== 'blob' || sha === undefined || mode === '120000') return undefined;
    return this.#raw('cat-file', ['cat-file', 'blob', sha]);
  }

  async #showBlobs(shas: string[]): Promise<Buffer> {
    try {
      // --no-textconv: the bytes as stored, whatever .gitattributes says.
      return await this.#git.showBuffer(['--no-textconv', ...shas]);
    } catch (err) {
      throw translateGitError(err, { operation: 'show', remoteUrl: this.#remoteUrl });
    }
  }

  async #readWorkingFile(path: string): Promise<string | undefined> {
    let real: string;
    try {
      real = await realpath(join(this.dir, path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    // A symlink committed to the repository must not let us read outside it.
    const root = await realpath(this.dir);
    if (!real.startsWith(root + sep)) throw new RepoPathError(path, 'resolves outside the working copy');
    return readFile(real, 'utf8');
  }

  #scratchDir(): string {
    return join(this.dir, '.git', 'lifeboat');
  }

  async #raw(operation: string, args: string[]): Promise<string> {
    if (!KEEPS_REMOTE_REFS.has(args[0] ?? '')) this.#refs = undefined;
    try {
      return await this.#git.raw(args);
    } catch (err) {
      throw translateGitError(err, { operation, remoteUrl: this.#remoteUrl });
    }
  }

  // One Git operation at a time: a checkout must not interleave with a commit or a read.
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Git commands that never move a remote-tracking ref (refs/remotes/…): the refs read before
 * them stay valid. Every other command (fetch, push, update-ref, remote, clone) drops them.
 */
const KEEPS_REMOTE_REFS = new Set([
  'for-each-ref',
  'ls-tree',
  'ls-files',
  'log',
  'cat-file',
  'rev-parse',
  'merge-base',
  'checkout',
  'clean',
  'reset',
]);

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function splitZ(text: string): string[] {
  return text.split('\0').filter((s) => s !== '');
}

function splitLines(text: string): string[] {
  return text.split('\n').filter((s) => s !== '');
}
