import { describe, expect, it } from 'vitest';
import { headerIssues } from './header.js';

describe('headerIssues', () => {
  it('accepts every known kind at lifeboat.dev/v1', () => {
    for (const kind of ['StorageLocation', 'BackupSchedule', 'Backup', 'Restore']) {
      expect(headerIssues({ apiVersion: 'lifeboat.dev/v1', kind })).toEqual([]);
    }
  });

  it.each([
    [
      { kind: 'Backup' },
      'apiVersion',
      'missing required field "apiVersion": write apiVersion: lifeboat.dev/v1',
    ],
    [{ apiVersion: 1, kind: 'Backup' }, 'apiVersion', 'apiVersion must be the string lifeboat.dev/v1'],
    [
      { apiVersion: 'velero.io/v1', kind: 'Backup' },
      'apiVersion',
      'unknown apiVersion "velero.io/v1": policy documents use lifeboat.dev/v1',
    ],
    [
      { apiVersion: 'lifeboat.dev/v1beta1', kind: 'Backup' },
      'apiVersion',
      'unsupported apiVersion "lifeboat.dev/v1beta1": this lifeboat reads lifeboat.dev/v1',
    ],
    [
      { apiVersion: 'lifeboat.dev/v1' },
      'kind',
      'missing required field "kind": one of StorageLocation, BackupSchedule, Backup, Restore, RestoreApproval',
    ],
    [
      { apiVersion: 'lifeboat.dev/v1', kind: 'BackupStorageLocation' },
      'kind',
      'unknown kind "BackupStorageLocation": expected one of StorageLocation, BackupSchedule, Backup, Restore, RestoreApproval (did you mean StorageLocation?)',
    ],
    [
      { apiVersion: 'lifeboat.dev/v1', kind: 'backup' },
      'kind',
      'unknown kind "backup": expected one of StorageLocation, BackupSchedule, Backup, Restore, RestoreApproval (did you mean Backup?)',
    ],
    [
      { apiVersion: 'lifeboat.dev/v1', kind: ['Backup'] },
      'kind',
      'kind must be one of StorageLocation, BackupSchedule, Backup, Restore, RestoreApproval',
    ],
  ])('%j', (content, field, message) => {
    expect(headerIssues(content).map((i) => [i.path.join('.'), i.message])).toEqual([[field, message]]);
  });
});
