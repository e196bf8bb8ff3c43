import { describe, expect, it } from 'vitest';
import { selectFsBackupVolumes, type FsPodVolumes } from './fs-backup-select.js';

const pod = (annotations: Record<string, string>): FsPodVolumes => ({
  annotations,
  volumes: [
    { name: 'data', type: 'persistentVolumeClaim', claimName: 'data' },
    { name: 'cache', type: 'emptyDir' },
    { name: 'host', type: 'hostPath' },
    { name: 'token', type: 'projected' },
    { name: 'config', type: 'configMap' },
  ],
});

describe('selectFsBackupVolumes', () => {
  it('copies nothing without the annotation or defaultVolumesToFsBackup', () => {
    expect(selectFsBackupVolumes(pod({}), false)).toEqual({ volumes: [], skipped: [] });
  });

  it('copies the volumes the opt-in annotation names', () => {
    expect(
      selectFsBackupVolumes(pod({ 'backup.velero.io/backup-volumes': 'cache, data' }), false).volumes,
    ).toEqual(['data', 'cache']);
  });

  it('warns about named volumes it cannot copy or that do not exist', () => {
    expect(selectFsBackupVolumes(pod({ 'backup.velero.io/backup-volumes': 'host,missing' }), false)).toEqual({
      volumes: [],
      skipped: [
        { volume: 'host', reason: "a hostPath volume holds the node's files, not the pod's" },
        { volume: 'missing', reason: 'the pod has no volume missing' },
      ],
    });
  });

  it('with defaultVolumesToFsBackup copies every volume of the pod less the excluded and the API-made ones', () => {
    expect(selectFsBackupVolumes(pod({ 'backup.velero.io/backup-volumes-excludes': 'cache' }), true)).toEqual(
      { volumes: ['data'], skipped: [] },
    );
    expect(selectFsBackupVolumes(pod({}), true).volumes).toEqual(['data', 'cache']);
  });
});
