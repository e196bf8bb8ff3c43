import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { extract as tarExtract, pack as tarPack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { METADATA_VERSION_PATH, UnsafeArchivePathError, itemDir, itemPath, itemSubpath } from './paths.js';
import { readArchive } from './reader.js';
import { createArchiveWriter } from './writer.js';
import type { ArchiveEntry } from './reader.js';
import type { ArchiveWriter } from './writer.js';

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readAllEntries(bytes: Buffer, expectedSha256?: string): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  for await (const e of readArchive(Readable.from([bytes]), { source: 'test', expectedSha256 }))
    entries.push(e);
  return entries;
}

const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'shop' } });

/** Writes a small archive and returns its bytes together with what finish() reported. */
async function writeSample(): Promise<{ bytes: Buffer; sha256: string; size: number }> {
  const writer = createArchiveWriter();
  const out = collect(writer.output);
  await writer.addFile(METADATA_VERSION_PATH, '1.1.0');
  for (const name of ['web-0', 'web-1']) {
    await writer.addJson(
      itemPath({ groupResource: 'pods', namespace: 'shop', name, versionDir: '' }),
      pod(name),
    );
  }
  await writer.addJson(
    itemPath({ groupResource: 'namespaces', namespace: '', name: 'shop', versionDir: 'v1-preferredversion' }),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
  );
  const digest = await writer.finish();
  return { bytes: await out, sha256: digest.sha256, size: digest.bytes };
}

describe('createArchiveWriter', () => {
  it('writes entries that read back in order, with their item paths and JSON', async () => {
    const { bytes } = await writeSample();
    const entries = await readAllEntries(bytes);
    expect(entries.map((e) => e.path)).toEqual([
      'metadata/version',
      'resources/pods/namespaces/shop/web-0.json',
      'resources/pods/namespaces/shop/web-1.json',
      'resources/namespaces/v1-preferredversion/cluster/shop.json',
    ]);
    expect(entries[0]?.content.toString()).toBe('1.1.0');
    expect(entries[0]?.item).toBeUndefined();
    expect(entries[1]?.item).toEqual({
      groupResource: 'pods',
      namespace: 'shop',
      name: 'web-0',
      versionDir: '',
    });
    expect(entries[1]?.json).toEqual(pod('web-0'));
    expect(entries[3]?.item).toEqual({
      groupResource: 'namespaces',
      namespace: '',
      name: 'shop',
      versionDir: 'v1-preferredversion',
    });
  });

  it('reports the sha256 and size of exactly the bytes it emitted', async () => {
    const { bytes, sha256, size } = await writeSample();
    expect(size).toBe(bytes.length);
    expect(sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    await expect(readAllEntries(bytes, sha256)).resolves.toHaveLength(4);
  });

  it('gives byte-identical archives for identical input', async () => {
    const a = await writeSample();
    const b = await writeSample();
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(b.sha256).toBe(a.sha256);
  });

  it('writes regular files with mode 0644 and the fixed mtime', async () => {
    const { bytes } = await writeSample();
    const extract = tarExtract();
    Readable.from([bytes]).pipe(createGunzip()).pipe(extract);
    const headers = [];
    for await (const entry of extract) {
      headers.push(entry.header);
      entry.resume();
    }
    expect(headers).toHaveLength(4);
    for (const h of headers) {
      expect(h).toMatchObject({ type: 'file', mode: 0o644, uid: 0, gid: 0 });
      expect(h.mtime?.getTime()).toBe(0);
    }
  });

  it('writes the tar tar-stream packs from the same entries, byte for byte, in batches or alone', async () => {
    // Entries as backups hold them: short and long item paths (prefix and pax), unicode, sizes
    // around the 512-byte blocks and past the 256 KiB gzip blocks, strings and Buffers.
    const names = ['web-0', 'n'.repeat(120), 'ünï', 'x'.repeat(253)];
    const sizes = [0, 1, 511, 512, 513, 4000, 300_000];
    const files = names.flatMap((name, n) =>
      sizes.map((size, s) => ({
        path: itemPath({
          groupResource: 'widgets.example.com',
          namespace: n % 2 === 0 ? '' : 'ns-'.padEnd(63, 'z'),
          name: `${name}-${s}`,
          versionDir: s % 2 === 0 ? '' : 'v1-preferredversion',
        }),
        content: s % 3 === 0 ? 'j'.repeat(size) : randomBytes(size),
      })),
    );
    const mtime = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

    const pack = tarPack();
    const packed = collect(pack);
    for (const f of files) {
      await new Promise<void>((resolve, reject) =>
        pack.entry(
          { name: f.path, type: 'file', mode: 0o644, mtime, uid: 0, gid: 0, uname: '', gname: '' },
          typeof f.content === 'string' ? Buffer.from(f.content) : f.content,
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    }
    pack.finalize();
    const expected = await packed;

    const batched = createArchiveWriter({ mtime });
    const batchedOut = collect(batched.output);
    await batched.addFiles(files.slice(0, 10));
    await batched.addFiles(files.slice(10));
    await batched.finish();
    expect(gunzipSync(await batchedOut).equals(expected)).toBe(true);

    const alone = createArchiveWriter({ mtime });
    const aloneOut = collect(alone.output);
    for (const f of files) await alone.addFile(f.path, f.content);
    await alone.finish();
    expect(gunzipSync(await aloneOut).equals(expected)).toBe(true);
  }, 120_000);

  it('writes the tar tar-stream packs over many reused blocks, and gzip bytes that do not depend on them', async () => {
    // Enough entries to fill and reuse many gzip blocks, with entries that just fit or just
    // miss a block's end, prefix and pax paths, and bodies of about a block.
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const files = Array.from({ length: 4000 }, (_, i) => {
      const long = i % 97 === 0 ? 'l'.repeat(120) : i % 89 === 0 ? 'ü'.repeat(3) : '';
      const size = i % 1000 === 999 ? 256 * 1024 - 512 * (i % 3) : Math.floor(next() * 3000);
      return {
        path: itemPath({
          groupResource: 'configmaps',
          namespace: `ns-${i % 7}`,
          name: `c-${i}${long}`,
          versionDir: '',
        }),
        content: Buffer.alloc(size, 0x61 + (i % 26)),
      };
    });
    const pack = tarPack();
    const packed = collect(pack);
    for (const f of files) {
      await new Promise<void>((resolve, reject) =>
        pack.entry(
          {
            name: f.path,
            type: 'file',
            mode: 0o644,
            mtime: new Date(0),
            uid: 0,
            gid: 0,
            uname: '',
            gname: '',
          },
          f.content,
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    }
    pack.finalize();
    const expected = await packed;

    const writer = createArchiveWriter();
    const out = collect(writer.output);
    for (let i = 0; i < files.length; i += 500) await writer.addFiles(files.slice(i, i + 500));
    await writer.finish();
    const gzipped = await out;
    expect(gunzipSync(gzipped).equals(expected)).toBe(true);
    // Where the writer cuts its input to zlib changes nothing in zlib's output.
    expect(gzipped.equals(gzipSync(expected))).toBe(true);
  }, 120_000);

  it('writes item pairs as addFiles writes each item under both directories, byte for byte', async () => {
    // Names that join into a name field, need the prefix field or a pax header (long, unicode),
    // under directories that are short, long, or not ASCII, with bodies around the blocks.
    let seed = 3;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const dirSets: (readonly [string, string])[] = [
      [itemDir('configmaps', ''), itemDir('configmaps', 'v1-preferredversion')],
      [itemDir('widgets.example.com', ''), itemDir('widgets.example.com', 'v1beta1-preferredversion')],
      [itemDir(`${'g'.repeat(90)}.io`, ''), itemDir('ünï.example.com', 'v1-preferredversion')],
    ];
    const pages = Array.from({ length: 12 }, (_, p) => {
      const paths = Array.from({ length: 150 }, (_, i) => {
        const long = i % 31 === 0 ? 'l'.repeat(80 + (i % 60)) : i % 37 === 0 ? 'ü' : '';
        return itemSubpath(i % 5 === 0 ? '' : `ns-${i % 7}`, `item-${p}-${i}${long}`);
      });
      const contents = paths.map((_, i) =>
        Buffer.alloc(i % 50 === 49 ? 256 * 1024 - 512 * (i % 3) : Math.floor(next() * 2000), 0x61 + (i % 26)),
      );
      return { dirs: dirSets[p % dirSets.length] as readonly [string, string], paths, contents };
    });

    const files = createArchiveWriter();
    const filesOut = collect(files.output);
    for (const page of pages) {
      await files.addFiles(
        page.paths.flatMap((path, i) =>
          page.dirs.map((dir) => ({ path: dir + path, content: page.contents[i] as Buffer })),
        ),
      );
    }
    const a = await files.finish();

    const pairs = createArchiveWriter();
    const pairsOut = collect(pairs.output);
    await pairs.addItemPairs({ ...(pages[0] as (typeof pages)[number]), paths: [], contents: [] });
    // Not awaited one by one: batches still go in call order.
    await Promise.all(pages.map((page) => pairs.addItemPairs(page)));
    const b = await pairs.finish();

    expect(b).toEqual(a);
    expect((await pairsOut).equals(await filesOut)).toBe(true);
  }, 120_000);

  it('refuses item pairs with an unsafe directory or path, or a directory without a slash, writing none of them', async () => {
    const writer = createArchiveWriter();
    const out = collect(writer.output);
    const good = {
      dirs: ['resources/pods/', 'resources/pods/v1-preferredversion/'] as const,
      paths: ['namespaces/a/ok.json'],
      contents: [Buffer.from('{}')],
    };
    for (const bad of [
      {
        ...good,
        paths: ['namespaces/a/ok.json', '../escape.json'],
        contents: [Buffer.from('{}'), Buffer.from('{}')],
      },
      { ...good, paths: ['namespaces/../x.json'] },
      { ...good, dirs: ['resources/pods/', '/abs/'] as const },
      { ...good, dirs: ['resources/../', 'resources/pods/'] as const },
    ]) {
      await expect(writer.addItemPairs(bad)).rejects.toThrow(UnsafeArchivePathError);
    }
    await expect(
      writer.addItemPairs({ ...good, dirs: ['resources/pods', 'resources/pods/v1/'] }),
    ).rejects.toThrow("must end in '/'");
    await expect(writer.addItemPairs({ ...good, contents: [] })).rejects.toThrow(
      '1 item paths but 0 contents',
    );
    await writer.finish();
    expect(await readAllEntries(await out)).toEqual([]);
  });

  it('keeps entry order when calls are not awaited one by one', async () => {
    const writer = createArchiveWriter();
    const out = collect(writer.output);
    const names = Array.from({ length: 50 }, (_, i) => `p-${String(i).padStart(2, '0')}`);
    await Promise.all(
      names.map((name) =>
        writer.addJson(itemPath({ groupResource: 'pods', namespace: 'a', name, versionDir: '' }), pod(name)),
      ),
    );
    await writer.finish();
    const entries = await readAllEntries(await out);
    expect(entries.map((e) => e.item?.name)).toEqual(names);
  });

  it('writes a batch exactly as the same entries added one by one', async () => {
    const files = Array.from({ length: 300 }, (_, i) => ({
      path: itemPath({ groupResource: 'pods', namespace: 'a', name: `p-${i}`, versionDir: '' }),
      content: i % 2 === 0 ? JSON.stringify(pod(`p-${i}`)) : Buffer.from(JSON.stringify(pod(`p-${i}`))),
    }));
    const oneByOne = createArchiveWriter();
    const oneByOneOut = collect(oneByOne.output);
    for (const f of files) await oneByOne.addFile(f.path, f.content);
    const a = await oneByOne.finish();

    const batched = createArchiveWriter();
    const batchedOut = collect(batched.output);
    await batched.addFiles(files.slice(0, 100));
    await batched.addFiles([]);
    await batched.addFiles(files.slice(100));
    const b = await batched.finish();

    expect(b).toEqual(a);
    expect((await batchedOut).equals(await oneByOneOut)).toBe(true);
  });

  it('keeps the order of batches added without waiting for each other', async () => {
    const writer = createArchiveWriter();
    const out = collect(writer.output);
    const batches = Array.from({ length: 5 }, (_, b) =>
      Array.from({ length: 150 }, (_, i) => ({
        path: itemPath({ groupResource: 'pods', namespace: 'a', name: `b${b}-${i}`, versionDir: '' }),
        content: JSON.stringify(pod(`b${b}-${i}`)),
      })),
    );
    await Promise.all(batches.map((files) => writer.addFiles(files)));
    await writer.finish();
    const entries = await readAllEntries(await out);
    expect(entries.map((e) => e.path)).toEqual(batches.flat().map((f) => f.path));
  });

  it('refuses a batch with an unsafe path whole, writing none of it', async () => {
    const writer = createArchiveWriter();
    const out = collect(writer.output);
    const good = itemPath({ groupResource: 'pods', namespace: 'a', name: 'ok', versionDir: '' });
    await expect(
      writer.addFiles([
        { path: good, content: '{}' },
        { path: '../escape.json', content: '{}' },
      ]),
    ).rejects.toThrow(UnsafeArchivePathError);
    await writer.finish();
    expect(await readAllEntries(await out)).toEqual([]);
  });

  it('abort() fails a batch that is waiting on backpressure', async () => {
    const writer = createArchiveWriter();
    writer.output.on('error', () => undefined);
    // Nobody reads the output, and 4 MB of incompressible data is more than the streams buffer.
    const files = Array.from({ length: 1024 }, (_, i) => ({ path: `blob/${i}`, content: randomBytes(4096) }));
    const pending = writer.addFiles(files);
    pending.catch(() => undefined);
    await sleep(50);
    const cause = new Error('upload failed');
    writer.abort(cause);
    await expect(pending).rejects.toBe(cause);
    await expect(writer.addFiles(files.slice(0, 1))).rejects.toBe(cause);
  });

  it.each(['/etc/passwd', '../outside.json', 'resources/../../x.json', 'a\\b'])(
    'refuses the unsafe entry path %j',
    async (path) => {
      const writer = createArchiveWriter();
      await expect(writer.addFile(path, 'x')).rejects.toThrow(UnsafeArchivePathError);
    },
  );

  it('refuses a value that has no JSON form', async () => {
    const writer = createArchiveWriter();
    await expect(writer.addJson('resources/x/cluster/y.json', undefined)).rejects.toThrow(
      'archive entry resources/x/cluster/y.json: value is not JSON',
    );
  });

  it('refuses entries after finish()', async () => {
    const writer = createArchiveWriter();
    const out = collect(writer.output);
    await writer.finish();
    await out;
    await expect(writer.addFile('metadata/version', '1')).rejects.toThrow('after finish()');
  });

  it('abort() fails pending and later calls and destroys the output with the cause', async () => {
    const writer = createArchiveWriter();
    const outputError = new Promise<Error>((resolve) => writer.output.on('error', resolve));
    // Nobody reads the output, so enough incompressible data leaves an add pending.
    const pending = fillUntilBlocked(writer);
    await waitForStall(() => pending.accepted());
    const cause = new Error('upload failed');
    writer.abort(cause);
    await expect(pending.promise).rejects.toBe(cause);
    await expect(writer.addFile('metadata/version', '1')).rejects.toBe(cause);
    await expect(writer.finish()).rejects.toBe(cause);
    await expect(outputError).resolves.toBe(cause);
  });

  it('fails pending adds with the consumer error when the output is destroyed', async () => {
    const writer = createArchiveWriter();
    writer.output.on('error', () => undefined);
    const pending = fillUntilBlocked(writer);
    await waitForStall(() => pending.accepted());
    const cause = new Error('socket closed');
    writer.output.destroy(cause);
    await expect(pending.promise).rejects.toBe(cause);
  });

  it('stops accepting entries while the output is not read, and resumes when it is (50k entries)', async () => {
    const total = 50_000;
    const writer = createArchiveWriter();
    let acceptedBytes = 0;
    let accepted = 0;
    const producer = (async () => {
      for (let i = 0; i < total; i++) {
        // Random hex compresses about 2:1, so the buffered tar bytes cannot hide in gzip's window.
        const doc = { metadata: { name: `cm-${i}` }, data: { v: randomBytes(64).toString('hex') } };
        const path = itemPath({
          groupResource: 'configmaps',
          namespace: 'ns',
          name: `cm-${i}`,
          versionDir: '',
        });
        await writer.addJson(path, doc);
        acceptedBytes += JSON.stringify(doc).length;
        accepted++;
      }
      return writer.finish();
    })();

    // Nothing reads the output: the producer must come to a halt after a bounded amount.
    await waitForStall(() => accepted);
    expect(accepted).toBeLessThan(total);
    expect(acceptedBytes).toBeLessThan(1024 * 1024);
    expect(writer.output.readableLength).toBeLessThanOrEqual(writer.output.readableHighWaterMark);

    // A slow consumer: one chunk per macrotask. The archive must still complete and be whole.
    const chunks: Buffer[] = [];
    for await (const chunk of writer.output) {
      chunks.push(chunk as Buffer);
      await sleep(0);
    }
    const digest = await producer;
    expect(accepted).toBe(total);
    const bytes = Buffer.concat(chunks);
    expect(digest.bytes).toBe(bytes.length);
    let count = 0;
    for await (const entry of readArchive(Readable.from([bytes]), {
      source: 'test',
      expectedSha256: digest.sha256,
    })) {
      expect(entry.item?.name).toBe(`cm-${count}`);
      count++;
    }
    expect(count).toBe(total);
  }, 120_000);
});

/** Adds 4 KiB incompressible entries, without reading the output, until one blocks. */
function fillUntilBlocked(writer: ArchiveWriter): { promise: Promise<void>; accepted: () => number } {
  let accepted = 0;
  const promise = (async () => {
    for (;;) {
      await writer.addFile(`blob/${accepted}`, randomBytes(4096));
      accepted++;
    }
  })();
  promise.catch(() => undefined);
  return { promise, accepted: () => accepted };
}

/**
 * Waits until `progress()` stops changing over several polls. Compression runs on the libuv
 * thread pool, so "no progress" can only be observed, not scheduled; a slow machine just
 * polls longer. Assertions made afterwards are upper bounds, which early stalls cannot break.
 */
async function waitForStall(progress: () => number): Promise<void> {
  let last = -1;
  let stable = 0;
  while (stable < 5) {
    await sleep(20);
    const now = progress();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
}
