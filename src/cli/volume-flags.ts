// The volume flags of `lifeboat backup create`, as Velero's CLI spells them: --snapshot-volumes,
// --snapshot-move-data and --default-volumes-to-fs-backup, each alone (true) or with =true/=false;
// and the CLI's checks that restic copies and fills have a repository (only a StorageLocation
// document names one). Checked before a backup or restore starts, so a contradiction or a copy
// with nowhere to go is a usage error naming the flag or the volumes, not a half-done run.
import type { BackupSpec } from '../backup/spec.js';
import type { RestorePlan } from '../restore/plan.js';
import { isLocationFile } from './location-document.js';
import { UsageError } from './output.js';

/** commander's value of an optional-value flag: true when given alone, else the text after it. */
type FlagValue = string | boolean | undefined;

export interface VolumeFlags {
  snapshotVolumes?: FlagValue;
  snapshotMoveData?: FlagValue;
  defaultVolumesToFsBackup?: FlagValue;
}

export type VolumeSpec = Pick<
  BackupSpec,
  'snapshotVolumes' | 'snapshotMoveData' | 'defaultVolumesToFsBackup'
>;

function booleanFlag(flag: string, value: FlagValue): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  // commander takes the word after an optional-value flag as its value: often the backup's name.
  throw new UsageError(
    `${flag} takes true or false, not ${JSON.stringify(value)} (write ${flag} or ${flag}=false, and the backup name before the flags)`,
  );
}

/** The flags as BackupSpec fields (only those given); contradictions are usage errors. */
export function volumeSpecFromFlags(f: VolumeFlags): VolumeSpec {
  const snapshotVolumes = booleanFlag('--snapshot-volumes', f.snapshotVolumes);
  const snapshotMoveData = booleanFlag('--snapshot-move-data', f.snapshotMoveData);
  const defaultVolumesToFsBackup = booleanFlag('--default-volumes-to-fs-backup', f.defaultVolumesToFsBackup);
  if (snapshotMoveData === true && snapshotVolumes === false) {
    throw new UsageError(
      '--snapshot-move-data moves the data of the CSI snapshots the backup takes, and --snapshot-volumes=false takes none: drop one of them',
    );
  }
  return {
    ...(snapshotVolumes !== undefined ? { snapshotVolumes } : {}),
    ...(snapshotMoveData !== undefined ? { snapshotMoveData } : {}),
    ...(defaultVolumesToFsBackup !== undefined ? { defaultVolumesToFsBackup } : {}),
  };
}

/** Where the command line says backups go: what the restic check names in its error. */
export interface StorageFlags {
  storage?: string;
  location?: string;
}

/**
 * A backup whose flags ask for restic copies needs the location's restic repository, which only a
 * StorageLocation document carries (spec.restic: the password Secret, and spec.credential's Secret
 * of the S3 keys the node agent reads). Without one the backup is refused before anything is
 * written, saying which flag asked for it and how to name a repository (ADR 0039).
 */
export function requireResticRepository(
  spec: VolumeSpec,
  o: StorageFlags & { hasRepository: boolean },
): void {
  if (o.hasRepository) return;
  const asking = [
    ...(spec.snapshotMoveData === true ? ['--snapshot-move-data'] : []),
    ...(spec.defaultVolumesToFsBackup === true ? ['--default-volumes-to-fs-backup'] : []),
  ];
  if (asking.length === 0) return;
  throw new UsageError(
    `${asking.join(' and ')} ${asking.length > 1 ? 'copy' : 'copies'} volume data with restic into the location's restic repository, but ${whereWithoutRestic(o)}. ` +
      'Name a StorageLocation with spec.restic (its password Secret, and spec.credential.secretRef for the S3 keys the node agent reads): --storage FILE.yaml, or --location NAME --policies DIR',
  );
}

function whereWithoutRestic(o: StorageFlags): string {
  if (o.storage === undefined && o.location !== undefined)
    return `StorageLocation ${o.location} (--location) has no spec.restic`;
  const storage = o.storage ?? process.env.LIFEBOAT_STORAGE;
  if (storage === undefined) return 'the default directory location has no restic repository';
  if (isLocationFile(storage)) return `the StorageLocation in ${storage} (--storage) has no spec.restic`;
  if (storage.startsWith('s3://'))
    return '--storage s3://… carries no restic settings (its S3 keys come from this process, which the node agent cannot read)';
  return `--storage ${storage} is a directory, which holds no restic repository`;
}

/**
 * A hint under a backup whose pod volumes (chosen by annotation) failed for want of a restic
 * repository, when the command line named none: the same way out as above.
 */
export function missingRepositoryHint(
  errors: readonly { message: string }[],
  noRepository: string,
): string[] {
  if (!errors.some((e) => e.message.includes(noRepository))) return [];
  return [
    'hint: pod volumes chosen for file-system copies need a restic repository: name a StorageLocation with spec.restic (--storage FILE.yaml, or --location NAME --policies DIR)',
  ];
}

/** What a restore plan fills from restic: moved claims and pod volumes, by name. */
export function resticFillsOf(plan: Pick<RestorePlan, 'volumes' | 'items'>): string[] {
  return [
    ...(plan.volumes ?? [])
      .filter((v) => v.action === 'create-from-copy')
      .map((v) => `claim ${v.namespace}/${v.claim}`),
    ...plan.items.flatMap((i) =>
      (i.podVolumes ?? [])
        .filter((v) => v.action === 'restore')
        .map((v) => `volume ${v.volume} of pod ${i.namespace}/${i.name}`),
    ),
  ];
}

function fillMessage(fills: string[], where: StorageFlags): string {
  const shown = fills.slice(0, 5).join(', ') + (fills.length > 5 ? ` and ${fills.length - 5} more` : '');
  return (
    `the restore fills ${shown} from the backup's restic repository, but ${whereWithoutRestic(where)}. ` +
    'Name the StorageLocation with spec.restic: --storage FILE.yaml, or --location NAME --policies DIR'
  );
}

/** `restore apply`: refused before anything is applied when restic fills have no repository. */
export function requireFillRepository(
  plan: Pick<RestorePlan, 'volumes' | 'items'>,
  o: StorageFlags & { hasRepository: boolean },
): void {
  if (o.hasRepository) return;
  const fills = resticFillsOf(plan);
  if (fills.length > 0) throw new UsageError(fillMessage(fills, o));
}

/** `restore plan`: the same finding as a warning, the plan still shown. */
export function fillRepositoryWarning(
  plan: Pick<RestorePlan, 'volumes' | 'items'>,
  o: StorageFlags & { hasRepository: boolean },
): string | undefined {
  if (o.hasRepository) return undefined;
  const fills = resticFillsOf(plan);
  return fills.length > 0 ? `warning: ${fillMessage(fills, o)}` : undefined;
}
