import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { VeleroBackup } from '../backup/velero-backup.js';
import { backupStatusPath, renderStatusTree, restoreStatusPath } from './status-tree.js';

describe('renderStatusTree: restores', () => {
  it('writes the exec hooks a restore ran, without their output', () => {
    const files = renderStatusTree({
      revisions: { document: () => undefined, files: () => undefined },
      schedules: [],
      backups: [],
      finishedOneOffs: [],
      policyErrors: [],
      restores: [
        {
          name: 'shop',
          phase: 'Completed',
          planHash: 'sha256:abc',
          hooks: [
            {
              pod: 'shop/app',
              container: 'main',
              hook: '<from-annotation>',
              command: ['/bin/sh', '-c', 'echo ready'],
              exitCode: 0,
              failed: false,
            },
          ],
          conditions: [],
        },
      ],
    });
    const doc = parse(files.get(restoreStatusPath('shop')) ?? '') as Record<string, unknown>;
    expect(doc).toMatchObject({
      kind: 'RestoreStatus',
      hooks: [
        {
          pod: 'shop/app',
          container: 'main',
          hook: '<from-annotation>',
          command: ['/bin/sh', '-c', 'echo ready'],
          exitCode: 0,
          failed: false,
        },
      ],
    });
  });
});

describe('renderStatusTree: backups under object lock', () => {
  const backup = (name: string): VeleroBackup => ({
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: { name, namespace: 'velero', labels: { 'velero.io/schedule-name': 'nightly' } },
    spec: { ttl: '720h0m0s', hooks: {}, metadata: {} },
    status: {
      version: 1,
      formatVersion: '1.1.0',
      phase: 'Completed',
      startTimestamp: '2025-06-01T02:00:00Z',
      expiration: '2025-07-01T02:00:00Z',
    },
  });

  it('says when a backup retention would delete becomes deletable, and why it will be deleted then', () => {
    const files = renderStatusTree({
      revisions: { document: () => undefined, files: () => undefined },
      schedules: [],
      backups: [
        {
          location: 'locked',
          backup: backup('nightly-20250601020000'),
          objectLock: 'GOVERNANCE',
          heldExpiry: {
            reason: 'not kept by retention of schedule nightly (keepLast 1)',
            deletableAfter: '2025-07-01T02:00:00.000Z',
          },
        },
        { location: 'locked', backup: backup('nightly-20250602020000'), objectLock: 'GOVERNANCE' },
      ],
      finishedOneOffs: [],
      policyErrors: [],
      restores: [],
    });
    const status = (name: string) =>
      parse(files.get(backupStatusPath(name)) ?? '') as Record<string, unknown>;
    expect(status('nightly-20250601020000')['objectLock']).toEqual({
      mode: 'GOVERNANCE',
      deletableAfter: '2025-07-01T02:00:00Z',
      deleteWhenUnlocked: 'not kept by retention of schedule nightly (keepLast 1)',
    });
    expect(status('nightly-20250602020000')['objectLock']).toEqual({
      mode: 'GOVERNANCE',
      deletableAfter: '2025-07-01T02:00:00Z',
    });
  });
});

describe('renderStatusTree: what a backup did with volume data', () => {
  const backup = (
    spec: Partial<VeleroBackup['spec']>,
    status: Partial<VeleroBackup['status']>,
  ): VeleroBackup => ({
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: { name: 'b', namespace: 'velero' },
    spec: { ttl: '720h0m0s', hooks: {}, metadata: {}, ...spec },
    status: { version: 1, formatVersion: '1.1.0', phase: 'Completed', ...status },
  });
  const volumesOf = (b: VeleroBackup): unknown => {
    const files = renderStatusTree({
      revisions: { document: () => undefined, files: () => undefined },
      schedules: [],
      backups: [{ location: 'primary', backup: b }],
      finishedOneOffs: [],
      policyErrors: [],
      restores: [],
    });
    return (parse(files.get(backupStatusPath('b')) ?? '') as Record<string, unknown>)['volumes'];
  };

  it('says how many claims had their snapshot data moved into restic, and how many failed', () => {
    expect(
      volumesOf(
        backup(
          { snapshotMoveData: true },
          {
            csiVolumeSnapshotsAttempted: 3,
            csiVolumeSnapshotsCompleted: 3,
            backupItemOperationsAttempted: 3,
            backupItemOperationsCompleted: 2,
            backupItemOperationsFailed: 1,
          },
        ),
      ),
    ).toEqual({
      snapshotMoveData: true,
      csiSnapshots: { attempted: 3, completed: 3 },
      dataMoved: { attempted: 3, completed: 2, failed: 1 },
    });
  });

  it('shows CSI snapshots alone when the backup kept them, and nothing for a backup without volumes', () => {
    expect(volumesOf(backup({}, { csiVolumeSnapshotsAttempted: 2, csiVolumeSnapshotsCompleted: 1 }))).toEqual(
      { csiSnapshots: { attempted: 2, completed: 1 } },
    );
    // Another plugin's item operations (a Velero backup) are not data movement.
    expect(
      volumesOf(backup({ snapshotMoveData: false }, { backupItemOperationsAttempted: 4 })),
    ).toBeUndefined();
  });
});
