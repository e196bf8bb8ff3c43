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
import { DEFAULT_MAX_JSON_DEPTH, JsonDepthError, parseJson } from '../util/json.js';

/**
 * What one archive may make the reader do. A few MB of gzip can expand a thousandfold (a gzip
 * bomb), and every entry is held in memory while it is parsed and planned, so the bytes are
 * bounded as they come out of gunzip, not as they come in.
 */
export interface ArchiveLimits {
  /**
   * Bytes of one entry. No Kubernetes object comes near it: etcd refuses requests over
   * 1.5 MiB by default and the API server request bodies over 3 MiB, so 8 MiB leaves room for
   * an etcd configured larger while one entry, parsed, stays a few tens of MB.
   */
  maxEntryBytes: number;
  /** Decompressed bytes of the whole archive (tar headers included). */
  maxTotalBytes: number;
  /** Entries in the archive; planning keeps a small record per object, so this bounds memory. */
  maxEntries: number;
  /** Nesting of objects and arrays in an item's JSON (util/json.ts). */
  maxJsonDepth: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntryBytes: 8 * 1024 * 1024,
  // 100,000 objects, each written twice, average far under 10 KiB: about 2 GB. Ample room.
  maxTotalBytes: 16 * 1024 * 1024 * 1024,
  // Two entries per object (Velero writes each one twice): 500,000 objects.
  maxEntries: 1_000_000,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
};
/**
 * Headers (tar's 512-byte blocks, pax and GNU long-name records, which tar-stream buffers
 * whole) may come between entries: this much beyond maxEntryBytes, and the reader stops.
 */
const HEADER_SLACK_BYTES = 1024 * 1024;

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
  /** Any limit not given is DEFAULT_ARCHIVE_LIMITS'. */
  limits?: Partial<ArchiveLimits>;
  /**
   * Which `.json` item entries to parse (asked as each one is reached); all by default. A
   * restore reads the archive twice and needs few of the parses: its index only the first
   * object of each resource, its items only the copy of each object it restores. Entries not
   * parsed have no `json`, and are not checked for valid JSON or depth.
   */
  parse?: (path: string, item: ItemPath) => boolean;
}

/** The bytes flowing out of gunzip, counted against the limits while they flow. */
class Expansion {
  total = 0;
  /** Since the current entry's header was read. */
  sinceEntry = 0;
  entries = 0;
  /** What the tar headers read so far declare: headers and contents. */
  declared = 0;
  /** The entry being read, for errors; '' before the first. */
  current = '';
}

/**
 * Read the entries of a tar.gz stream in order. The iterator throws an ArchiveError for any
 * problem, including a checksum mismatch detected at the end: a consumer that reads to the
 * end has read a complete, intact archive. Breaking out early stops reading `input`.
 */
export async function* readArchive(input: Readable, opts: ReadArchiveOptions): AsyncGenerator<ArchiveEntry> {
  const { source } = opts;
  const limits: ArchiveLimits = {
    ...DEFAULT_ARCHIVE_LIMITS,
    ...definedLimits(opts.limits),
  };
  const hash = createHash('sha256');
  let bytesIn = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk);
      bytesIn += chunk.length;
      cb(null, chunk);
    },
  });
  const expansion = new Expansion();
  const bound = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      expansion.total += chunk.length;
      expansion.sinceEntry += chunk.length;
      cb(overLimit(source, expansion, limits), chunk);
    },
  });
  const extract = tarExtract();
  let streamError: Error | undefined;
  const done = new Promise<void>((resolve) => {
    pipeline(input, counter, createGunzip(), bound, extract, (err) => {
      if (err) streamError ??= err;
      resolve();
    });
  });

  let completed = false;
  try {
    for await (const tarEntry of extract) {
      expansion.entries++;
      expansion.current = normalizeEntryPath((tarEntry as TarEntry).header.name);
      if (expansion.entries > limits.maxEntries) {
        throw new ArchiveError(
          source,
          `more than ${limits.maxEntries} entries (at ${expansion.current}); ` +
            'a larger archive needs a higher entry limit (--max-archive-entries)',
        );
      }
      // Bytes already counted belong to this entry's header and content.
      expansion.sinceEntry = Math.min(expansion.sinceEntry, HEADER_SLACK_BYTES);
      // A header and the content it declares, in 512-byte blocks as tar stores them.
      expansion.declared += 512 + Math.ceil(((tarEntry as TarEntry).header.size ?? 0) / 512) * 512;
      if (expansion.declared > limits.maxTotalBytes) {
        throw tooLarge(source, limits, `at entry ${expansion.current}`);
      }
      const entry = await readEntry(tarEntry, { source, limits, parse: opts.parse });
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
    // A limit reached inside the pipeline, reported as it was found.
    if (streamError instanceof ArchiveError) throw streamError;
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

function definedLimits(l: Partial<ArchiveLimits> | undefined): Partial<ArchiveLimits> {
  return Object.fromEntries(Object.entries(l ?? {}).filter(([, v]) => v !== undefined));
}

/** The ArchiveError for a limit the bytes read so far pass, if any. */
function overLimit(source: string, e: Expansion, limits: ArchiveLimits): ArchiveError | null {
  const at = e.current === '' ? 'at the start' : `after entry ${e.current}`;
  // The entries' own sizes are checked as each one starts (readArchive); this catches what
  // the tar headers do not declare, a little later, as the bytes run ahead of the entries.
  if (e.total > limits.maxTotalBytes + HEADER_SLACK_BYTES) return tooLarge(source, limits, at);
  if (e.sinceEntry > limits.maxEntryBytes + HEADER_SLACK_BYTES) {
    return new ArchiveError(
      source,
      `more than ${limits.maxEntryBytes + HEADER_SLACK_BYTES} bytes of tar headers or data ${at} ` +
        `without a complete entry (entries are limited to ${limits.maxEntryBytes} bytes)`,
    );
  }
  return null;
}

function tooLarge(source: string, limits: ArchiveLimits, at: string): ArchiveError {
  return new ArchiveError(
    source,
    `expands to more than ${limits.maxTotalBytes} bytes ${at}; ` +
      'a larger archive needs a higher limit (--max-archive-bytes)',
  );
}

async function readEntry(
  tarEntry: TarEntry,
  ctx: { source: string; limits: ArchiveLimits; parse: ReadArchiveOptions['parse'] },
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
  const { maxEntryBytes, maxJsonDepth } = ctx.limits;
  if (size > maxEntryBytes) {
    throw new ArchiveError(
      ctx.source,
      `entry ${path} is ${size} bytes, over the limit of ${maxEntryBytes} (--max-item-bytes); ` +
        'no Kubernetes object is that large',
    );
  }
  const content = await readAll(tarEntry);
  if (path === '' || (header.type !== 'file' && header.type !== 'contiguous-file')) return undefined;

  const entry: ArchiveEntry = { path, content };
  if (item) entry.item = item;
  if (
    path.startsWith(`${RESOURCES_DIR}/`) &&
    path.endsWith('.json') &&
    (!ctx.parse || !item || ctx.parse(path, item))
  ) {
    try {
      entry.json = parseJson(content.toString('utf8'), { maxDepth: maxJsonDepth });
    } catch (err) {
      if (err instanceof JsonDepthError) throw new ArchiveError(ctx.source, `entry ${path} ${err.message}`);
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
