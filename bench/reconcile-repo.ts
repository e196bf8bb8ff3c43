// The reconcile benchmark's world: a policy repository (a bare Git remote) with one local
// StorageLocation and N BackupSchedules that are not due, and a local store holding existing
// backups of those schedules, written through the product's storage layer. Nothing here needs
// a cluster: a pass with nothing due never asks for one.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { createArchiveWriter } from '../src/archive/writer.js';
import { ANNOTATION_SHA256, buildVeleroBackup } from '../src/backup/velero-backup.js';
import { SCHEDULE_LABEL, scheduledBackupName } from '../src/reconcile/naming.js';
import { backupLayout } from '../src/storage/layout.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { git } from '../test/gitops-fixture.js';

export interface ReconcileWorld {
  /** The bare repository: `--repo`. */
  remote: string;
  /** A plain checkout of the policies: what `lifeboat validate` reads. */
  policies: string;
  /** `--data-dir`: the StorageLocation's relative path resolves against it. */
  dataDir: string;
  /** The reconciler's checkout: `--workdir`. */
  workdir: string;
}

const DAY_MS = 86_400_000;
/** The location's directory under the data dir. */
const LOCATION_PATH = 'backups';

export function scheduleName(i: number): string {
  return `team-${String(i).padStart(4, '0')}-nightly`;
}

/**
 * A yearly slot (1 January, at a minute and hour of its own) with skipImmediately: the first pass
 * records when each schedule was first seen, and no slot falls between it and the next passes
 * unless the benchmark runs across New Year's midnight. The benchmark checks that nothing ran.
 */
function scheduleDocument(i: number): string {
  return stringify({
    apiVersion: 'lifeboat.dev/v1',
    kind: 'BackupSchedule',
    metadata: { name: scheduleName(i) },
    spec: {
      schedule: `${i % 60} ${i % 24} 1 1 *`,
      timeZone: i % 2 === 0 ? 'UTC' : 'Europe/Berlin',
      skipImmediately: true,
      // More than any schedule holds here, so retention is computed and deletes nothing.
      retention: { keepLast: 60, keepDaily: 60 },
      template: {
        includedNamespaces: [`team-${i}`],
        excludedResources: ['events'],
        ttl: '8760h',
      },
    },
  });
}

const LOCATION = stringify({
  apiVersion: 'lifeboat.dev/v1',
  kind: 'StorageLocation',
  metadata: { name: 'primary' },
  spec: { provider: 'local', path: LOCATION_PATH, default: true },
});

/** Write the policies into a directory, commit them and push them to a new bare remote. */
async function createRepository(
  root: string,
  schedules: number,
): Promise<{ remote: string; policies: string }> {
  const remote = join(root, 'remote.git');
  const policies = join(root, 'policies');
  await git(root, ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
  await mkdir(join(policies, 'schedules'), { recursive: true });
  await mkdir(join(policies, 'storage-locations'), { recursive: true });
  await writeFile(join(policies, 'storage-locations', 'primary.yaml'), LOCATION);
  for (let i = 0; i < schedules; i++) {
    await writeFile(join(policies, 'schedules', `${scheduleName(i)}.yaml`), scheduleDocument(i));
  }
  await git(policies, ['init', '--quiet', '--initial-branch=main']);
  await git(policies, ['add', '--all']);
  await git(policies, ['commit', '--quiet', '-m', `${schedules} schedules`]);
  await git(policies, ['push', '--quiet', remote, 'main']);
  return { remote, policies };
}

/**
 * `count` completed backups spread over the schedules round-robin, one day apart per schedule,
 * each with a small real archive (only metadata/version), an empty resource list and log, and
 * its velero-backup.json written last, as a backup is.
 */
async function createBackups(dataDir: string, opts: { count: number; schedules: number; now: Date }) {
  const store = new LocalDirStore({ root: join(dataDir, LOCATION_PATH), create: true });
  const writer = createArchiveWriter();
  const chunks: Buffer[] = [];
  writer.output.on('data', (c: Buffer) => chunks.push(c));
  await writer.addFile('metadata/version', '1.1.0\n');
  const digest = await writer.finish();
  const archiveBytes = Buffer.concat(chunks);
  const emptyList = gzipSync('{}');
  const emptyLog = gzipSync('');
  const today = Math.floor(opts.now.getTime() / DAY_MS) * DAY_MS;
  for (let k = 0; k < opts.count; k++) {
    const i = k % opts.schedules;
    const schedule = scheduleName(i);
    const start = new Date(today - (Math.floor(k / opts.schedules) + 1) * DAY_MS + (i % 1440) * 60_000);
    const name = scheduledBackupName(schedule, start);
    const backup = buildVeleroBackup({
      name,
      spec: {
        includedNamespaces: [`team-${i}`],
        excludedResources: ['events'],
        ttl: '8760h',
        storageLocation: 'primary',
      },
      labels: { [SCHEDULE_LABEL]: schedule },
      annotations: { [ANNOTATION_SHA256]: digest.sha256 },
      phase: 'Completed',
      start,
      completion: new Date(start.getTime() + 2000),
      totalItems: 0,
    });
    await store.put(backupLayout.archive(name), archiveBytes);
    await store.put(backupLayout.resourceList(name), emptyList);
    await store.put(backupLayout.log(name), emptyLog);
    await store.put(backupLayout.metadata(name), JSON.stringify(backup, null, 2));
  }
}

export async function createReconcileWorld(
  root: string,
  opts: { schedules: number; backups: number; now?: Date },
): Promise<ReconcileWorld> {
  await mkdir(root, { recursive: true });
  const { remote, policies } = await createRepository(root, opts.schedules);
  const dataDir = join(root, 'data');
  await createBackups(dataDir, {
    count: opts.backups,
    schedules: opts.schedules,
    now: opts.now ?? new Date(),
  });
  return { remote, policies, dataDir, workdir: join(root, 'work') };
}
