// Streaming reader for backup archives (tar.gz in Velero's layout, see paths.ts). Entries come
// out one at a time as the bytes arrive, so a restore never holds the whole archive in memory.
//
// An archive is untrusted input (a bucket may be shared, or written by another tool), so every
// problem becomes an ArchiveError naming where the archive came from and what is wrong with it.
// Velero's extractor (pkg/archive/extractor.go) likewise keeps only regular files and
// directories and ignores other entry types.
import { createHash } from 'node:crypto';
import { pipeline, Transform } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import type { Header } from 'tar-stream';
import { createGunzip } from 'node:zlib';
import { parseItemPath, RESOURCES_DIR, UnsafeArchivePathError } from './paths.js';
import type { ItemPath } from './paths.js';
import { parseJson } from '../util/json.js';

/** Far above any Kubernetes object (etcd caps them at 1.5 MiB by default), far below harm. */
export const DEFAULT_MAX_ENTRY_BYTES = 64 * 1024 * 1024;

export class ArchiveError extends Error {
  constructor(
    /** Where the archive came from, e.g. `s3://bucket/backups/b1/b1.tar.gz`. */
    readonly source: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`archive ${source}: ${problem}`, options);
    this.name = 'ArchiveError';
  }
}

export interface ArchiveEntry {
  /** The entry path, e.g. `resources/pods/namespaces/shop/web-0.json` or `metadata/version`. */
  path: string;
  /** Set for item entries under resources/. */
  item?: ItemPath;
  content: Buffer;
  /** The parsed JSON of every `.json` entry under resources/ (validated on the way through). */
  json?: unknown;
}

export interface ReadArchiveOptions {
  /** Names the archive in errors (a bucket key or file path). */
  source: string;
  /** Hex sha256 of the gzip bytes; a mismatch fails the read before the last entry is acknowledged. */
  expectedSha256?: string;
  maxEntryBytes?: number;
}

/**
 * Read the entries of a tar.gz stream in order. The iterator throws an ArchiveError for any
 * problem, including a checksum mismatch detected at the end: a consumer that reads to the
 * end has read a complete, intact archive. Breaking out early stops reading `input`.
 */
export async function* readArchive(input: Readable, opts: ReadArchiveOptions): AsyncGenerator<ArchiveEntry> {
  const { source } = opts;
  const maxEntryBytes = opts.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  const hash = createHash('sha256');
  let bytesIn = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk);
      bytesIn += chunk.length;
      cb(null, chunk);
    },
  });
  const extract = tarExtract();
  let streamError: Error | undefined;
  const done = new Promise<void>((resolve) => {
    pipeline(input, counter, createGunzip(), extract, (err) => {
      if (err) streamError ??= err;
      resolve();
    });
  });

  let completed = false;
  try {
    for await (const tarEntry of extract) {
      const entry = await readEntry(tarEntry, { source, maxEntryBytes });
      if (entry) yield entry;
    }
    await done;
    if (streamError) throw streamError;
    if (bytesIn === 0) throw new ArchiveError(source, 'empty (0 bytes); expected a tar.gz archive');
    const actual = hash.digest('hex');
    if (opts.expectedSha256 !== undefined && actual !== opts.expectedSha256.toLowerCase()) {
      throw new ArchiveError(source, `sha256 mismatch: expected ${opts.expectedSha256}, got ${actual}`);
    }
    completed = true;
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    // A gzip failure surfaces in the tar iterator as a secondary error; report the first one.
    extract.destroy();
    await done;
    throw describeStreamError(source, streamError ?? err, bytesIn);
  } finally {
    // Consumer stopped early or we failed: release the input (an S3 socket, a file handle).
    if (!completed) extract.destroy();
  }
}

/** An entry as tar-stream yields it: its header and a stream of its content. */
type TarEntry = AsyncIterable<unknown> & { header: Header };

async function readEntry(
  tarEntry: TarEntry,
  ctx: { source: string; maxEntryBytes: number },
): Promise<ArchiveEntry | undefined> {
  const { header } = tarEntry;
  const path = normalizeEntryPath(header.name);
  let item: ItemPath | undefined;
  try {
    item = parseItemPath(path);
  } catch (err) {
    if (err instanceof UnsafeArchivePathError) {
      throw new ArchiveError(
        ctx.source,
        `entry ${JSON.stringify(header.name)} escapes the archive (absolute path or '..')`,
      );
    }
    throw err;
  }
  const size = header.size ?? 0;
  if (size > ctx.maxEntryBytes) {
    throw new ArchiveError(
      ctx.source,
      `entry ${path} is ${size} bytes, over the limit of ${ctx.maxEntryBytes}`,
    );
  }
  const content = await readAll(tarEntry);
  if (path === '' || (header.type !== 'file' && header.type !== 'contiguous-file')) return undefined;

  const entry: ArchiveEntry = { path, content };
  if (item) entry.item = item;
  if (path.startsWith(`${RESOURCES_DIR}/`) && path.endsWith('.json')) {
    try {
      entry.json = parseJson(content.toString('utf8'));
    } catch (err) {
      throw new ArchiveError(ctx.source, `entry ${path} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return entry;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
}

/** Some tar tools write `./resources/...`; directories end in '/'. */
function normalizeEntryPath(name: string): string {
  let path = name;
  while (path.startsWith('./')) path = path.slice(2);
  if (path === '.') return '';
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

function describeStreamError(source: string, err: unknown, bytesIn: number): ArchiveError {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as NodeJS.ErrnoException).code;
  let problem: string;
  if (bytesIn === 0 && code === 'Z_BUF_ERROR') problem = 'empty (0 bytes); expected a tar.gz archive';
  else if (code === 'Z_BUF_ERROR') problem = 'truncated: the gzip stream ends unexpectedly';
  else if (code === 'Z_DATA_ERROR' && /header check/.test(e.message)) problem = 'not a gzip archive';
  else if (code === 'Z_DATA_ERROR') problem = `corrupt gzip data (${e.message})`;
  else if (e.message === 'Unexpected end of data') problem = 'truncated: the tar stream ends inside an entry';
  else if (/header/i.test(e.message) && !code) problem = `corrupt tar data (${e.message})`;
  else problem = `read failed: ${e.message}`;
  return new ArchiveError(source, problem, { cause: e });
}
