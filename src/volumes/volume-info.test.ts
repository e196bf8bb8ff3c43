import { describe, expect, it } from 'vitest';
import { labelValue } from './csi-capturer.js';
import { toBackupVolumeInfo } from './volume-info.js';

describe('toBackupVolumeInfo', () => {
  it("writes a snapshot as Velero's BackupVolumeInfo", () => {
    expect(
      toBackupVolumeInfo({
        namespace: 'shop',
        claim: 'data',
        pvName: 'pv-1',
        method: 'CSISnapshot',
        result: 'succeeded',
        start: new Date('2026-12-04T10:00:00.250Z'),
        completion: new Date('2026-12-04T10:00:03.900Z'),
        csi: {
          volumeSnapshot: 'lifeboat-data-abc',
          volumeSnapshotContent: 'snapcontent-1',
          volumeSnapshotClass: 'ground-csi',
          driver: 'ground.csi',
          snapshotHandle: 'h-1',
          restoreSize: 1073741824,
        },
        pvInfo: { reclaimPolicy: 'Delete', labels: {} },
      }),
    ).toEqual({
      pvcName: 'data',
      pvcNamespace: 'shop',
      pvName: 'pv-1',
      backupMethod: 'CSISnapshot',
      snapshotDataMoved: false,
      preserveLocalSnapshot: true,
      skipped: false,
      startTimestamp: '2026-12-04T10:00:00Z',
      completionTimestamp: '2026-12-04T10:00:03Z',
      result: 'succeeded',
      csiSnapshotInfo: {
        snapshotHandle: 'h-1',
        size: 1073741824,
        driver: 'ground.csi',
        vscName: 'snapcontent-1',
        ReadyToUse: true,
      },
      pvInfo: { reclaimPolicy: 'Delete', labels: {} },
    });
  });

  it('records a moved snapshot as Velero records a data upload: moved, not kept, with the restic snapshot', () => {
    const info = toBackupVolumeInfo({
      namespace: 'shop',
      claim: 'data',
      pvName: 'pv-1',
      method: 'CSISnapshot',
      result: 'succeeded',
      csi: {
        volumeSnapshot: 'lifeboat-data-abc',
        volumeSnapshotContent: 'snapcontent-1',
        volumeSnapshotClass: 'ground-csi',
        driver: 'ground.csi',
        snapshotHandle: 'h-1',
        restoreSize: 1024,
      },
      moved: {
        repositoryNamespace: 'shop',
        snapshotId: 'ab'.repeat(32),
        files: 3,
        dirs: 1,
        bytes: 900,
        podVolumeBackup: 'b1-x',
      },
    });
    expect(info).toMatchObject({
      backupMethod: 'CSISnapshot',
      snapshotDataMoved: true,
      preserveLocalSnapshot: false,
      result: 'succeeded',
      snapshotDataMovementInfo: {
        dataMover: 'lifeboat',
        uploaderType: 'restic',
        snapshotHandle: 'ab'.repeat(32),
        size: 900,
        phase: 'Completed',
      },
    });
  });

  it('marks a skipped volume skipped, with the reason and no method or result', () => {
    expect(
      toBackupVolumeInfo({
        namespace: 'shop',
        claim: 'cache',
        method: 'CSISnapshot',
        result: 'skipped',
        skippedReason: 'not a CSI volume',
      }),
    ).toEqual({
      pvcName: 'cache',
      pvcNamespace: 'shop',
      snapshotDataMoved: false,
      preserveLocalSnapshot: false,
      skipped: true,
      skippedReason: 'not a CSI volume',
    });
  });
});

describe('labelValue', () => {
  it("keeps names up to 63 characters and shortens longer ones as Velero's GetValidName", () => {
    expect(labelValue('nightly-20261204')).toBe('nightly-20261204');
    const long = `${'a'.repeat(70)}`;
    expect(labelValue(long)).toHaveLength(63);
    expect(labelValue(long).slice(0, 57)).toBe('a'.repeat(57));
    expect(labelValue(long)).not.toBe(labelValue(`${'a'.repeat(69)}b`));
  });
});
