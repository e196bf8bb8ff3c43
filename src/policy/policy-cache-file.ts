// The policy file cache of `reconcile --once`, kept in a file between passes (ADR 0050): what
// PolicyFileCache holds for `lifeboat run` in memory, so that a pass over an unchanged
// repository does not parse and check its files again. Reading it must never change what a load
// gives: a file that is missing, truncated, corrupt, written by another build or another
// format is ignored (and replaced by the next write); entries are used only for files whose
// content digest and rule options match.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { PolicyFileCache } from './load.js';
import type { PolicyCacheRecord } from './load.js';

/** The first bytes of a cache file; then the SHA-256 of the payload, then the payload. */
const MAGIC = Buffer.from('LBPOLCA1', 'latin1');
const HEADER_BYTES = MAGIC.length + 32;
/** Bumped when the records' shape changes. */
const FORMAT = 1;
/**
 * A cache file larger than this is not written (and one found is not read): it holds one copy of
 * a repository's parsed policy files, and a repository that large gains less from it than the
 * memory it would take.
 */
export const POLICY_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Where `reconcile --once` keeps it: inside the checkout's .git, which Git neither tracks nor
 * cleans (not in .git/lifeboat, the commit scratch directory that each status commit empties).
 */
export function policyCacheFilePath(workdir: string): string {
  return join(workdir, '.git', 'lifeboat-cache', 'policy-files.bin');
}

/**
 * What a cache file must have been written by: this build of lifeboat (its package.json and the
 * compiler's build record, which changes with every build that changes a source file) on this
 * Node/V8. Undefined when lifeboat does not run from a build (no dist/.tsbuildinfo): no cache file.
 */
export async function policyCacheKey(): Promise<string | undefined> {
  let build: Buffer;
  let pkg: Buffer;
  try {
    build = await readFile(new URL('../.tsbuildinfo', import.meta.url));
    pkg = await readFile(new URL('../../package.json', import.meta.url));
  } catch {
    return undefined;
  }
  return createHash('sha256')
    .update(`${FORMAT}\0${process.version}\0${process.versions.v8}\0`)
    .update(pkg)
    .update('\0')
    .update(build)
    .digest('hex');
}

export interface ReadPolicyCacheOptions {
  /** Why an existing file was ignored (a debug log line); a missing file is not reported. */
  onIgnored?: (reason: string) => void;
}

/** The cache the file holds for `key`, or an empty one if there is no usable file. */
export async function readPolicyCacheFile(
  path: string,
  key: string,
  options: ReadPolicyCacheOptions = {},
): Promise<PolicyFileCache> {
  const ignore = (reason: string): PolicyFileCache => {
    options.onIgnored?.(reason);
    return new PolicyFileCache();
  };
  let bytes: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > POLICY_CACHE_MAX_BYTES) return ignore(`${size} bytes, more than the limit`);
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? new PolicyFileCache() : ignore(`cannot read it: ${code ?? String(error)}`);
  }
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    return ignore('not a policy cache file');
  const payload = bytes.subarray(HEADER_BYTES);
  const sum = createHash('sha256').update(payload).digest();
  if (!sum.equals(bytes.subarray(MAGIC.length, HEADER_BYTES))) return ignore('checksum mismatch');
  let content: unknown;
  try {
    content = deserialize(payload);
  } catch (error) {
    return ignore(`cannot decode it: ${(error as Error).message}`);
  }
  const file = content as { format?: unknown; key?: unknown; records?: unknown } | null;
  if (file?.format !== FORMAT || !Array.isArray(file.records)) return ignore('another format');
  if (file.key !== key) return ignore('written by another build');
  return PolicyFileCache.fromRecords(file.records as PolicyCacheRecord[]);
}

/**
 * Write the cache's plain entries to `path`, atomically (a temporary file renamed over it), so
 * that a pass killed while writing leaves the old file or none, never half of one.
 */
export async function writePolicyCacheFile(path: string, key: string, cache: PolicyFileCache): Promise<void> {
  const payload = serialize({ format: FORMAT, key, records: cache.records() });
  if (payload.length + HEADER_BYTES > POLICY_CACHE_MAX_BYTES) {
    await rm(path, { force: true });
    return;
  }
  const sum = createHash('sha256').update(payload).digest();
  // Only the last directory: a missing .git means there is no checkout here, and making one
  // would make the next pass take the directory for a clone.
  await mkdir(dirname(path)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, Buffer.concat([MAGIC, sum, payload]), { mode: 0o600 });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
