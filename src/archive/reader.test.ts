import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import type { Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { ArchiveError, readArchive } from './reader.js';
import type { ArchiveEntry, ReadArchiveOptions } from './reader.js';

interface RawEntry {
  name: string;
  content?: string;
  type?: Header['type'];
  linkname?: string;
  pax?: Record<string, string>;
}

/** A tar built by tar-stream directly, so tests can write what our writer refuses to. */
async function rawTar(entries: RawEntry[]): Promise<Buffer> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const header: Parameters<typeof pack.entry>[0] = {
        name: e.name,
        type: e.type ?? 'file',
        mtime: new Date(0),
      };
      if (e.linkname) header.linkname = e.linkname;
      if (e.pax) header.pax = e.pax;
      pack.entry(header, e.content ?? '', (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

const rawTarGz = async (entries: RawEntry[]) => gzipSync(await rawTar(entries));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(bytes: Buffer, opts: Partial<ReadArchiveOptions> = {}): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const e of readArchive(Readable.from([bytes]), {
    source: 's3://bkt/backups/b1/b1.tar.gz',
    ...opts,
  })) {
    out.push(e);
  }
  return out;
}

const POD = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-0","namespace":"shop"}}';
const GOOD: RawEntry[] = [
  { name: 'metadata/version', content: '1.1.0' },
  { name: 'resources/pods/namespaces/shop/web-0.json', content: POD },
];

describe('readArchive', () => {
  it('yields files with their item paths, skipping directories, links and a leading ./', async () => {
    const bytes = await rawTarGz([
      { name: 'resources/', type: 'directory' },
      { name: './metadata/version', content: '1.1.0' },
      { name: 'resources/pods/namespaces/shop/web-0.json', content: POD },
      { name: 'resources/pods/namespaces/shop/link.json', type: 'symlink', linkname: '/etc/passwd' },
    ]);
    const entries = await readAll(bytes);
    expect(entries.map((e) => [e.path, e.content.toString()])).toEqual([
      ['metadata/version', '1.1.0'],
      ['resources/pods/namespaces/shop/web-0.json', POD],
    ]);
    expect(entries[1]?.item).toEqual({
      groupResource: 'pods',
      namespace: 'shop',
      name: 'web-0',
      versionDir: '',
    });
    expect(entries[1]?.json).toEqual(JSON.parse(POD));
  });

  it('parses only the item entries `parse` asks for, and does not check the others', async () => {
    const bytes = await rawTarGz([
      { name: 'resources/pods/namespaces/shop/web-0.json', content: POD },
      { name: 'resources/pods/v1-preferredversion/namespaces/shop/web-0.json', content: '{"kind":' },
    ]);
    const asked: string[] = [];
    const entries = await readAll(bytes, {
      parse: (path, item) => {
        asked.push(path);
        return item.versionDir === '';
      },
    });
    expect(asked).toEqual([
      'resources/pods/namespaces/shop/web-0.json',
      'resources/pods/v1-preferredversion/namespaces/shop/web-0.json',
    ]);
    expect(entries.map((e) => [e.item?.versionDir, e.json])).toEqual([
      ['', JSON.parse(POD)],
      ['v1-preferredversion', undefined],
    ]);
    // Asked for, the broken copy fails as it always did.
    await expect(readAll(bytes, { parse: () => true })).rejects.toThrow(/is not valid JSON/);
  });

  it('accepts an archive whose sha256 matches (case-insensitively)', async () => {
    const bytes = await rawTarGz(GOOD);
    await expect(readAll(bytes, { expectedSha256: sha256(bytes).toUpperCase() })).resolves.toHaveLength(2);
  });

  const truncatedGzip = async () => {
    const gz = await rawTarGz(GOOD);
    return gz.subarray(0, gz.length - 10);
  };
  const corruptGzip = async () => {
    const gz = Buffer.from(await rawTarGz(GOOD));
    gz[gz.length - 6] = (gz[gz.length - 6] ?? 0) ^ 0xff; // flips a bit of the CRC32
    return gz;
  };
  // A complete gzip stream around a tar that stops in the middle of an entry's content.
  const truncatedTar = async () => gzipSync((await rawTar(GOOD)).subarray(0, 512 * 3 + 20));

  it.each<[string, () => Promise<Buffer>, Partial<ReadArchiveOptions>, RegExp]>([
    ['empty input', () => Promise.resolve(Buffer.alloc(0)), {}, /empty \(0 bytes\)/],
    ['not gzip', () => Promise.resolve(Buffer.from('{"kind":"Backup"}')), {}, /not a gzip archive/],
    ['a truncated gzip stream', truncatedGzip, {}, /truncated: the gzip stream ends unexpectedly/],
    ['corrupt gzip data', corruptGzip, {}, /corrupt gzip data/],
    [
      'gzip that holds no tar',
      () => Promise.resolve(gzipSync(Buffer.from('{"kind":"Backup"}'.repeat(100)))),
      {},
      /corrupt tar data \(Invalid tar header/,
    ],
    ['a truncated tar', truncatedTar, {}, /truncated: the tar stream ends inside an entry/],
    [
      'an absolute entry path',
      () => rawTarGz([{ name: '/etc/cron.d/evil', content: 'x' }]),
      {},
      /entry "\/etc\/cron.d\/evil" escapes the archive/,
    ],
    [
      'a .. entry path',
      () => rawTarGz([{ name: 'resources/../../evil.json', content: '{}' }]),
      {},
      /entry "resources\/..\/..\/evil.json" escapes the archive/,
    ],
    [
      'an item that is not JSON',
      () => rawTarGz([{ name: 'resources/pods/namespaces/shop/web-0.json', content: '{"kind":' }]),
      {},
      /entry resources\/pods\/namespaces\/shop\/web-0.json is not valid JSON/,
    ],
    [
      'an entry over the size cap',
      () => rawTarGz([{ name: 'metadata/version', content: 'x'.repeat(2000) }]),
      { limits: { maxEntryBytes: 1024 } },
      /entry metadata\/version is 2000 bytes, over the limit of 1024/,
    ],
    [
      'more entries than the limit, naming the first one past it',
      () =>
        rawTarGz(
          Array.from({ length: 5 }, (_, i) => ({
            name: `resources/pods/namespaces/shop/p${i}.json`,
            content: POD,
          })),
        ),
      { limits: { maxEntries: 3 } },
      /more than 3 entries \(at resources\/pods\/namespaces\/shop\/p3.json\).*--max-archive-entries/,
    ],
    [
      'more decompressed bytes than the limit, naming the entry reached',
      () =>
        rawTarGz(
          Array.from({ length: 20 }, (_, i) => ({
            name: `resources/configmaps/namespaces/shop/c${i}.json`,
            content: JSON.stringify({ data: { v: 'x'.repeat(1000) } }),
          })),
        ),
      { limits: { maxTotalBytes: 10_000 } },
      /expands to more than 10000 bytes at entry resources\/configmaps\/namespaces\/shop\/c\d+.json.*--max-archive-bytes/,
    ],
    [
      'an item nested deeper than the limit',
      () =>
        rawTarGz([
          {
            name: 'resources/pods/namespaces/shop/deep.json',
            content: '{"a":' + '['.repeat(50_000) + ']'.repeat(50_000) + '}',
          },
        ]),
      {},
      /entry resources\/pods\/namespaces\/shop\/deep.json nests objects and arrays deeper than 1000 levels/,
    ],
    [
      'a pax header larger than any entry may be',
      () =>
        rawTarGz([{ name: 'metadata/version', content: '1', pax: { comment: 'x'.repeat(3 * 1024 * 1024) } }]),
      { limits: { maxEntryBytes: 1024 } },
      /more than \d+ bytes of tar headers or data at the start without a complete entry/,
    ],
    [
      'a sha256 mismatch',
      () => rawTarGz(GOOD),
      { expectedSha256: '0'.repeat(64) },
      /sha256 mismatch: expected 0{64}, got [0-9a-f]{64}/,
    ],
  ])('rejects %s with an ArchiveError naming the source', async (_label, make, opts, problem) => {
    const bytes = await make();
    const err = await readAll(bytes, opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as ArchiveError).source).toBe('s3://bkt/backups/b1/b1.tar.gz');
    expect((err as Error).message).toMatch(/^archive s3:\/\/bkt\/backups\/b1\/b1\.tar\.gz: /);
    expect((err as ArchiveError).problem).toMatch(problem);
  });

  it('fails a checksum mismatch before the iterator completes, after yielding the entries', async () => {
    const bytes = await rawTarGz(GOOD);
    const seen: string[] = [];
    let completed = false;
    const consume = async () => {
      for await (const e of readArchive(Readable.from([bytes]), {
        source: 'x',
        expectedSha256: 'ab'.repeat(32),
      })) {
        seen.push(e.path);
      }
      completed = true;
    };
    await expect(consume()).rejects.toThrow(/sha256 mismatch/);
    expect(completed).toBe(false);
    expect(seen).toEqual(['metadata/version', 'resources/pods/namespaces/shop/web-0.json']);
  });

  it('streams: yields the first entry before the input has ended, and stops reading on break', async () => {
    const bytes = await rawTarGz(GOOD);
    const input = new PassThrough();
    // Everything but the last bytes: the first entry is complete, the archive is not.
    input.write(bytes.subarray(0, bytes.length - 8));
    const iterator = readArchive(input, { source: 'x' });
    const first = await iterator.next();
    expect(first.value).toMatchObject({ path: 'metadata/version' });
    expect(input.writableEnded).toBe(false);
    await iterator.return(undefined);
    expect(input.destroyed).toBe(true);
  });

  it('reports an error of the input stream itself', async () => {
    const input = new PassThrough();
    input.write((await rawTarGz(GOOD)).subarray(0, 40));
    setImmediate(() => input.destroy(new Error('connection reset by peer')));
    const err = await (async () => {
      for await (const _ of readArchive(input, { source: 'x' })) {
        // reading until the failure
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as ArchiveError).problem).toBe('read failed: connection reset by peer');
  });
});
