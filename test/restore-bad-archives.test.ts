// Archives in the store are untrusted: garbage, a truncated upload, flipped bytes, a tar whose
// entries climb out of the archive, an archive that is not the one the backup recorded. Each
// is refused while planning with an error that names the archive, before anything is decided,
// so nothing is created in the cluster — even from the valid entries ahead of the bad one.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { ArchiveError } from '../src/archive/reader.js';
import { getBackup } from '../src/backup/catalog.js';
import { backupLayout } from '../src/storage/layout.js';
import { EXIT } from '../src/cli/exit-codes.js';
import {
  backupOf,
  cliGlobals,
  configMap,
  createAll,
  deleteNamespaces,
  localWorld,
  read,
  runCli,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';
import { putBackup, tarGz, veleroArchiveFiles, type TarFile } from './fixtures/velero-archives.js';

let world: RestoreWorld;
let ns: string;
let validBackup: { metadata: object; archive: Buffer };
const settings = (): Seeded => configMap(ns, 'settings', {});
const namespaceOf = (): Seeded => ({
  gr: 'namespaces',
  obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
});

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  world = await localWorld();
  ns = uniqueName('badarch');
  await createAll(world.kube, [
    namespaceOf(),
    configMap(ns, 'settings', { color: 'blue' }),
    configMap(ns, 'other', { a: 'b' }),
  ]);
  const backup = await backupOf(world, { includedNamespaces: [ns] });
  validBackup = {
    metadata: await getBackup(world.store, backup.name),
    archive: await readAll(await world.store.get(backupLayout.archive(backup.name))),
  };
  await deleteNamespaces(world.kube, [ns]);
  return () => world.close();
});

/** Store `archive` as backup `name` beside a copy of the valid backup's velero-backup.json. */
async function storeBackup(archive: Buffer, opts: { keepChecksum?: boolean } = {}): Promise<string> {
  const name = uniqueName('bad');
  const metadata = structuredClone(validBackup.metadata) as {
    metadata: { name: string; annotations: Record<string, string> };
  };
  metadata.metadata.name = name;
  // Without the checksum the archive's own problems are what the reader meets: as with an
  // archive Velero wrote, so none of lifeboat's annotations either (a lifeboat backup that
  // lost its checksum is refused before its archive is read, restore-missing-checksum.test.ts);
  // with it, any change to the bytes is caught.
  if (!opts.keepChecksum) {
    for (const key of Object.keys(metadata.metadata.annotations)) {
      if (key.startsWith('lifeboat.dev/')) delete metadata.metadata.annotations[key];
    }
  }
  await putBackup(world.store, { name, archive, backupJson: metadata });
  return name;
}

/** Planning and applying both refuse with an ArchiveError naming the archive; nothing appears. */
async function expectRefused(name: string, problem: RegExp): Promise<void> {
  const where = `${world.store.describe}/${backupLayout.archive(name)}`;
  const spec = { backupName: name };
  const planError = await planRestore({ name: uniqueName('r'), spec }, world.deps()).catch((e: unknown) => e);
  expect(planError).toBeInstanceOf(ArchiveError);
  expect((planError as Error).message).toContain(`archive ${where}: `);
  expect((planError as Error).message).toMatch(problem);

  const restoreName = uniqueName('r');
  const applyError = await applyRestore({ name: restoreName, spec }, world.deps()).catch((e: unknown) => e);
  expect(applyError).toBeInstanceOf(ArchiveError);
  expect(await read(world.kube, namespaceOf())).toBeNull();
  expect(await read(world.kube, settings())).toBeNull();
  expect(await world.store.exists(`restores/${restoreName}/lifeboat-restore.json`)).toBe(false);
}

/** The valid backup's entries, with `extra` entries after the first two valid items. */
async function validEntriesThen(extra: TarFile[]): Promise<Buffer> {
  const files = veleroArchiveFiles([
    { groupResource: 'namespaces', object: namespaceOf().obj, placement: 'preferred' },
    {
      groupResource: 'configmaps',
      object: configMap(ns, 'settings', { color: 'blue' }).obj,
      placement: 'preferred',
    },
  ]);
  return tarGz([...files, ...extra]);
}

afterEach(async () => {
  // Every case must leave the cluster untouched.
  expect(await read(world.kube, namespaceOf())).toBeNull();
});

describe('a restore from a bad archive', () => {
  it('refuses bytes that are not gzip', async () => {
    await expectRefused(await storeBackup(randomBytes(4096)), /not a gzip archive/);
  });

  it('refuses an empty archive', async () => {
    await expectRefused(await storeBackup(Buffer.alloc(0)), /empty \(0 bytes\)/);
  });

  it('refuses a truncated archive', async () => {
    const half = validBackup.archive.subarray(0, Math.floor(validBackup.archive.length / 2));
    await expectRefused(await storeBackup(half), /truncated/);
  });

  it('refuses an archive with corrupted bytes', async () => {
    const corrupt = Buffer.from(validBackup.archive);
    // Past the gzip header: the deflate data (or its CRC) no longer checks out.
    for (let i = 40; i < corrupt.length - 8; i += 97) corrupt[i] = (corrupt[i] ?? 0) ^ 0xff;
    await expectRefused(await storeBackup(corrupt), /corrupt gzip data/);
  });

  it('refuses an archive that differs from the checksum the backup recorded', async () => {
    // A well-formed archive, but not the one that was backed up (swapped or tampered with).
    const other = await validEntriesThen([]);
    await expectRefused(await storeBackup(other, { keepChecksum: true }), /sha256 mismatch/);
  });

  it('refuses entries that climb out of the archive with ..', async () => {
    const traversal = await validEntriesThen([
      { path: `resources/configmaps/namespaces/${ns}/../../../../../../tmp/evil.json`, content: '{}' },
    ]);
    await expectRefused(await storeBackup(traversal), /escapes the archive/);
  });

  it('refuses absolute entry paths, and the CLI says which archive', async () => {
    const absolute = await validEntriesThen([{ path: '/etc/cron.d/evil.json', content: '{}' }]);
    const name = await storeBackup(absolute);
    await expectRefused(name, /escapes the archive/);
    const cli = await runCli([
      ...cliGlobals(world),
      'restore',
      'plan',
      uniqueName('r'),
      '--from-backup',
      name,
    ]);
    expect(cli.code).toBe(EXIT.error);
    expect(cli.stdout).toBe('');
    expect(cli.stderr).toContain(`error: archive ${world.store.describe}/${backupLayout.archive(name)}: `);
    expect(cli.stderr).toContain('escapes the archive');
  });
});
