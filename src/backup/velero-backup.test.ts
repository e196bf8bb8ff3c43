import { describe, expect, it } from 'vitest';
import { buildVeleroBackup, specOfVeleroBackup } from './velero-backup.js';

const start = new Date('2026-03-01T02:00:00Z');

describe('buildVeleroBackup', () => {
  it("writes the values Velero's backup controller sets when a spec leaves them out", () => {
    const b = buildVeleroBackup({
      name: 'nightly',
      spec: { includedNamespaces: ['shop'] },
      phase: 'Completed',
      start,
    });
    // velero pkg/controller/backup_controller.go prepareBackupRequest, with the server's defaults
    // (pkg/cmd/server/config/config.go): `velero backup describe` shows these, not 0s.
    expect(b.spec).toMatchObject({
      ttl: '720h0m0s',
      csiSnapshotTimeout: '10m0s',
      itemOperationTimeout: '4h0m0s',
      volumeGroupSnapshotLabelKey: 'velero.io/volume-group',
      snapshotMoveData: false,
      defaultVolumesToFsBackup: false,
    });
    // Velero's nil: snapshot the volumes whose driver has a class.
    expect(b.spec.snapshotVolumes).toBeUndefined();
    expect(b.status).toMatchObject({
      version: 1,
      formatVersion: '1.1.0',
      expiration: '2026-03-31T02:00:00.000Z',
    });
  });

  it('writes the CSI snapshot choices as Velero reads them: spec fields and per-driver annotations', () => {
    const b = buildVeleroBackup({
      name: 'nightly',
      spec: {
        snapshotVolumes: true,
        csiSnapshotTimeout: '90s',
        csiVolumeSnapshotClasses: { 'Ground.CSI.lifeboat.dev': 'fast' },
      },
      phase: 'PartiallyFailed',
      start,
      csiSnapshots: { attempted: 3, completed: 2 },
    });
    expect(b.spec).toMatchObject({ snapshotVolumes: true, csiSnapshotTimeout: '1m30s' });
    expect(b.spec).not.toHaveProperty('csiVolumeSnapshotClasses');
    expect(b.metadata.annotations).toMatchObject({
      'velero.io/csi-volumesnapshot-class_ground.csi.lifeboat.dev': 'fast',
    });
    expect(b.status).toMatchObject({ csiVolumeSnapshotsAttempted: 3, csiVolumeSnapshotsCompleted: 2 });
  });

  it("counts the moves of snapshot data into restic as Velero's backup item operations, and none when there were none", () => {
    const moved = buildVeleroBackup({
      name: 'nightly',
      spec: { snapshotMoveData: true },
      phase: 'PartiallyFailed',
      start,
      csiSnapshots: { attempted: 2, completed: 2 },
      dataMovements: { attempted: 2, completed: 1, failed: 1 },
    });
    expect(moved.status).toMatchObject({
      backupItemOperationsAttempted: 2,
      backupItemOperationsCompleted: 1,
      backupItemOperationsFailed: 1,
    });
    const kept = buildVeleroBackup({
      name: 'nightly',
      spec: {},
      phase: 'Completed',
      start,
      dataMovements: { attempted: 0, completed: 0, failed: 0 },
    });
    expect(kept.status).not.toHaveProperty('backupItemOperationsAttempted');
  });

  it('records defaultVolumesToFsBackup as the policy gives it', () => {
    const b = buildVeleroBackup({
      name: 'nightly',
      spec: { includedNamespaces: ['shop'], defaultVolumesToFsBackup: true },
      phase: 'Completed',
      start,
    });
    expect(b.spec.defaultVolumesToFsBackup).toBe(true);
  });

  it('keeps the filters as given and gives them back without the defaults', () => {
    const spec = { includedNamespaces: ['shop'], excludedResources: ['events'], ttl: '24h' };
    const b = buildVeleroBackup({ name: 'nightly', spec, phase: 'Completed', start });
    expect(specOfVeleroBackup(b)).toEqual({
      includedNamespaces: ['shop'],
      excludedResources: ['events'],
      ttl: '24h0m0s',
    });
  });
});
