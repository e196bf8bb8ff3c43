import { describe, expect, it } from 'vitest';
import { describeVolumes, formatBytes } from './describe.js';
import { fsVolumeInfo } from './fs-volume-info.js';

describe('describeVolumes', () => {
  it('prints a file-system copy with its pod, volume, claim, bytes copied and restic snapshot', () => {
    expect(
      describeVolumes([
        fsVolumeInfo({
          namespace: 'shop',
          pod: 'db-0',
          volume: 'data',
          claim: 'data-db-0',
          method: 'PodVolumeBackup',
          result: 'succeeded',
          snapshotId: '0123456789abcdef',
          bytes: 3 * 2 ** 20,
          start: '2026-12-04T10:00:00Z',
          completion: '2026-12-04T10:00:04Z',
        }),
      ]),
    ).toEqual([
      'Volumes:',
      '  shop/db-0 volume data (claim data-db-0): PodVolumeBackup succeeded, 3Mi copied, took 4s, restic snapshot 0123456789ab',
    ]);
  });

  it('prints each volume with method, outcome, size and duration', () => {
    expect(
      describeVolumes([
        {
          pvcName: 'data',
          pvcNamespace: 'shop',
          backupMethod: 'CSISnapshot',
          snapshotDataMoved: false,
          preserveLocalSnapshot: true,
          skipped: false,
          startTimestamp: '2026-12-04T10:00:00Z',
          completionTimestamp: '2026-12-04T10:00:03Z',
          result: 'succeeded',
          csiSnapshotInfo: { snapshotHandle: 'h1', size: 2 ** 30, driver: 'd', vscName: 'snapcontent-1' },
        },
        {
          pvcName: 'cache',
          pvcNamespace: 'shop',
          snapshotDataMoved: false,
          preserveLocalSnapshot: false,
          skipped: true,
          skippedReason: 'not a CSI volume',
        },
      ]),
    ).toEqual([
      'Volumes:',
      '  shop/data: CSISnapshot succeeded, size 1Gi, took 3s, snapshot snapcontent-1 (handle h1)',
      '  shop/cache: skipped (not a CSI volume)',
    ]);
    expect(describeVolumes([])).toEqual([]);
  });

  it('formats sizes as Kubernetes quantities', () => {
    expect([formatBytes(0), formatBytes(1536), formatBytes(50 * 2 ** 20), formatBytes(3 * 2 ** 40)]).toEqual([
      '0B',
      '1.5Ki',
      '50Mi',
      '3Ti',
    ]);
  });
});
