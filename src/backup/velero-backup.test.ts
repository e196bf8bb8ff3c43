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
      snapshotVolumes: false,
      defaultVolumesToFsBackup: false,
    });
    expect(b.status).toMatchObject({
      version: 1,
      formatVersion: '1.1.0',
      expiration: '2026-03-31T02:00:00.000Z',
    });
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
