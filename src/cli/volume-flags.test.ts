import { afterEach, describe, expect, it, vi } from 'vitest';
import { backupCommand, specFromFlags } from './commands/backup.js';
import { UsageError } from './output.js';
import {
  fillRepositoryWarning,
  missingRepositoryHint,
  requireFillRepository,
  requireResticRepository,
  resticFillsOf,
  volumeSpecFromFlags,
} from './volume-flags.js';
import type { RestorePlan } from '../restore/plan.js';
import { NO_FS_REPOSITORY } from '../volumes/phase.js';

/** `lifeboat backup create ARGS` as commander parses it, turned into a BackupSpec. */
function specOf(args: string[]): ReturnType<typeof specFromFlags> {
  const create = backupCommand().commands.find((c) => c.name() === 'create');
  if (!create) throw new Error('backup create is missing');
  create.parseOptions(args);
  return specFromFlags(create.opts());
}

describe('backup create: the volume flags', () => {
  it('reads each flag alone as true and with =true/=false as given, as Velero does', () => {
    expect(specOf(['b', '--snapshot-move-data'])).toMatchObject({ snapshotMoveData: true });
    expect(specOf(['b', '--default-volumes-to-fs-backup'])).toMatchObject({ defaultVolumesToFsBackup: true });
    expect(specOf(['b', '--snapshot-volumes=false'])).toMatchObject({ snapshotVolumes: false });
    expect(specOf(['b', '--snapshot-move-data=false', '--snapshot-volumes=true'])).toMatchObject({
      snapshotMoveData: false,
      snapshotVolumes: true,
    });
    // Not given: not in the spec (the backup's defaults apply).
    const none = specOf(['b']);
    expect(none).not.toHaveProperty('snapshotMoveData');
    expect(none).not.toHaveProperty('snapshotVolumes');
    expect(none).not.toHaveProperty('defaultVolumesToFsBackup');
  });

  it('refuses a value other than true or false, naming the flag (such as the backup name after it)', () => {
    expect(() => specOf(['--snapshot-move-data', 'b'])).toThrow(UsageError);
    expect(() => volumeSpecFromFlags({ defaultVolumesToFsBackup: 'yes' })).toThrow(
      /--default-volumes-to-fs-backup takes true or false, not "yes"/,
    );
  });

  it('refuses moving snapshot data when no snapshots are taken', () => {
    expect(() => specOf(['b', '--snapshot-move-data', '--snapshot-volumes=false'])).toThrow(
      /--snapshot-move-data moves the data of the CSI snapshots the backup takes, and --snapshot-volumes=false takes none/,
    );
  });
});

describe('backup create: a restic copy needs a restic repository', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('lets a backup that asks for no copy run anywhere, and one that does run with a repository', () => {
    expect(() => requireResticRepository({ snapshotVolumes: true }, { hasRepository: false })).not.toThrow();
    expect(() =>
      requireResticRepository({ snapshotMoveData: false }, { hasRepository: false }),
    ).not.toThrow();
    expect(() =>
      requireResticRepository({ snapshotMoveData: true }, { storage: 'primary.yaml', hasRepository: true }),
    ).not.toThrow();
  });

  it.each([
    [{ storage: 's3://backups/prod?endpoint=http://s3:9000' }, '--storage s3://… carries no restic settings'],
    [{ storage: 'primary.yaml' }, 'the StorageLocation in primary.yaml (--storage) has no spec.restic'],
    [{ location: 'primary' }, 'StorageLocation primary (--location) has no spec.restic'],
    [{ storage: '/var/backups' }, '--storage /var/backups is a directory, which holds no restic repository'],
    [{}, 'the default directory location has no restic repository'],
  ])('refuses it before anything is written, saying why and what to use instead (%j)', (where, why) => {
    vi.stubEnv('LIFEBOAT_STORAGE', undefined);
    const refuse = () =>
      requireResticRepository(
        { snapshotMoveData: true, defaultVolumesToFsBackup: true },
        { ...where, hasRepository: false },
      );
    expect(refuse).toThrow(UsageError);
    expect(refuse).toThrow(why);
    expect(refuse).toThrow(
      /^--snapshot-move-data and --default-volumes-to-fs-backup copy volume data with restic/,
    );
    expect(refuse).toThrow('--storage FILE.yaml, or --location NAME --policies DIR');
  });

  it('names $LIFEBOAT_STORAGE when it stands in for --storage', () => {
    vi.stubEnv('LIFEBOAT_STORAGE', 's3://backups/env');
    expect(() =>
      requireResticRepository({ defaultVolumesToFsBackup: true }, { hasRepository: false }),
    ).toThrow(/^--default-volumes-to-fs-backup copies .* --storage s3:\/\/… carries no restic settings/);
  });

  it('adds a hint under a backup whose annotated pod volumes failed for want of a repository', () => {
    expect(
      missingRepositoryHint([{ message: `volume data: ${NO_FS_REPOSITORY}` }], NO_FS_REPOSITORY),
    ).toEqual([expect.stringContaining('--storage FILE.yaml, or --location NAME --policies DIR')]);
    expect(missingRepositoryHint([{ message: 'forbidden' }], NO_FS_REPOSITORY)).toEqual([]);
  });
});

describe('restore: restic fills need a restic repository', () => {
  const copy = { sourceNamespace: 'shop', snapshotId: 'a'.repeat(64), files: 3, dirs: 1, bytes: 10 };
  const plan = {
    volumes: [
      { namespace: 'shop', claim: 'data', action: 'create-from-copy', copy },
      { namespace: 'shop', claim: 'logs', action: 'create-from-snapshot' },
      { namespace: 'shop', claim: 'kept', action: 'skip', copy },
    ],
    items: [
      {
        groupResource: 'pods',
        namespace: 'shop',
        name: 'app',
        podVolumes: [
          { volume: 'cache', action: 'restore', ...copy },
          { volume: 'tmp', action: 'skip', ...copy },
        ],
      },
      { groupResource: 'configmaps', namespace: 'shop', name: 'cfg' },
    ],
  } as unknown as Pick<RestorePlan, 'volumes' | 'items'>;

  it('names the moved claims and pod volumes the restore would fill, not those it skips', () => {
    expect(resticFillsOf(plan)).toEqual(['claim shop/data', 'volume cache of pod shop/app']);
  });

  it('refuses an apply without a repository before anything is done, naming them and the way out', () => {
    const refuse = () => requireFillRepository(plan, { storage: 's3://backups/prod', hasRepository: false });
    expect(refuse).toThrow(UsageError);
    expect(refuse).toThrow(
      /^the restore fills claim shop\/data, volume cache of pod shop\/app from the backup's restic repository, but --storage s3:\/\/… carries no restic settings/,
    );
    expect(refuse).toThrow('--storage FILE.yaml, or --location NAME --policies DIR');
    expect(() => requireFillRepository(plan, { storage: 'offsite.yaml', hasRepository: true })).not.toThrow();
    expect(() =>
      requireFillRepository(
        { volumes: [], items: [] },
        { storage: 's3://backups/prod', hasRepository: false },
      ),
    ).not.toThrow();
  });

  it('warns on a plan without a repository (the plan is still shown), and not with one', () => {
    expect(fillRepositoryWarning(plan, { location: 'primary', hasRepository: false })).toMatch(
      /^warning: the restore fills claim shop\/data, .* StorageLocation primary \(--location\) has no spec.restic/,
    );
    expect(fillRepositoryWarning(plan, { location: 'primary', hasRepository: true })).toBeUndefined();
  });
});
