// `lifeboat backup …`: create, list, describe, logs, download, delete, verify. A thin shell over the
// backup engine and catalog; no logic of its own beyond turning flags into a BackupSpec.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import type { BackupSpec } from '../../backup/spec.js';
import { runBackup, type BackupResult } from '../../backup/engine.js';
import {
  deleteBackup,
  getBackup,
  listBackups,
  readBackupLog,
  openArchiveBytes,
  readResourceList,
  readVolumeInfo,
} from '../../backup/catalog.js';
import { describeVolumes } from '../../volumes/describe.js';
import { toBackupVolumeInfo } from '../../volumes/volume-info.js';
import { fsVolumeInfo } from '../../volumes/fs-volume-info.js';
import { deleteBackupSnapshots } from '../../volumes/delete-snapshots.js';
import { forgetBackupVolumes } from '../../volumes/forget-backup.js';
import { parseLabelSelector, parseOrLabelSelectors } from '../../backup/label-selector.js';
import { act } from '../action.js';
import { age, render, table, UsageError } from '../output.js';
import { createProgress } from '../progress.js';
import { EXIT } from '../exit-codes.js';
import { ANNOTATION_REVISION } from '../../backup/velero-backup.js';
import { describeChecksum } from '../../backup/archive-checksum.js';
import { ANNOTATION_ENCRYPTION_KEY, isEncrypted } from '../../crypto/backup-encryption.js';
import { verifyBackup, type VerifyReport } from '../../backup/verify.js';
import { NO_FS_REPOSITORY } from '../../volumes/phase.js';
import {
  missingRepositoryHint,
  requireResticRepository,
  volumeSpecFromFlags,
  type StorageFlags,
  type VolumeFlags,
} from '../volume-flags.js';

const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

function parseIncludeCluster(v: string | undefined): boolean | undefined {
  if (v === undefined || v === 'auto') return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new UsageError(`--include-cluster-resources must be true, false or auto, not ${JSON.stringify(v)}`);
}

interface CreateFlags extends VolumeFlags {
  includeNamespaces?: string[];
  excludeNamespaces?: string[];
  includeResources?: string[];
  excludeResources?: string[];
  includeClusterScopedResources?: string[];
  excludeClusterScopedResources?: string[];
  includeNamespaceScopedResources?: string[];
  excludeNamespaceScopedResources?: string[];
  includeClusterResources?: string;
  selector?: string;
  orSelector?: string;
  ttl?: string;
  dataMoverImage?: string;
}

/** Flags → Velero BackupSpec (the same mapping as `velero backup create`). */
export function specFromFlags(f: CreateFlags): BackupSpec {
  const includeClusterResources = parseIncludeCluster(f.includeClusterResources);
  return {
    ...(f.includeNamespaces ? { includedNamespaces: f.includeNamespaces } : {}),
    ...(f.excludeNamespaces ? { excludedNamespaces: f.excludeNamespaces } : {}),
    ...(f.includeResources ? { includedResources: f.includeResources } : {}),
    ...(f.excludeResources ? { excludedResources: f.excludeResources } : {}),
    ...(f.includeClusterScopedResources
      ? { includedClusterScopedResources: f.includeClusterScopedResources }
      : {}),
    ...(f.excludeClusterScopedResources
      ? { excludedClusterScopedResources: f.excludeClusterScopedResources }
      : {}),
    ...(f.includeNamespaceScopedResources
      ? { includedNamespaceScopedResources: f.includeNamespaceScopedResources }
      : {}),
    ...(f.excludeNamespaceScopedResources
      ? { excludedNamespaceScopedResources: f.excludeNamespaceScopedResources }
      : {}),
    ...(includeClusterResources !== undefined ? { includeClusterResources } : {}),
    ...(f.selector ? { labelSelector: parseLabelSelector(f.selector) } : {}),
    // Velero: --or-selector "a=b or c=d"
    ...(f.orSelector ? { orLabelSelectors: parseOrLabelSelectors(f.orSelector) } : {}),
    ...(f.ttl ? { ttl: f.ttl } : {}),
    ...volumeSpecFromFlags(f),
  };
}

function summary(r: BackupResult): string {
  const lines = [
    `Backup ${r.name}: ${r.phase}`,
    `  items:      ${r.totalItems}`,
    `  revision:   ${r.revision ?? '-'}`,
    `  expires:    ${r.expiration}`,
  ];
  if (r.sha256) lines.push(`  sha256:     ${r.sha256}`);
  if (r.notPointInTime.length > 0) lines.push(`  not point-in-time: ${r.notPointInTime.join(', ')}`);
  if (r.failureReason) lines.push(`  failure:    ${r.failureReason}`);
  const volumes = [...r.volumes.map(toBackupVolumeInfo), ...r.podVolumes.map(fsVolumeInfo)];
  lines.push(...describeVolumes(volumes).map((l) => `  ${l}`));
  for (const e of r.errors) {
    lines.push(
      `  error: ${e.namespace ? `namespace ${e.namespace}: ` : ''}${e.resource}${e.name ? `/${e.name}` : ''}: ${e.message}`,
    );
  }
  lines.push(...missingRepositoryHint(r.errors, NO_FS_REPOSITORY).map((l) => `  ${l}`));
  return lines.join('\n') + '\n';
}

export function backupCommand(): Command {
  const backup = new Command('backup').description('create and manage backups');

  const create = new Command('create')
    .description('back up cluster objects at one consistent revision')
    .argument('<name>', 'backup name (lower-case letters, digits, - and .)')
    .option('--include-namespaces <list>', 'namespaces to include (wildcards allowed; default all)', list)
    .option('--exclude-namespaces <list>', 'namespaces to exclude', list)
    .option('--include-resources <list>', 'resources to include (plural, short name or resource.group)', list)
    .option('--exclude-resources <list>', 'resources to exclude', list)
    .option('--include-cluster-scoped-resources <list>', 'cluster-scoped resources to include', list)
    .option('--exclude-cluster-scoped-resources <list>', 'cluster-scoped resources to exclude', list)
    .option('--include-namespace-scoped-resources <list>', 'namespace-scoped resources to include', list)
    .option('--exclude-namespace-scoped-resources <list>', 'namespace-scoped resources to exclude', list)
    .addOption(
      new Option('--include-cluster-resources <mode>', 'cluster-scoped objects: true, false or auto').default(
        'auto',
      ),
    )
    .option('-l, --selector <selector>', 'only objects matching this label selector')
    .option('--or-selector <selectors>', 'objects matching any of these selectors, separated by " or "')
    .option('--ttl <duration>', 'how long to keep the backup (Go duration)', '720h')
    .option(
      '--snapshot-volumes [bool]',
      'take a CSI snapshot of each included claim whose driver has a VolumeSnapshotClass (default: yes; =false backs up the claim objects only)',
    )
    .option(
      '--snapshot-move-data [bool]',
      "move each CSI snapshot's data into the location's restic repository through the node agent, then delete the snapshot (needs a StorageLocation with spec.restic)",
    )
    .option(
      '--default-volumes-to-fs-backup [bool]',
      "copy every pod volume with restic through the node agent unless the pod's backup.velero.io/backup-volumes-excludes names it (needs a StorageLocation with spec.restic)",
    )
    .option(
      '--data-mover-image <image>',
      "image of the short-lived pod that mounts a snapshot's temporary claim for --snapshot-move-data (it only waits; default: the lifeboat image)",
    )
    .option('--wait', 'wait for completion (lifeboat always does; accepted for Velero compatibility)')
    .addHelpText(
      'after',
      `
Examples:
  lifeboat backup create shop-before-upgrade --include-namespaces shop
  lifeboat backup create nightly --exclude-namespaces kube-system --ttl 168h
  lifeboat backup create web --include-resources deployments,services -l app=web --storage s3://backups/prod
  lifeboat backup create shop-offsite --include-namespaces shop --snapshot-move-data --storage primary.yaml`,
    );
  create.action(
    act<[string, CreateFlags]>(create, async (ctx, format, name, flags) => {
      const where = create.optsWithGlobals<StorageFlags>();
      const spec = {
        ...specFromFlags(flags),
        ...(where.location ? { storageLocation: where.location } : {}),
      };
      const repository = await ctx.fsRepository();
      // Before anything is written: a copy the flags ask for must have a repository to go to.
      requireResticRepository(spec, { ...where, hasRepository: repository !== undefined });
      const fsBackup = repository
        ? { ...repository, ...(flags.dataMoverImage ? { moverImage: flags.dataMoverImage } : {}) }
        : undefined;
      const progress = createProgress(`backup ${name}`);
      let result: BackupResult;
      try {
        result = await runBackup(
          { name, spec },
          {
            kube: await ctx.kube(),
            store: await ctx.store(),
            log: ctx.log,
            onProgress: (p) => progress.update(p.itemsDone),
            // Pod volumes chosen for file-system copies go to the location's restic repository.
            ...(fsBackup ? { fsBackup } : {}),
          },
        );
      } finally {
        progress.stop();
      }
      process.stdout.write(render(result, format, () => summary(result)));
      if (result.phase === 'Failed') return EXIT.error;
      return result.phase === 'PartiallyFailed' ? EXIT.partial : EXIT.ok;
    }),
  );

  const ls = new Command('list')
    .description('list the backups in the storage location (the bucket is the truth)')
    .addHelpText(
      'after',
      '\nExamples:\n  lifeboat backup list\n  lifeboat backup list -o json --storage s3://backups/prod',
    );
  ls.action(
    act<[]>(ls, async (ctx, format) => {
      const entries = await listBackups(await ctx.store());
      const rows = entries.map((e) => ({
        name: e.name,
        phase: e.backup?.status.phase ?? (e.unreadable ? 'Unreadable' : 'Incomplete'),
        created: e.backup?.status.startTimestamp,
        expires: e.backup?.status.expiration,
        items: e.backup?.status.progress?.totalItems,
        errors: e.backup?.status.errors ?? 0,
        schedule: e.backup?.metadata.labels?.['velero.io/schedule-name'],
      }));
      process.stdout.write(
        render(rows, format, () =>
          table(
            ['NAME', 'STATUS', 'ERRORS', 'ITEMS', 'CREATED', 'EXPIRES', 'SCHEDULE'],
            rows.map((r) => [r.name, r.phase, r.errors, r.items, r.created, r.expires, r.schedule ?? '']),
          ),
        ),
      );
      return EXIT.ok;
    }),
  );

  const describe = new Command('describe')
    .description('show one backup: spec, status, checksum, revision')
    .argument('<name>')
    .option('--details', 'also list every object in the backup')
    .addHelpText('after', '\nExamples:\n  lifeboat backup describe nightly-20261125020000 --details');
  describe.action(
    act<[string, { details?: boolean }]>(describe, async (ctx, format, name, flags) => {
      const store = await ctx.store();
      const b = await getBackup(store, name);
      const resources = flags.details ? await readResourceList(store, name) : undefined;
      const volumes = await readVolumeInfo(store, name);
      const value = {
        backup: b,
        ...(volumes.length > 0 ? { volumes } : {}),
        ...(resources ? { resources } : {}),
      };
      process.stdout.write(
        render(value, format, () => {
          const s = b.status;
          const lines = [
            `Name:        ${b.metadata.name}`,
            `Phase:       ${s.phase}${s.failureReason ? ` (${s.failureReason})` : ''}`,
            `Started:     ${s.startTimestamp ?? ''} (${age(s.startTimestamp)} ago)`,
            `Completed:   ${s.completionTimestamp ?? ''}`,
            `Expires:     ${s.expiration ?? ''}`,
            `Items:       ${s.progress?.totalItems ?? 0}`,
            `Errors:      ${s.errors ?? 0}   Warnings: ${s.warnings ?? 0}`,
            `Revision:    ${b.metadata.annotations?.[ANNOTATION_REVISION] ?? '(not recorded: not a lifeboat backup)'}`,
            `SHA-256:     ${describeChecksum(b)}`,
            `Encryption:  ${
              isEncrypted(b)
                ? `client-side, key ${b.metadata.annotations?.[ANNOTATION_ENCRYPTION_KEY] ?? '(unnamed)'}`
                : 'none (server-side settings of the bucket apart)'
            }`,
            `Spec:        ${JSON.stringify(b.spec)}`,
            ...describeVolumes(volumes),
          ];
          if (resources) {
            lines.push('Resources:');
            for (const [kind, names] of Object.entries(resources)) {
              lines.push(`  ${kind}:`);
              for (const n of names) lines.push(`    - ${n}`);
            }
          }
          return lines.join('\n') + '\n';
        }),
      );
      return EXIT.ok;
    }),
  );

  const logs = new Command('logs')
    .description("print a backup's log")
    .argument('<name>')
    .addHelpText(
      'after',
      '\nExamples:\n  lifeboat backup logs nightly-20261125020000 --storage s3://backups/prod',
    );
  logs.action(
    act<[string]>(logs, async (ctx, _format, name) => {
      process.stdout.write(await readBackupLog(await ctx.store(), name));
      return EXIT.ok;
    }),
  );

  const download = new Command('download')
    .description("save a backup's archive (tar.gz, Velero's layout) to a file")
    .argument('<name>')
    .option('--file <path>', 'where to write it (default: <name>-data.tar.gz)')
    .addHelpText(
      'after',
      '\nExamples:\n  lifeboat backup download shop-before-upgrade --file /tmp/shop.tar.gz',
    );
  download.action(
    act<[string, { file?: string }]>(download, async (ctx, _format, name, flags) => {
      const store = await ctx.store();
      const backup = await getBackup(store, name); // only complete backups
      const file = flags.file ?? `${name}-data.tar.gz`;
      // Decrypted when the backup is encrypted: what is saved is Velero's tar.gz.
      await pipeline(await openArchiveBytes(store, backup), createWriteStream(file));
      process.stdout.write(`Backup ${name} downloaded to ${file}\n`);
      return EXIT.ok;
    }),
  );

  const del = new Command('delete')
    .description('delete every object of a backup (and nothing outside its directory)')
    .argument('<name>')
    .option(
      '--restic <path>',
      "the restic binary (forgets and prunes the backup's restic snapshots)",
      'restic',
    )
    .addHelpText('after', '\nExamples:\n  lifeboat backup delete shop-before-upgrade');
  del.action(
    act<[string]>(del, async (ctx, _format, name) => {
      const store = await ctx.store();
      // The backup's VolumeSnapshots first (the content's deletionPolicy decides the storage
      // snapshot's fate); a cluster out of reach does not keep the bucket copy from going, and
      // the next reconcile pass reports what was left.
      try {
        const snapshots = await deleteBackupSnapshots(await ctx.kube(), name);
        for (const s of snapshots) {
          // A content alone: its VolumeSnapshot went earlier, with its namespace.
          const what =
            s.name === ''
              ? `VolumeSnapshotContent ${s.content ?? '?'}`
              : `VolumeSnapshot ${s.namespace}/${s.name}`;
          process.stdout.write(
            `${what} ${s.name === '' && s.deletionPolicy === 'Retain' ? 'kept' : 'deleted'}` +
              (s.deletionPolicy === 'Retain'
                ? ` (content ${s.content ?? '?'} kept: deletionPolicy Retain)`
                : '') +
              '\n',
          );
        }
      } catch (err) {
        process.stderr.write(
          `warning: could not delete the VolumeSnapshots of backup ${name}: ${err instanceof Error ? err.message : String(err)}\n`,
        );
      }
      // Its restic snapshots while the side file still names their repositories (forget-backup.ts).
      try {
        const { restic } = del.opts<{ restic: string }>();
        for (const f of await forgetBackupVolumes({
          kube: await ctx.kube(),
          store,
          backupName: name,
          restic: { binary: restic },
        })) {
          process.stdout.write(
            `restic snapshots of namespace ${f.namespace} forgotten: ${f.forgotten.length}` +
              (f.pruneError
                ? ` (prune failed, their data stays until the next prune: ${f.pruneError})`
                : '') +
              '\n',
          );
        }
      } catch (err) {
        process.stderr.write(
          `warning: could not forget the restic snapshots of backup ${name} (they stay in their repository): ${err instanceof Error ? err.message : String(err)}\n`,
        );
      }
      const n = await deleteBackup(store, name);
      process.stdout.write(`Backup ${name} deleted (${n} objects)\n`);
      return EXIT.ok;
    }),
  );

  const verify = new Command('verify')
    .description(
      'check a stored backup without restoring it: every object present and matching its checksum, every item parsed, the resource list matching the archive',
    )
    .argument('[name]')
    .option('--all', 'verify every backup in the location')
    .addHelpText(
      'after',
      `
Exits 0 when every backup verified, ${EXIT.unverified} when one did not (the report names the object and the problem).

Examples:
  lifeboat backup verify shop-before-upgrade
  lifeboat backup verify --all -o json --location prod`,
    );
  verify.action(
    act<[string | undefined, { all?: boolean }]>(verify, async (ctx, format, name, flags) => {
      if ((name === undefined) === (flags.all !== true))
        throw new UsageError('backup verify: give a backup NAME or --all (not both)');
      const store = await ctx.store();
      const names = name !== undefined ? [name] : (await listBackups(store)).map((e) => e.name);
      const reports: VerifyReport[] = [];
      for (const n of names) reports.push(await verifyBackup(store, n, { limits: ctx.archiveLimits }));
      process.stdout.write(
        render(name !== undefined ? reports[0] : reports, format, () =>
          reports
            .map((r) =>
              r.ok
                ? `${r.backup}: OK (${r.items} items)\n`
                : `${r.backup}: FAILED${r.phase ? ` (${r.phase})` : ''}\n${r.problems
                    .map((p) => `  ${p.object}: ${p.problem}\n`)
                    .join('')}`,
            )
            .join(''),
        ),
      );
      return reports.every((r) => r.ok) ? EXIT.ok : EXIT.unverified;
    }),
  );

  for (const c of [create, ls, describe, logs, download, del, verify]) backup.addCommand(c);
  return backup;
}
