// An archive in the bucket is untrusted, and gzip multiplies: a few MB of it can expand to
// gigabytes of tar. Planning a restore from such a "bomb" must stop at the first entry past a
// limit, with an error naming the archive and the entry, holding no more than one bounded
// entry in memory meanwhile — not grow until the reconciler's 512 MiB container is killed.
// The same for JSON nested so deeply that walking it would overflow the stack.
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRestore } from '../src/restore/engine.js';
import { ArchiveError, DEFAULT_ARCHIVE_LIMITS } from '../src/archive/reader.js';
import { backupLayout } from '../src/storage/layout.js';
import { EXIT } from '../src/cli/exit-codes.js';
import { cliGlobals, runCli, s3World, uniqueName, type RestoreWorld } from './fixtures/restore-fixtures.js';
import { putBackup, veleroBackupJson } from './fixtures/velero-archives.js';
import { describeGrowth, MB, measureMemory } from './fixtures/memory.js';

let world: RestoreWorld;

beforeAll(async () => {
  world = await s3World();
});
afterAll(() => world?.close());

/** A ConfigMap's JSON whose one value is `valueBytes` long: big, and compressing ~1000:1. */
function hugeConfigMap(ns: string, name: string, valueBytes: number): Buffer {
  const head = JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns },
  }).slice(0, -1);
  const prefix = Buffer.from(`${head},"data":{"v":"`);
  const suffix = Buffer.from('"}}');
  const out = Buffer.alloc(prefix.length + valueBytes + suffix.length, 'a');
  prefix.copy(out, 0);
  suffix.copy(out, out.length - suffix.length);
  return out;
}

/**
 * A tar.gz of `count` entries that all hold `content`, streamed through gzip so that the test
 * itself never holds the expanded archive: gigabytes of tar become a few MB.
 */
async function bomb(entries: {
  path: (i: number) => string;
  content: Buffer;
  count: number;
}): Promise<Buffer> {
  const tar = pack();
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    gzip.on('data', (c: Buffer) => chunks.push(c));
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  tar.pipe(gzip);
  for (let i = 0; i < entries.count; i++) {
    await new Promise<void>((resolve, reject) =>
      tar.entry(
        { name: entries.path(i), size: entries.content.length, type: 'file' },
        entries.content,
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Store `archive` as a Velero-made backup (no checksum recorded) and return its name. */
async function storeBomb(archive: Buffer, ns: string): Promise<string> {
  const name = uniqueName('bomb');
  await putBackup(world.store, {
    name,
    archive,
    backupJson: veleroBackupJson({ name, includedNamespaces: [ns], totalItems: 1 }),
  });
  return name;
}

const where = (backup: string): string => `${world.store.describe}/${backupLayout.archive(backup)}`;

describe('planning a restore from a gzip bomb', () => {
  it('stops at the first entry over the size limit, naming it, with bounded memory', async () => {
    const ns = uniqueName('bomb');
    // 24 entries of 56 MiB each: 1.3 GB of tar in about 1.3 MB of gzip. Each entry is under
    // the reader's old 64 MiB cap, which let every one through to be parsed and planned.
    const archive = await bomb({
      count: 24,
      content: hugeConfigMap(ns, 'big', 56 * MB),
      path: (i) => `resources/configmaps/namespaces/${ns}/big-${i}.json`,
    });
    expect(archive.length).toBeLessThan(4 * MB);
    const name = await storeBomb(archive, ns);

    const measured = await measureMemory(() =>
      planRestore({ name: uniqueName('r'), spec: { backupName: name } }, world.deps()).catch(
        (e: unknown) => e,
      ),
    );
    const err = measured.result;
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as Error).message).toBe(
      `archive ${where(name)}: entry resources/configmaps/namespaces/${ns}/big-0.json is ` +
        `${56 * MB + hugeConfigMap(ns, 'big', 0).length} bytes, over the limit of ` +
        `${DEFAULT_ARCHIVE_LIMITS.maxEntryBytes} (--max-item-bytes); no Kubernetes object is that large`,
    );
    // One entry at most is read, and the limit is 8 MiB.
    expect(measured.memoryGrowth, describeGrowth(measured)).toBeLessThan(32 * MB);
  }, 300_000);

  it('stops when the whole archive expands past --max-archive-bytes, naming the entry reached', async () => {
    const ns = uniqueName('bomb');
    // Entries each within the item limit, 20 × 7 MiB = 140 MiB in all, against a 64 MiB limit.
    const archive = await bomb({
      count: 20,
      content: hugeConfigMap(ns, 'mid', 7 * MB),
      path: (i) => `resources/configmaps/namespaces/${ns}/mid-${i}.json`,
    });
    const name = await storeBomb(archive, ns);
    const cli = await runCli(
      [
        ...cliGlobals(world),
        'restore',
        'plan',
        uniqueName('r'),
        '--from-backup',
        name,
        '--max-archive-bytes',
        String(64 * MB),
      ],
      world.cliEnv,
    );
    expect(cli.code).toBe(EXIT.error);
    expect(cli.stdout).toBe('');
    // 9 entries (header and content, 7 MiB + 512 bytes each) fit in 64 MiB; the 10th does not.
    expect(cli.stderr).toBe(
      `error: archive ${where(name)}: expands to more than ${64 * MB} bytes at entry ` +
        `resources/configmaps/namespaces/${ns}/mid-9.json; a larger archive needs a higher limit (--max-archive-bytes)\n`,
    );
  }, 300_000);

  it('refuses more entries than --max-archive-entries, naming the first one past it', async () => {
    const ns = uniqueName('bomb');
    const archive = await bomb({
      count: 50,
      content: hugeConfigMap(ns, 'small', 10),
      path: (i) => `resources/configmaps/namespaces/${ns}/small-${i}.json`,
    });
    const name = await storeBomb(archive, ns);
    const err = await planRestore(
      { name: uniqueName('r'), spec: { backupName: name } },
      world.deps({ archiveLimits: { maxEntries: 40 } }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as Error).message).toBe(
      `archive ${where(name)}: more than 40 entries (at resources/configmaps/namespaces/${ns}/small-40.json); ` +
        'a larger archive needs a higher entry limit (--max-archive-entries)',
    );
  }, 120_000);
});

describe('planning a restore from deeply nested JSON', () => {
  it('refuses the entry by name instead of overflowing the stack', async () => {
    const ns = uniqueName('deep');
    const depth = 100_000;
    const deep = Buffer.from(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'deep', namespace: ns },
      }).slice(0, -1) + `,"data":{"v":"x"},"extra":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    );
    const path = `resources/configmaps/namespaces/${ns}/deep.json`;
    const name = await storeBomb(await bomb({ count: 1, content: deep, path: () => path }), ns);
    const err = await planRestore({ name: uniqueName('r'), spec: { backupName: name } }, world.deps()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as Error).message).toBe(
      `archive ${where(name)}: entry ${path} nests objects and arrays deeper than ${DEFAULT_ARCHIVE_LIMITS.maxJsonDepth} levels`,
    );
  }, 120_000);
});
