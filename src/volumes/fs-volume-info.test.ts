import { describe, expect, it } from 'vitest';
import { fsVolumeInfo } from './fs-volume-info.js';
import type { FsVolumeOutcome } from './restic-capturer.js';

describe('fsVolumeInfo', () => {
  const base: FsVolumeOutcome = {
    namespace: 'shop',
    pod: 'db-0',
    volume: 'data',
    claim: 'data-db-0',
    method: 'PodVolumeBackup',
    result: 'succeeded',
    snapshotId: 'abc',
    files: 3,
    dirs: 1,
    bytes: 2048,
    start: '2026-12-04T10:00:00.123Z',
    completion: '2026-12-04T10:00:05.456Z',
  };

  it("a claim's copy: Velero's BackupVolumeInfo with pvbInfo, times in seconds", () => {
    expect(fsVolumeInfo(base)).toEqual({
      pvcName: 'data-db-0',
      pvcNamespace: 'shop',
      backupMethod: 'PodVolumeBackup',
      snapshotDataMoved: false,
      preserveLocalSnapshot: false,
      skipped: false,
      startTimestamp: '2026-12-04T10:00:00Z',
      completionTimestamp: '2026-12-04T10:00:05Z',
      result: 'succeeded',
      pvbInfo: {
        snapshotHandle: 'abc',
        size: 2048,
        uploaderType: 'restic',
        volumeName: 'data',
        podName: 'db-0',
        podNamespace: 'shop',
      },
    });
  });

  it('an emptyDir has no claim; a failed copy no snapshot', () => {
    const { claim: _c, snapshotId: _s, bytes: _b, ...rest } = base;
    const info = fsVolumeInfo({ ...rest, volume: 'tmp', result: 'failed', error: 'x' });
    expect(info).toMatchObject({ pvcName: '', pvcNamespace: '', result: 'failed' });
    expect(info.pvbInfo).toMatchObject({ snapshotHandle: '', size: 0, volumeName: 'tmp' });
  });
});
