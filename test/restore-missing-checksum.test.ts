// A lifeboat backup records its archive's sha256 in velero-backup.json, and a restore verifies
// it. Removing that annotation used to switch verification off silently. Now a lifeboat backup
// without it is refused (unless --allow-missing-checksum), while a Velero backup, which never
// has one, is restored with a warning in the plan; `backup describe` says which it is.
import { beforeAll, describe, expect, it } from 'vitest';
import { planRestore } from '../src/restore/engine.js';
import { renderPlanMarkdown } from '../src/restore/plan-render.js';
import { MissingChecksumError } from '../src/backup/archive-checksum.js';
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
} from './fixtures/restore-fixtures.js';
import {
  asServed,
  putBackup,
  tarGz,
  veleroArchiveFiles,
  veleroBackupJson,
} from './fixtures/velero-archives.js';

let world: RestoreWorld;
let ns: string;
/** A lifeboat backup of `ns` whose velero-backup.json lost its checksum annotation. */
let stripped: string;
/** A backup of `ns` as Velero writes it. */
let veleroMade: string;

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  world = await localWorld();
  ns = uniqueName('cksum');
  const cm = configMap(ns, 'settings', { color: 'blue' });
  await createAll(world.kube, [
    { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
    cm,
  ]);
  const backup = await backupOf(world, { includedNamespaces: [ns] });

  // The same archive, its metadata without lifeboat.dev/archive-sha256 (edited in the bucket).
  stripped = uniqueName('stripped');
  const metadata = structuredClone(await getBackup(world.store, backup.name));
  metadata.metadata.name = stripped;
  delete metadata.metadata.annotations?.['lifeboat.dev/archive-sha256'];
  await putBackup(world.store, {
    name: stripped,
    archive: await readAll(await world.store.get(backupLayout.archive(backup.name))),
    backupJson: metadata,
  });

  veleroMade = uniqueName('velero');
  const live = await read(world.kube, cm);
  await putBackup(world.store, {
    name: veleroMade,
    archive: await tarGz(
      veleroArchiveFiles([
        { groupResource: 'configmaps', object: asServed(live ?? cm.obj), placement: 'preferred' },
      ]),
    ),
    backupJson: veleroBackupJson({ name: veleroMade, includedNamespaces: [ns], totalItems: 1 }),
  });
  await deleteNamespaces(world.kube, [ns]);
  return () => world.close();
}, 180_000);

describe('a lifeboat backup whose checksum was removed', () => {
  it('is refused, naming the backup, before its archive is read', async () => {
    const err = await planRestore(
      { name: uniqueName('r'), spec: { backupName: stripped } },
      world.deps(),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingChecksumError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^backup ${stripped}: velero-backup.json records no archive checksum \\(lifeboat.dev/archive-sha256\\)`,
      ),
    );
    const cli = await runCli([
      ...cliGlobals(world),
      'restore',
      'plan',
      uniqueName('r'),
      '--from-backup',
      stripped,
    ]);
    expect(cli.code).toBe(EXIT.error);
    expect(cli.stdout).toBe('');
    expect(cli.stderr).toContain(`error: backup ${stripped}: velero-backup.json records no archive checksum`);
    expect(cli.stderr).toContain('--allow-missing-checksum');
  });

  it('is planned unverified with --allow-missing-checksum, and the plan says so', async () => {
    const cli = await runCli([
      ...cliGlobals(world),
      '--allow-missing-checksum',
      'restore',
      'plan',
      uniqueName('r'),
      '--from-backup',
      stripped,
    ]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(EXIT.ok);
    expect(cli.stdout).toContain(
      '| Backup checksum | none recorded (lifeboat backup whose checksum was removed; not verified) |',
    );
    expect(cli.stdout).toContain(
      `> Warning: backup ${stripped} was made by lifeboat but records no checksum`,
    );
  });

  it('is shown as missing by backup describe', async () => {
    const cli = await runCli([...cliGlobals(world), 'backup', 'describe', stripped]);
    expect(cli.code).toBe(EXIT.ok);
    expect(cli.stdout).toMatch(/^SHA-256: +MISSING: a lifeboat backup without its checksum/m);
  });
});

describe('a Velero backup, which records no checksum', () => {
  it('is planned with a warning, and the checksum cell says why it is empty', async () => {
    const { plan } = await planRestore(
      { name: uniqueName('r'), spec: { backupName: veleroMade } },
      world.deps(),
    );
    expect(plan.summary.total.create).toBe(2); // the ConfigMap and its namespace
    expect(plan.backupMadeBy).toBe('velero');
    expect(plan.warnings).toEqual([
      `backup ${veleroMade} was made by Velero, which records no checksum: the archive is not verified`,
    ]);
    const md = renderPlanMarkdown(plan);
    expect(md).toContain('| Backup checksum | none recorded (Velero backup) |');
    expect(md).toContain(`> Warning: backup ${veleroMade} was made by Velero, which records no checksum`);
  });

  it('is described as a Velero backup', async () => {
    const cli = await runCli([...cliGlobals(world), 'backup', 'describe', veleroMade]);
    expect(cli.code).toBe(EXIT.ok);
    expect(cli.stdout).toMatch(/^SHA-256: +none recorded \(Velero backup\)$/m);
  });
});
